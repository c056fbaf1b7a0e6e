"""Records are kept at least three years; the purge removes only incinerated bags past the retention."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry
from epigrid.core.roles import Role
from epigrid.core.tests.factories import UserFactory
from epigrid.medwaste.models import Bag, CustodyRecord, Handover, Stage, Trip, TripStatus, Vehicle, WasteAlarm
from epigrid.medwaste.services import retention
from epigrid.medwaste.services.retention import waste_records_purge, waste_records_purge_expired
from epigrid.medwaste.tests import wasterows

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def c(jurisdiction):
    return wasterows.chain(jurisdiction.grid_a)


def burnt(c, at: dt.datetime, weight: int = 1000) -> Bag:
    """A bag incinerated at ``at`` (all its steps in the hours before), with a weight alarm on it."""
    steps = [
        (Stage.LABELLED, at - 30 * H, weight),
        (Stage.STORED, at - 20 * H, weight),
        (Stage.COLLECTED, at - 5 * H, weight),
        (Stage.DELIVERED, at - 2 * H, weight),
        (Stage.INCINERATED, at, weight),
    ]
    return wasterows.bag(c, steps)


def handover_of(c, bags: list[Bag], at: dt.datetime, trip: Trip | None = None) -> Handover:
    handover = Handover.objects.create(
        code=f"HO{bags[0].pk}",
        stage=Stage.COLLECTED,
        from_party=c.institution,
        to_party=c.company,
        trip=trip,
        offered_at=at,
        org_code=c.institution.org_code,
    )
    handover.bags.set(bags)
    return handover


def test_only_bags_incinerated_before_the_retention_go_with_their_chain(c, now, users):
    three_years = retention.years_before(now, 3)
    old, recent = burnt(c, three_years - D), burnt(c, three_years + D)
    vehicle = Vehicle.objects.create(company=c.company, plate="鲁A12345", org_code=c.company.org_code)
    trip = Trip.objects.create(
        number="T1", company=c.company, vehicle=vehicle, status=TripStatus.CLOSED, started_at=three_years - 2 * D,
        org_code=c.company.org_code,
    )  # fmt: skip
    Bag.objects.filter(pk=old.pk).update(trip=trip)
    handover_of(c, [old], three_years - 2 * D, trip=trip)
    shared = handover_of(c, [recent], three_years)
    open_bag = wasterows.bag(c, [(Stage.LABELLED, now - 4 * 365 * D, 900)])  # never burnt: still a duty
    WasteAlarm.objects.create(
        kind="weight_mismatch", level="alarm", subject=f"bag:{old.pk}", bag=old, opened_at=now, last_seen_at=now,
        org_code=old.org_code,
    )  # fmt: skip
    result = waste_records_purge(actor=users["waste_officer"], before=three_years, now=now)
    assert (result.bags, result.records, result.handovers, result.alarms, result.trips) == (1, 5, 1, 1, 1)
    assert set(Bag.objects.values_list("pk", flat=True)) == {recent.pk, open_bag.pk}
    assert not CustodyRecord.objects.filter(bag_id=old.pk).exists() and not Trip.objects.exists()
    assert list(Handover.objects.all()) == [shared]
    entry = AuditEntry.objects.filter(action="medwaste.purge").latest("seq")
    assert entry.detail["bags"] == 1 and entry.detail["retention_years"] == 3


def test_a_date_within_the_retention_is_refused_and_nothing_is_deleted(c, now, users):
    burnt(c, now - 4 * 365 * D)
    within = retention.years_before(now, 3) + H
    with pytest.raises(DomainError, match="kept for 3 years"):
        waste_records_purge(actor=users["waste_officer"], before=within, now=now)
    assert Bag.objects.count() == 1


def test_the_retention_can_be_raised_but_not_lowered(c, now, caplog):
    four_years_ago = burnt(c, retention.years_before(now, 4) + D)
    wasterows.set_rules(waste_retention_years=5)
    assert retention.retention_years() == 5
    assert waste_records_purge_expired(now=now).bags == 0  # 4 years old: kept under a 5-year rule
    wasterows.set_rules(waste_retention_years=2)
    with caplog.at_level(logging.WARNING, logger="epigrid.medwaste.services.retention"):
        assert retention.retention_years() == 3
    assert "below the legal minimum" in caplog.text
    with pytest.raises(DomainError):  # a 2-year rule does not open the last year to deletion
        waste_records_purge(actor=None, before=retention.years_before(now, 2), now=now)
    assert waste_records_purge_expired(now=now).bags == 1
    assert not Bag.objects.filter(pk=four_years_ago.pk).exists()


def test_an_officer_purges_only_their_area_and_needs_waste_manage(c, now, users, jurisdiction):
    other = wasterows.chain(jurisdiction.grid_b)
    mine, theirs = burnt(c, now - 4 * 365 * D), burnt(other, now - 4 * 365 * D)
    before = retention.years_before(now, 3)
    with pytest.raises(Forbidden):
        waste_records_purge(actor=users["grid_worker"], before=before, now=now)
    officer_a = UserFactory(username="waste-a", role=Role.WASTE_OFFICER, org_unit=jurisdiction.street_a)
    assert waste_records_purge(actor=officer_a, before=before, now=now).bags == 1
    assert list(Bag.objects.values_list("pk", flat=True)) == [theirs.pk] and mine.pk
