"""The demo's medical-waste step: the parties and their members, days of bags along the whole chain, and
the cases the oversight pages are meant to find."""

from __future__ import annotations

import datetime as dt

import pytest

from epigrid.medwaste.models import Anomaly, Bag, CustodyRecord, Party, PartyKind, Stage, Trip, TripStatus
from epigrid.simulation import district, medwaste_demo
from epigrid.simulation.plan import plan_district

SEED = 5
STEPS = ("org_units", "households", "residents", "accounts", "testing", "vaccination_sites", "medwaste")


@pytest.fixture
def tiny(db) -> district.DemoContext:
    ctx = district.DemoContext(plan=plan_district("tiny", SEED))
    for name, step in district.STEPS:
        if name in STEPS:
            step(ctx)
    return ctx


def test_the_step_runs_after_the_sites_it_builds_on():
    names = [name for name, _step in district.STEPS]
    assert names.index("medwaste") > max(names.index("testing"), names.index("vaccination_sites"))


def test_parties_and_who_acts_for_them(tiny):
    kinds = {k: Party.objects.filter(kind=k).count() for k in PartyKind.values}
    streets = [u for u in tiny.units.values() if u.level == "street"]
    assert kinds[PartyKind.HEALTH_AUTHORITY] == kinds[PartyKind.ENVIRONMENT_AUTHORITY] == 1
    assert kinds[PartyKind.INSTITUTION] == len(streets)
    assert kinds[PartyKind.DISPOSER] == 2  # the company and its plant
    company = Party.objects.get(kind=PartyKind.DISPOSER, parent=None)
    assert company.licence_number and company.vehicles.count() == 3
    producers = Party.objects.filter(kind=PartyKind.PRODUCER)
    assert producers.filter(sampling_point__isnull=False).exists()
    assert producers.filter(vaccination_site__isnull=False).exists()
    assert all(p.parent.org_code == p.org_code[:9] for p in producers)
    handler = tiny.users["wastehandler"]
    assert set(handler.waste_parties.values_list("kind", flat=True)) == {
        PartyKind.INSTITUTION,
        PartyKind.DISPOSER,
    }
    for username in ("sampler", "vaccinator", "quarantine"):
        assert tiny.users[username].waste_parties.filter(kind=PartyKind.PRODUCER).exists(), username


def test_days_of_bags_and_the_cases_to_find(tiny):
    anchor = tiny.anchor
    closed = Trip.objects.filter(status=TripStatus.CLOSED)
    assert closed.count() == medwaste_demo.DAYS  # one trip a day, all burnt
    assert Bag.objects.filter(stage=Stage.INCINERATED).count() >= medwaste_demo.DAYS
    # Every burnt bag has its five steps, none with an anomaly.
    burnt = Bag.objects.filter(stage=Stage.INCINERATED)
    assert CustodyRecord.objects.filter(bag__in=burnt).count() == 5 * burnt.count()
    assert not CustodyRecord.objects.filter(bag__in=burnt).exclude(anomaly="").exists()

    def stored_for(hours: int) -> int:
        return Bag.objects.filter(stage=Stage.STORED, stage_at=anchor - dt.timedelta(hours=hours)).count()

    assert stored_for(50) == 1 and stored_for(40) >= 1 and stored_for(12) >= 1
    assert Bag.objects.filter(stage=Stage.LABELLED, labelled_at=anchor - dt.timedelta(hours=30)).count() == 2
    missing = CustodyRecord.objects.get(anomaly=Anomaly.MISSING_STEP)
    assert missing.stage == Stage.COLLECTED
    # One collection weighed 8 % lighter than in storage.
    light = [
        r
        for r in CustodyRecord.objects.filter(stage=Stage.COLLECTED).select_related("bag")
        if r.bag.records.filter(stage=Stage.STORED, weight_g__gt=r.weight_g).exists()
    ]
    assert len(light) == 1
    stored = light[0].bag.records.get(stage=Stage.STORED).weight_g
    assert abs(light[0].weight_g / stored - 0.92) < 0.001
