"""The outbreak simulator: a seeded, pure spread; check-ins and results through the services; cases opened
by ``specimen.positive``; a ground truth whose contacts agree with what the investigation stored."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from epigrid.checkins.models import CheckIn
from epigrid.core.models import AuditEntry, Event, Person
from epigrid.investigation.models import Case, CaseOrigin, Contact
from epigrid.simulation import district, outbreak
from epigrid.testing.models import Tube

MIN = 60 * outbreak.US
HOUR = outbreak.HOUR_US
DAY = outbreak.DAY_US
T0 = outbreak.to_us(dt.datetime(2022, 3, 14, tzinfo=dt.UTC))


# --- pure parts ----------------------------------------------------------------------------------------


def _town(rng: np.random.Generator, people: int = 300, venues: int = 12, days: int = 12):
    """Random stays (two a day each, lunch or dinner or a working day) and homes of two or three."""
    person, venue, start, end = [], [], [], []
    for p in range(1, people + 1):
        for d in range(days):
            for hour, minutes in (
                (rng.choice([8, 12]), rng.choice([30, 60, 480])),
                (18, rng.choice([15, 45, 90])),
            ):
                at = T0 + d * DAY + int(hour) * HOUR + int(rng.integers(0, 60)) * MIN
                person.append(p)
                venue.append(int(rng.integers(1, venues + 1)))
                start.append(at)
                end.append(at + int(minutes) * MIN)
    homes = [(p, 1000 + (p - 1) // 3) for p in range(1, people + 1)]
    return outbreak.StayTable.build(person, venue, start, end), outbreak.Households.build(homes)


def _spread(stays, homes, seed: int, **overrides):
    params = {**outbreak.DEFAULTS, "venue_attack_rate_per_hour": 0.05, **overrides}
    return outbreak.spread(
        stays=stays,
        households=homes,
        population=sorted(homes.home),
        start=T0,
        end=T0 + 12 * DAY,
        seeds=3,
        params=params,
        venue_factor={},
        rng=np.random.default_rng(seed),
    )


def test_the_same_seed_gives_the_same_outbreak_and_another_seed_another():
    stays, homes = _town(np.random.default_rng(1))
    first, again, other = (_spread(stays, homes, s) for s in (5, 5, 6))
    assert len(first) > 10, "the parameters should give an outbreak to compare"
    assert first == again
    assert first != other


def test_every_infection_has_an_infectious_source_where_it_says():
    stays, homes = _town(np.random.default_rng(2))
    params = {**outbreak.DEFAULTS, "venue_attack_rate_per_hour": 0.05}
    infections = _spread(stays, homes, 9)
    assert sum(i.setting == "seed" for i in infections.values()) == 3
    assert {i.setting for i in infections.values()} == {"seed", "household", "venue"}
    for inf in infections.values():
        if inf.setting == "seed":
            assert inf.infector is None
            continue
        source = infections[inf.infector]
        start, end = source.infectious(params)
        assert start <= inf.infected_at <= end and source.infected_at < inf.infected_at
        assert inf.onset_at - inf.infected_at >= (params["presymptomatic_infectious_days"] + 1) * DAY
        if inf.setting == "household":
            assert homes.home[inf.person_id] == homes.home[inf.infector]
        else:
            theirs = [i for i in stays.of_person(inf.person_id) if stays.venue[i] == inf.venue_id]
            assert any(stays.start[i] <= inf.infected_at <= stays.end[i] for i in theirs)
            assert inf.overlap_minutes > 0


def test_nobody_immune_or_infected_twice():
    stays, homes = _town(np.random.default_rng(3))
    immune = set(range(1, 151))
    infections = outbreak.spread(
        stays=stays,
        households=homes,
        population=sorted(homes.home),
        start=T0,
        end=T0 + 12 * DAY,
        seeds=3,
        params={**outbreak.DEFAULTS, "venue_attack_rate_per_hour": 0.05},
        venue_factor={},
        rng=np.random.default_rng(4),
        immune=immune,
    )
    assert infections and not immune & set(infections)


def test_reference_contacts_at_the_boundaries():
    """Exactly the threshold counts, a minute less or touching stays do not; homes are close; secondary
    contacts count from the close contact's first exposure until the window's end."""
    at = T0 + 12 * HOUR
    rows = [
        (1, 7, at, at + 60 * MIN),  # the case
        (2, 7, at + 45 * MIN, at + 90 * MIN),  # 15 minutes: close
        (3, 7, at + 46 * MIN, at + 90 * MIN),  # 14 minutes
        (4, 7, at + 60 * MIN, at + 120 * MIN),  # arrives as the case leaves (30 minutes with 2)
        (2, 8, at - 5 * HOUR, at - 4 * HOUR),  # the close contact before their exposure ...
        (5, 8, at - 5 * HOUR, at - 4 * HOUR),  # ... meets 5: not a contact
        (2, 8, at + 3 * HOUR, at + 4 * HOUR),  # after it, meets 6: secondary
        (6, 8, at + 3 * HOUR, at + 3 * HOUR + 20 * MIN),
    ]
    stays = outbreak.StayTable.build(*zip(*rows, strict=True))
    homes = outbreak.Households.build([(1, 100), (9, 100), (2, 300), (11, 300), (6, 200), (10, 200)])
    window = (at - 2 * DAY, at + DAY)
    found = outbreak.reference_contacts(stays, homes, 1, window, min_minutes=15)
    # 3 and 4 missed the case but spent 44 and 30 minutes with 2; 11 lives with 2; 10 only with 6.
    assert found == {2: "close", 9: "close", 3: "secondary", 4: "secondary", 6: "secondary", 11: "secondary"}
    assert outbreak.reference_contacts(stays, homes, 1, window, min_minutes=15, secondary=False) == {
        2: "close",
        9: "close",
    }
    # A window ending before the meeting at the venue leaves the household only.
    assert outbreak.reference_contacts(stays, homes, 1, (window[0], at), min_minutes=15) == {9: "close"}


def test_parameters_fall_back_to_the_defaults(db, monkeypatch):
    from epigrid.core import selectors

    real = selectors.policy_param
    monkeypatch.setattr(
        selectors,
        "policy_param",
        lambda *, disease_code, name, default=None: (
            {"household_attack_rate": 0.5, "venue_type_factor": {"shop": 9.0}}
            if name == "simulation"
            else real(disease_code=disease_code, name=name, default=default)
        ),
    )
    params = outbreak.params_for("covid19")
    assert params["household_attack_rate"] == 0.5
    assert params["incubation_mean_days"] == outbreak.DEFAULTS["incubation_mean_days"]
    assert params["venue_type_factor"]["shop"] == 9.0
    assert params["venue_type_factor"]["restaurant"] == outbreak.DEFAULTS["venue_type_factor"]["restaurant"]
    monkeypatch.setattr(selectors, "policy_param", lambda **kwargs: None)
    assert outbreak.params_for("covid19") == outbreak.DEFAULTS


def test_the_seeded_policy_carries_the_simulation_block(db):
    assert outbreak.params_for("covid19") == outbreak.DEFAULTS


def test_the_command_line_options():
    from epigrid.cli import build_parser

    args = build_parser().parse_args(
        ["simulate", "--seeds", "3", "--days", "7", "--seed", "9", "--out", "x.json"]
    )
    assert (args.seeds, args.days, args.seed, args.out, args.func.__name__) == (
        3,
        7,
        9,
        "x.json",
        "cmd_simulate",
    )


# --- through the database ------------------------------------------------------------------------------

# The demo district's people and venues, without the demo's check-in history, so that the simulator fills
# the days itself through checkin_bulk_import (and without the demo's own cases).
CORE_STEPS = {"org_units", "households", "residents", "accounts", "venues"}


@pytest.fixture
def tiny_district(monkeypatch, settings, tmp_path):
    settings.VAR_DIR = str(tmp_path)
    monkeypatch.setattr(district, "STEPS", [step for step in district.STEPS if step[0] in CORE_STEPS])
    district.ensure_demo_district(scale="tiny", seed=5, progress=False)


@pytest.mark.django_db(transaction=True)  # results commit, so specimen.positive opens the cases as in use
def test_an_outbreak_through_the_services_with_a_consistent_ground_truth(tiny_district, tmp_path):
    summary = outbreak.run_outbreak(seeds=4, days=9, seed=3, out=tmp_path / "truth.json")
    truth = json.loads(Path(summary.path).read_text(encoding="utf-8"))

    # Check-ins: the mobility model's days, stored through the import service.
    assert summary.checkins_recorded == 0 and summary.checkins_generated > 10_000
    assert CheckIn.objects.count() == summary.checkins_generated
    assert AuditEntry.objects.filter(action="checkin.bulk_import").exists()

    # Who infected whom: the seeds have no infector, everyone else one infected before them.
    infections = {i["person_id"]: i for i in truth["infections"]}
    assert len(infections) == summary.infected > summary.seeds == 4
    homes = dict(Person.objects.values_list("pk", "household_id"))
    for inf in infections.values():
        if inf["setting"] == "seed":
            assert inf["infector"] is None
            continue
        source = infections[inf["infector"]]
        assert dt.datetime.fromisoformat(source["infected_at"]) < dt.datetime.fromisoformat(
            inf["infected_at"]
        )
        if inf["setting"] == "household":
            assert homes[inf["person_id"]] == homes[inf["infector"]]
        else:
            assert inf["setting"] == "venue" and inf["venue_id"] and inf["overlap_minutes"] > 0

    # Tests through the testing services; each positive single tube opened a case without a manual step.
    tested = {pk for pk, inf in infections.items() if inf["tested"]}
    assert tested and summary.tested == len(tested) == summary.cases
    assert Tube.objects.filter(pool_size=1, result="positive").count() == len(tested)
    assert Event.objects.filter(type="specimen.positive").count() == len(tested)
    cases = Case.objects.filter(origin=CaseOrigin.SPECIMEN)
    assert set(cases.values_list("person_id", flat=True)) == tested
    assert set(cases.values_list("classification", flat=True)) == {"confirmed"}  # fever reported first

    # The investigation's contacts are the reference's, case by case.
    assert summary.contacts_true > 0 and summary.recall == summary.precision == 1.0
    for entry in truth["cases"]:
        stored = dict(Contact.objects.filter(case_id=entry["case_id"]).values_list("person_id", "tier"))
        assert {p for p, t in stored.items() if t == "close"} == set(entry["close"])
        assert {p for p, t in stored.items() if t == "secondary"} == set(entry["secondary"])
