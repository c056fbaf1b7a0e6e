"""Comparison rules against known small populations: who is on the list and who is not, at the boundaries;
scope; repeat runs and repeat task creation make nothing twice; the scheduled job runs due rules only."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epigrid.checkins.services import CheckinImportRow, checkin_bulk_import
from epigrid.comparison import selectors
from epigrid.comparison import tasks as comparison_tasks
from epigrid.comparison.models import (
    Arrival,
    ArrivalSource,
    ComparisonHit,
    ComparisonKind,
    ComparisonRule,
    ComparisonRun,
    Schedule,
)
from epigrid.comparison.services import archive, comparisons
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event, Person
from epigrid.core.periodic import jobs
from epigrid.core.tests.factories import PersonFactory
from epigrid.grids import services as grid_services
from epigrid.grids.models import Task, TaskState, TaskType
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.services import RiskAreaInput
from epigrid.places.models import Venue
from epigrid.places.tests.factories import VenueFactory
from epigrid.testing import services as testing_services
from epigrid.testing.models import Specimen
from epigrid.vaccination.services.doses import ImportedDose, doses_import
from epigrid.vaccination.tests import factories as vaccination_factories

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


REGIONS = {"high": "310115", "medium": "440305", "": "110105"}  # 110105: no risk area


@pytest.fixture(autouse=True)
def risk_areas(users):
    """The health code's risk regions, in force for two months: an arrival's level is theirs at arrival."""
    for level in ("high", "medium"):
        healthcode_services.risk_area_designate(
            actor=users["district_admin"],
            data=RiskAreaInput(
                name=f"地区{REGIONS[level]}",
                level=level,
                kind="region",
                region_code=REGIONS[level],
                effective_from=timezone.now() - 60 * D,
            ),
        )


def arrival(
    person: Person, at: dt.datetime, *, level: str = "high", origin: str = "上海市浦东新区"
) -> Arrival:
    """An arrival from a region of ``level`` (its level at arrival is what the archive says)."""
    made = archive.arrival_record(
        actor=None,
        person=person,
        data=archive.ArrivalInput(origin=origin, arrived_at=at, origin_region_code=REGIONS[level]),
    )
    assert made.risk_level == level
    return made


def swab(sampler, person: Person, at: dt.datetime) -> Specimen:
    """A specimen of ``person`` sampled at ``at`` (the station stamps the time of the swab; moved here)."""
    tube = testing_services.tube_register(actor=sampler, barcode=f"T{uuid.uuid4().hex[:12]}", pool_size=1)
    made = testing_services.specimen_add(actor=sampler, tube=tube, person=person, client_id=uuid.uuid4())
    Specimen.objects.filter(pk=made.specimen.pk).update(sampled_at=at)
    return made.specimen


def rule(actor, kind: str, **params) -> ComparisonRule:
    return comparisons.rule_create(actor=actor, name=f"{kind} rule", kind=kind, params=params)


def hit_people(run: ComparisonRun) -> set[int]:
    return set(ComparisonHit.objects.filter(run=run).values_list("person_id", flat=True))


# --- not tested within N hours ----------------------------------------------------------------------------


def test_not_tested_lists_arrivals_due_and_untested_at_the_boundaries(users, jurisdiction, now):
    admin, sampler = users["district_admin"], users["sampler"]
    grid = jurisdiction.grid_a
    p = {
        name: PersonFactory(grid=grid)
        for name in (
            "exactly_due",
            "one_minute_short",
            "swab_at_arrival",
            "swab_before",
            "tested_late",
            "elsewhere",
            "unknown",
            "outside_window",
            "twice",
        )
    }
    arrival(p["exactly_due"], now - 48 * H)
    arrival(p["one_minute_short"], now - 48 * H + dt.timedelta(minutes=1))
    arrival(p["swab_at_arrival"], now - 60 * H)
    swab(sampler, p["swab_at_arrival"], now - 60 * H)
    arrival(p["swab_before"], now - 60 * H)
    swab(sampler, p["swab_before"], now - 60 * H - dt.timedelta(minutes=1))
    arrival(p["tested_late"], now - 100 * H)
    swab(sampler, p["tested_late"], now - 30 * H)
    arrival(p["elsewhere"], now - 60 * H, level="", origin="北京市朝阳区")
    arrival(p["unknown"], now - 60 * H, level="", origin="不详")
    arrival(p["outside_window"], now - 14 * D - H)
    arrival(p["twice"], now - 9 * D, origin="深圳市南山区", level="medium")
    arrival(p["twice"], now - 3 * D)

    run = comparisons.rule_run(actor=admin, rule=rule(admin, ComparisonKind.NOT_TESTED), now=now)

    assert hit_people(run) == {p["exactly_due"].pk, p["swab_before"].pk, p["twice"].pk}
    # Compared: the window's arrivals from medium and high risk areas (not those from elsewhere).
    assert run.compared == 7 and run.hits == 3 and run.finished_at is not None
    exact = ComparisonHit.objects.get(run=run, person=p["exactly_due"])
    assert exact.detail["hours_since"] == 48 and exact.detail["hours"] == 48
    assert exact.detail["arrived_at"] == (now - 48 * H).isoformat()
    assert exact.org_code == grid.code and exact.reason
    before = ComparisonHit.objects.get(run=run, person=p["swab_before"])
    assert before.detail["last_test_at"] == (now - 60 * H - dt.timedelta(minutes=1)).isoformat()
    twice = ComparisonHit.objects.get(run=run, person=p["twice"])  # one hit, the latest arrival
    assert twice.arrival.arrived_at == now - 3 * D and twice.detail["origin"] == "上海市浦东新区"

    # Every level (an empty list) takes in the others; fewer hours, the one short of 48 too.
    everyone = rule(admin, ComparisonKind.NOT_TESTED, levels=[], hours=47)
    run = comparisons.rule_run(actor=admin, rule=everyone, now=now)
    assert hit_people(run) == {
        p[name].pk
        for name in ("exactly_due", "one_minute_short", "swab_before", "twice", "elsewhere", "unknown")
    }


def test_a_run_is_audited_and_published(users, jurisdiction, now):
    admin = users["district_admin"]
    arrival(PersonFactory(grid=jurisdiction.grid_a), now - 3 * D)
    made = rule(admin, ComparisonKind.NOT_TESTED)
    run = comparisons.rule_run(actor=admin, rule=made, now=now)
    event = Event.objects.filter(type="comparison.run").latest("pk")
    assert event.payload["run_id"] == run.pk and event.payload["hits"] == 1
    assert AuditEntry.objects.filter(action="comparison.run", object_id=str(run.pk)).exists()
    made.refresh_from_db()
    assert made.last_run_at == now and run.run_by == admin


# --- not screened -----------------------------------------------------------------------------------------


def _screen_task(
    person: Person, key: str, *, finished: dt.datetime | None = None, type=TaskType.SCREEN_ARRIVAL
):
    task = grid_services.task_create(
        actor=None, spec=grid_services.TaskSpec(type, "摸排", f"test:{key}", person_id=person.pk)
    )
    if finished is not None:
        result = {
            TaskType.SCREEN_ARRIVAL: {
                "residence": "长江路1号",
                "health": "normal",
                "test_status": "none",
                "decision": "home_monitoring",
            },
            TaskType.RESAMPLE: {"sampled": True},
        }[type]
        task = grid_services.task_act(actor=None, task=task, action="done", result=result, at=finished)
    return task


def test_not_screened_needs_a_done_screening_task_finished_since_arrival(users, jurisdiction, now):
    admin = users["district_admin"]
    grid = jurisdiction.grid_a
    p = {
        name: PersonFactory(grid=grid) for name in ("none", "done", "done_before", "open", "other_type", "at")
    }
    for person in p.values():
        arrival(person, now - 2 * D)
    _screen_task(p["done"], "done", finished=now - D)
    _screen_task(p["done_before"], "before", finished=now - 2 * D - H)
    _screen_task(p["open"], "open")
    _screen_task(p["other_type"], "other", finished=now - D, type=TaskType.RESAMPLE)
    _screen_task(p["at"], "at", finished=now - 2 * D)  # finished the minute they arrived: screened

    run = comparisons.rule_run(actor=admin, rule=rule(admin, ComparisonKind.NOT_SCREENED), now=now)
    assert hit_people(run) == {p["none"].pk, p["done_before"].pk, p["open"].pk, p["other_type"].pk}


# --- not vaccinated ---------------------------------------------------------------------------------------


def test_not_vaccinated_by_the_dose_needed(users, jurisdiction, now):
    admin = users["district_admin"]
    vaccine = vaccination_factories.vaccine()
    grid = jurisdiction.grid_a
    p = {name: PersonFactory(grid=grid) for name in ("none", "one", "series", "booster")}
    start = now - 400 * D
    given = {
        "one": [start],
        "series": [start, start + 30 * D],
        "booster": [start, start + 30 * D, start + 250 * D],
    }
    for name, moments in given.items():
        doses_import(actor=None, person=p[name], items=[ImportedDose(vaccine, at) for at in moments])
    for person in p.values():
        arrival(person, now - 2 * D)

    def hits(need: str) -> set[str]:
        run = comparisons.rule_run(
            actor=admin, rule=rule(admin, ComparisonKind.NOT_VACCINATED, need=need), now=now
        )
        by_pk = {person.pk: name for name, person in p.items()}
        return {by_pk[pk] for pk in hit_people(run)}

    assert hits("first") == {"none"}
    assert hits("full") == {"none", "one"}
    assert hits("booster") == {"none", "one", "series"}
    made = rule(admin, ComparisonKind.NOT_VACCINATED)
    assert made.params["need"] == "full" and made.params["disease"] == "covid19"
    run = comparisons.rule_run(actor=admin, rule=made, now=now)
    one = ComparisonHit.objects.get(run=run, person=p["one"])
    assert one.detail["doses"] == 1 and one.detail["boosters"] == 0 and "1" in one.reason


# --- venue visitors ---------------------------------------------------------------------------------------


def test_venue_visitors_are_the_arrivals_present_in_the_period(users, jurisdiction, now):
    admin = users["district_admin"]
    grid = jurisdiction.grid_a
    venue, elsewhere = VenueFactory(grid=grid), VenueFactory(grid=grid)
    Venue.objects.filter(pk__in=[venue.pk, elsewhere.pk]).update(created_at=now - 30 * D)
    start, end = now - 3 * D, now - 2 * D
    names = ("inside", "before", "overlapping", "at_end", "left_at_start", "other_venue", "not_arrived")
    p = {name: PersonFactory(grid=grid) for name in names}
    visits = {
        "inside": (venue, start + H, start + 2 * H),
        "before": (venue, start - 3 * H, start - 2 * H),
        "overlapping": (venue, start - H / 2, start + H / 2),
        "at_end": (venue, end, end + H),
        "left_at_start": (venue, start - H, start),
        "other_venue": (elsewhere, start + H, start + 2 * H),
        "not_arrived": (venue, start + H, start + 2 * H),
    }
    result = checkin_bulk_import(
        actor=None,
        rows=[
            CheckinImportRow(uuid.uuid4(), p[name].pk, place.pk, scanned, leave)
            for name, (place, scanned, leave) in visits.items()
        ],
    )
    assert result.created == len(visits)
    for name, person in p.items():
        if name != "not_arrived":
            arrival(person, now - 5 * D, level="")  # any origin: venue rules take no levels

    made = rule(admin, ComparisonKind.VENUE_VISITORS, venue_id=venue.pk, **{"from": start, "to": end})
    run = comparisons.rule_run(actor=admin, rule=made, now=now)
    assert hit_people(run) == {p["inside"].pk, p["overlapping"].pk}
    inside = ComparisonHit.objects.get(run=run, person=p["inside"])
    assert inside.detail["venue_id"] == venue.pk and inside.detail["visited_at"] == (start + H).isoformat()
    assert venue.name in inside.reason


def test_venue_rule_parameters_are_checked(users, jurisdiction, now):
    admin = users["district_admin"]
    with pytest.raises(DomainError) as err:
        rule(admin, ComparisonKind.VENUE_VISITORS, venue_id=999999, **{"from": now - D, "to": now})
    assert err.value.field == "venue_id"
    venue = VenueFactory(grid=jurisdiction.grid_a)
    with pytest.raises(DomainError) as err:
        rule(admin, ComparisonKind.VENUE_VISITORS, venue_id=venue.pk, **{"from": now, "to": now - D})
    assert err.value.field == "to"
    with pytest.raises(DomainError) as err:
        rule(admin, ComparisonKind.VENUE_VISITORS, venue_id=venue.pk, **{"from": "yesterday", "to": now})
    assert err.value.field == "from"


# --- no grid ----------------------------------------------------------------------------------------------


def test_no_grid_lists_arrivals_whose_person_lives_in_no_grid(users, jurisdiction, now):
    admin = users["district_admin"]
    homeless, housed = PersonFactory(), PersonFactory(grid=jurisdiction.grid_b)
    assert homeless.grid_id is None
    arrival(homeless, now - D, level="")
    arrival(housed, now - D, level="")
    run = comparisons.rule_run(actor=admin, rule=rule(admin, ComparisonKind.NO_GRID), now=now)
    assert hit_people(run) == {homeless.pk}
    assert run.compared == 2  # no levels: every arrival of the window


# --- parameters -------------------------------------------------------------------------------------------


def test_parameters_are_validated_and_defaulted_per_kind(users):
    admin = users["district_admin"]
    made = rule(admin, ComparisonKind.NOT_TESTED)
    assert made.params == {"hours": 48, "window_days": 14, "levels": ["high", "medium"]}
    assert rule(admin, ComparisonKind.NO_GRID, hours=5, levels=["high"]).params == {"window_days": 14}
    assert rule(admin, ComparisonKind.NOT_SCREENED, levels=[]).params["levels"] == []
    for params, field in (
        ({"hours": 0}, "hours"),
        ({"hours": "abc"}, "hours"),
        ({"window_days": 91}, "window_days"),
        ({"levels": ["extreme"]}, "levels"),
    ):
        with pytest.raises(DomainError) as err:
            rule(admin, ComparisonKind.NOT_TESTED, **params)
        assert err.value.field == field
    with pytest.raises(DomainError) as err:
        rule(admin, ComparisonKind.NOT_VACCINATED, disease="nope")
    assert err.value.field == "disease"
    with pytest.raises(DomainError) as err:
        rule(admin, ComparisonKind.NOT_VACCINATED, need="two")
    assert err.value.field == "need"
    with pytest.raises(DomainError):
        comparisons.rule_create(actor=admin, name=" ", kind=ComparisonKind.NO_GRID)
    with pytest.raises(DomainError):
        comparisons.rule_create(actor=admin, name="x", kind="telepathy")


def test_rule_update_changes_name_parameters_schedule_and_switch(users):
    admin = users["district_admin"]
    made = rule(admin, ComparisonKind.NOT_TESTED)
    comparisons.rule_update(
        actor=admin, rule=made, name="24 h", params={"hours": 24}, schedule=Schedule.DAILY, active=False
    )
    made.refresh_from_db()
    assert (made.name, made.params["hours"], made.schedule, made.active) == ("24 h", 24, "daily", False)
    assert AuditEntry.objects.filter(action="comparison.rule_update", object_id=str(made.pk)).exists()
    with pytest.raises(DomainError):
        comparisons.rule_update(actor=admin, rule=made, params={"hours": -1})


# --- scope and permissions --------------------------------------------------------------------------------


def test_a_rule_covers_its_area_and_is_seen_and_run_within_scope(users, jurisdiction, now):
    officer, admin = users["community_officer"], users["district_admin"]
    a, b = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_b)
    arrival(a, now - 3 * D)
    arrival(b, now - 3 * D)

    local = rule(officer, ComparisonKind.NOT_TESTED)
    assert local.org_code == jurisdiction.community_a.code
    run = comparisons.rule_run(actor=officer, rule=local, now=now)
    assert hit_people(run) == {a.pk}

    district = rule(admin, ComparisonKind.NOT_TESTED)
    assert hit_people(comparisons.rule_run(actor=admin, rule=district, now=now)) == {a.pk, b.pk}
    assert set(selectors.rule_list(actor=officer)) == {local}
    assert set(selectors.rule_list(actor=admin)) == {local, district}
    with pytest.raises(Forbidden):
        comparisons.rule_run(actor=officer, rule=district)
    with pytest.raises(Forbidden):
        comparisons.rule_update(actor=officer, rule=district, name="mine")
    with pytest.raises(Forbidden):
        rule(users["grid_worker"], ComparisonKind.NOT_TESTED)  # comparison.view only
    # The grid worker reads the hits of their grid only.
    worker = users["grid_worker"]
    district_run = ComparisonRun.objects.filter(rule=district).get()
    assert not selectors.run_list(actor=worker, rule=district).exists()
    assert {h.person_id for h in selectors.hit_list(actor=admin, run=district_run)} == {a.pk, b.pk}
    assert {h.person_id for h in selectors.hit_list(actor=officer, run=run)} == {a.pk}


# --- grid tasks -------------------------------------------------------------------------------------------


def test_tasks_one_per_person_to_their_grid_and_never_twice(users, jurisdiction, now):
    admin = users["district_admin"]
    a, b = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_b)
    arrival(a, now - 3 * D)
    arrival(b, now - 3 * D)
    made = rule(admin, ComparisonKind.NOT_TESTED)
    first = comparisons.rule_run(actor=admin, rule=made, now=now)

    outcome = comparisons.run_tasks_create(actor=admin, run=first, within=jurisdiction.grid_a.code)
    assert (outcome.hits, outcome.created, outcome.already) == (1, 1, 0)
    task = Task.objects.get(subject_person=a)
    assert task.type == TaskType.ARRIVAL_TEST and task.org_code == jurisdiction.grid_a.code
    assert task.source == "comparison" and task.source_ref == str(first.pk)
    assert task.params["rule_id"] == made.pk and task.params["level"] == "high"
    assert set(
        ComparisonHit.objects.filter(run=first, task_created=True).values_list("person_id", flat=True)
    ) == {a.pk}

    outcome = comparisons.run_tasks_create(actor=admin, run=first)  # both; a has one already
    assert (outcome.hits, outcome.created, outcome.already) == (2, 1, 1)
    assert Task.objects.get(subject_person=b).org_code == jurisdiction.grid_b.code
    assert comparisons.run_tasks_create(actor=admin, run=first).created == 0

    # A repeat run lists them again; its tasks are the same tasks, even after a's was done.
    Task.objects.filter(subject_person=a).update(state=TaskState.DONE)
    again = comparisons.rule_run(actor=admin, rule=made, now=now + H)
    assert hit_people(again) == {a.pk, b.pk}
    assert comparisons.run_tasks_create(actor=admin, run=again).created == 0
    assert Task.objects.count() == 2
    first.refresh_from_db()
    assert first.tasks_created == 2


def test_a_person_with_an_open_task_of_the_type_gets_no_second(users, jurisdiction, now):
    admin = users["district_admin"]
    person = PersonFactory(grid=jurisdiction.grid_a)
    arrival(person, now - D)
    _screen_task(person, "from-the-health-code")  # e.g. made when the arrival was declared
    run = comparisons.rule_run(actor=admin, rule=rule(admin, ComparisonKind.NOT_SCREENED), now=now)
    outcome = comparisons.run_tasks_create(actor=admin, run=run)
    assert (outcome.created, outcome.already) == (0, 1)
    assert Task.objects.filter(subject_person=person).count() == 1
    assert ComparisonHit.objects.get(run=run).task_created


def test_task_types_per_kind_and_no_grid_goes_to_the_district(users, jurisdiction, now):
    admin = users["district_admin"]
    homeless = PersonFactory()
    arrival(homeless, now - 3 * D, level="")
    run = comparisons.rule_run(actor=admin, rule=rule(admin, ComparisonKind.NO_GRID), now=now)
    assert comparisons.run_tasks_create(actor=admin, run=run).created == 1
    task = Task.objects.get(subject_person=homeless)
    assert task.type == TaskType.SCREEN_ARRIVAL and task.org_code == jurisdiction.district.code
    assert comparisons.TASK_TYPES == {
        "not_tested": TaskType.ARRIVAL_TEST,
        "not_screened": TaskType.SCREEN_ARRIVAL,
        "not_vaccinated": TaskType.ARRIVAL_VACCINATION,
        "venue_visitors": TaskType.VENUE_VISITOR,
        "no_grid": TaskType.SCREEN_ARRIVAL,
    }


def test_tasks_need_dispatch_as_well(users, jurisdiction, now):
    epi = users["epidemiologist"]  # comparison.run, but neither task.dispatch nor grid.manage
    arrival(PersonFactory(grid=jurisdiction.grid_a), now - 3 * D)
    run = comparisons.rule_run(actor=epi, rule=rule(epi, ComparisonKind.NOT_TESTED), now=now)
    with pytest.raises(Forbidden):
        comparisons.run_tasks_create(actor=epi, run=run)
    assert not Task.objects.exists()
    officer = users["community_officer"]
    with pytest.raises(Forbidden):
        comparisons.run_tasks_create(actor=officer, run=run)  # a district run: outside the officer's area


# --- schedule ---------------------------------------------------------------------------------------------


def test_the_scheduled_job_runs_due_rules_only(users, jurisdiction, now):
    admin = users["district_admin"]
    arrival(PersonFactory(grid=jurisdiction.grid_a), now - 3 * D)

    def scheduled(name: str, schedule: str, last_run: dt.timedelta | None, active: bool = True):
        made = comparisons.rule_create(
            actor=admin, name=name, kind=ComparisonKind.NOT_TESTED, schedule=schedule
        )
        ComparisonRule.objects.filter(pk=made.pk).update(
            last_run_at=now - last_run if last_run is not None else None, active=active
        )
        return made

    due = {
        scheduled("hourly, never run", Schedule.HOURLY, None),
        scheduled("hourly, an hour ago", Schedule.HOURLY, H),
        scheduled("daily, a day ago", Schedule.DAILY, D),
        scheduled("daily, never run", Schedule.DAILY, None),
    }
    not_due = {
        scheduled("hourly, 30 minutes ago", Schedule.HOURLY, H / 2),
        scheduled("daily, 20 hours ago", Schedule.DAILY, 20 * H),
        scheduled("manual", Schedule.MANUAL, None),
        scheduled("switched off", Schedule.HOURLY, None, active=False),
    }
    runs = comparisons.rules_run_due(now=now)
    assert {run.rule for run in runs} == due
    assert all(run.run_by is None and run.hits == 1 for run in runs)
    assert not ComparisonRun.objects.filter(rule__in=not_due).exists()
    assert comparisons.rules_run_due(now=now + dt.timedelta(minutes=10)) == []  # nothing due again yet
    hourly = {r for r in due if r.schedule == Schedule.HOURLY}
    assert {run.rule for run in comparisons.rules_run_due(now=now + H)} == hourly | {
        r for r in not_due if r.name == "hourly, 30 minutes ago"
    }


def test_the_periodic_job_is_registered_and_runs(users, jurisdiction):
    assert "comparison_scheduled_rules" in {job.name for job in jobs()}
    admin = users["district_admin"]
    arrival(PersonFactory(grid=jurisdiction.grid_a), timezone.now() - 3 * D)
    comparisons.rule_create(
        actor=admin, name="hourly", kind=ComparisonKind.NOT_TESTED, schedule=Schedule.HOURLY
    )
    assert comparison_tasks.run_scheduled_comparisons.call() == 1
    assert comparison_tasks.run_scheduled_comparisons.call() == 0


# --- cost -------------------------------------------------------------------------------------------------


def _people(jurisdiction, n: int) -> list[int]:
    """``n`` people of grid A, registered in bulk (their data is not what is measured)."""
    from epigrid.core import services as core_services
    from epigrid.core.identity import IdType

    rows = (
        core_services.PersonInput(
            id_number=f"P{i:016X}", id_type=IdType.PROVISIONAL, name="测试", grid_id=jurisdiction.grid_a.pk
        )
        for i in range(n)
    )
    result = core_services.person_bulk_register(actor=None, rows=rows)
    assert not result.errors
    return list(Person.objects.filter(id_type=IdType.PROVISIONAL).order_by("pk").values_list("pk", flat=True))


def _arrive(person_ids: list[int], code: str, at: dt.datetime) -> None:
    """Arrivals from a high-risk region inserted in bulk: what is measured is the run over them, and the
    archive's services would take longer to record thousands than the run to compare them."""
    Arrival.objects.bulk_create(
        [
            Arrival(
                person_id=pk,
                org_code=code,
                origin="上海市浦东新区",
                origin_region_code="310115",
                risk_level="high",
                arrived_at=at,
                arrived_on=timezone.localdate(at),
                source=ArrivalSource.LIST,
            )
            for pk in person_ids
        ],
        batch_size=2000,
    )


@pytest.mark.parametrize("kind", list(ComparisonKind.values))
def test_a_run_costs_the_same_queries_for_twenty_or_two_thousand_arrivals(users, jurisdiction, now, kind):
    admin = users["district_admin"]
    venue = VenueFactory(grid=jurisdiction.grid_a)
    params = (
        {"venue_id": venue.pk, "from": now - 4 * D, "to": now}
        if kind == ComparisonKind.VENUE_VISITORS
        else {}
    )
    made = rule(admin, kind, **params)
    people = _people(jurisdiction, 2000)
    comparisons.rule_run(actor=admin, rule=made, now=now)  # warm the process caches (policies)
    counts = []
    for n in (20, 2000):
        Arrival.objects.all().delete()
        _arrive(people[:n], jurisdiction.grid_a.code, now - 3 * D)
        with CaptureQueriesContext(connection) as queries:
            comparisons.rule_run(actor=admin, rule=made, now=now)
        # Reads, that is: the hits are written by multi-row INSERTs, as many as the database's limit on
        # parameters asks for.
        counts.append(sum(not q["sql"].startswith("INSERT") for q in queries.captured_queries))
    assert counts[0] == counts[1], counts


def test_ten_thousand_arrivals_compare_in_seconds(users, jurisdiction, now):
    admin = users["district_admin"]
    _arrive(_people(jurisdiction, 10_000), jurisdiction.grid_a.code, now - 3 * D)
    made = rule(admin, ComparisonKind.NOT_TESTED)
    started = time.perf_counter()
    run = comparisons.rule_run(actor=admin, rule=made, now=now)
    elapsed = time.perf_counter() - started
    assert run.compared == 10_000 and run.hits == 10_000
    assert elapsed < 10, elapsed
    started = time.perf_counter()
    outcome = comparisons.run_tasks_create(actor=admin, run=run)
    assert outcome.created == 10_000
    assert time.perf_counter() - started < 20
