"""The situation panel: today against yesterday (local days) for every counter, states read back at the end
of yesterday, the epicurve, testing turnaround and the response level, scoped to the reader's area; the API's
answers per role."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from epigrid.checkins import services as checkin_services
from epigrid.command.models import Alarm, AlarmStatus, Severity
from epigrid.command.selectors.situation import COUNTERS, situation
from epigrid.core import services as core_services
from epigrid.core.errors import Forbidden
from epigrid.core.tests.factories import PersonFactory
from epigrid.grids import services as grid_services
from epigrid.grids.models import Task, TaskType
from epigrid.investigation import services as case_services
from epigrid.investigation.models import Case, Classification
from epigrid.investigation.tests.factories import old_venue
from epigrid.quarantine import services as quarantine_services
from epigrid.quarantine.models import Placement
from epigrid.quarantine.tests.factories import hotel
from epigrid.testing import services as testing_services
from epigrid.testing.models import Tube

pytestmark = pytest.mark.django_db


def local(days: int, hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def checkin(person, venue, at: dt.datetime) -> None:
    result = checkin_services.checkin_bulk_import(
        actor=None,
        rows=[
            checkin_services.CheckinImportRow(
                client_id=uuid.uuid4(),
                person_id=person.pk,
                venue_id=venue.pk,
                scanned_at=at,
                leave_at=at + dt.timedelta(minutes=30),
                left_explicitly=True,
            )
        ],
    )
    assert result.created == 1, result.errors


def tube_with_result(users, grid, barcode: str, result: str, *, opened: dt.datetime, resulted: dt.datetime):
    """A single tube swabbed and resulted through the services, then dated (test data: times in the past)."""
    point = testing_services.sampling_point_create(
        actor=users["commander"], name=f"点{barcode}", kind="fixed", grid=grid, lat=37.5, lng=121.2
    )
    tube = testing_services.tube_register(
        actor=users["sampler"], barcode=barcode, pool_size=1, sampling_point=point
    )
    testing_services.specimen_add(
        actor=users["sampler"], tube=tube, client_id=uuid.uuid4(), person=PersonFactory(grid=grid)
    )
    (outcome,) = testing_services.results_submit(
        actor=users["lab_technician"], rows=[{"tube": barcode, "result": result}]
    )
    assert outcome.ok, outcome
    Tube.objects.filter(pk=tube.pk).update(created_at=opened, resulted_at=resulted)


def alarm(unit, *, raised: dt.datetime, closed: dt.datetime | None = None) -> Alarm:
    # Test setup only: alarms are raised by the command center's services from events.
    return Alarm.objects.create(
        kind="case.confirmed",
        severity=Severity.CRITICAL,
        source_key=f"test:{uuid.uuid4().hex}",
        org_code=unit.code,
        status=AlarmStatus.CLOSED if closed else AlarmStatus.OPEN,
        raised_at=raised,
        closed_at=closed,
    )


@pytest.fixture
def scene(jurisdiction, users):
    """Community A: 3 check-ins today and 1 yesterday, one case today and one yesterday, a placement begun
    yesterday and one today, tasks (open since yesterday; overdue; one done today), alarms (open since
    yesterday; raised and closed yesterday; raised today). Community B: a check-in and a case today, an open
    alarm — which the community A officer must not count."""
    j = jurisdiction
    now = timezone.now()
    venue_a, venue_b = old_venue(j.grid_a), old_venue(j.grid_b)
    for _ in range(3):
        checkin(PersonFactory(grid=j.grid_a), venue_a, now)
    checkin(PersonFactory(grid=j.grid_a), venue_a, local(-1, 10))
    checkin(PersonFactory(grid=j.grid_b), venue_b, now)

    today_case = case_services.case_create(actor=None, person=PersonFactory(grid=j.grid_a), trace=False)
    old_case = case_services.case_create(actor=None, person=PersonFactory(grid=j.grid_a), trace=False)
    Case.objects.filter(pk=old_case.pk).update(created_at=local(-1, 9), first_positive_at=local(-1, 9))
    case_services.case_create(actor=None, person=PersonFactory(grid=j.grid_b), trace=False)
    case_services.case_create(
        actor=None,
        person=PersonFactory(grid=j.grid_a),
        classification=Classification.SUSPECTED,
        trace=False,
    )

    site = hotel(j.grid_a)
    early = quarantine_services.placement_create(
        actor=None, person=PersonFactory(grid=j.grid_a), site=site, case_id=old_case.pk
    )
    Placement.objects.filter(pk=early.pk).update(start=local(-1, 12))
    quarantine_services.placement_create(
        actor=None, person=PersonFactory(grid=j.grid_a), site=site, case_id=today_case.pk
    )

    def task(key: str, due: dt.datetime) -> Task:
        return grid_services.task_create(
            actor=None,
            spec=grid_services.TaskSpec(TaskType.PATROL, key, f"test:{key}", grid_id=j.grid_a.pk, due_at=due),
        )

    since_yesterday = task("since-yesterday", now + dt.timedelta(days=1))
    overdue = task("overdue", local(-1, 20))  # due yesterday evening: overdue then and now
    finished_today = task("finished-today", now + dt.timedelta(days=1))
    late_finished_today = task("late-finished-today", local(-1, 20))  # overdue then, done now
    made_yesterday = [since_yesterday.pk, overdue.pk, finished_today.pk, late_finished_today.pk]
    Task.objects.filter(pk__in=made_yesterday).update(created_at=local(-1, 8))
    Task.objects.filter(pk__in=[finished_today.pk, late_finished_today.pk]).update(
        state="done", finished_at=now
    )
    task("new-today", now + dt.timedelta(days=1))

    tube_with_result(users, j.grid_a, "S-1", "negative", opened=now - dt.timedelta(hours=5), resulted=now)
    tube_with_result(users, j.grid_a, "S-2", "positive", opened=now - dt.timedelta(hours=30), resulted=now)
    tube_with_result(users, j.grid_a, "S-3", "negative", opened=local(-1, 1), resulted=local(-1, 13))

    alarm(j.grid_a, raised=local(-1, 10))
    alarm(j.grid_a, raised=local(-1, 10), closed=local(-1, 11))
    alarm(j.grid_a, raised=now)
    alarm(j.grid_b, raised=now)
    return {"today_case": today_case}


def test_counters_today_and_yesterday(scene, users):
    data = situation(actor=users["community_officer"])  # community A only
    c = data["counters"]
    assert list(c) == list(COUNTERS) == data["order"]
    assert c["checkins"] == {"today": 3, "yesterday": 1}
    # Three tubes swabbed today by the helper (their people), none yesterday (swab times are not backdated).
    assert c["sampled"] == {"today": 3, "yesterday": 0}
    assert c["resulted"] == {"today": 2, "yesterday": 1}
    assert c["positive"] == {"today": 1, "yesterday": 0}
    # Infected cases only (the suspected one does not count); community B's case is not theirs.
    assert c["new_cases"] == {"today": 1, "yesterday": 1}
    assert c["contacts_placed"] == {"today": 1, "yesterday": 1}
    assert c["in_quarantine"] == {"today": 2, "yesterday": 1}
    assert c["vaccination_doses"] == {"today": 0, "yesterday": 0}
    # Open now: since-yesterday, overdue, new-today. At the end of yesterday: the four created by then (the
    # two finished today were still open), new-today not; overdue then: both due yesterday evening.
    assert c["tasks_open"] == {"today": 3, "yesterday": 4}
    assert c["tasks_overdue"] == {"today": 1, "yesterday": 2}
    assert c["alarms_open"] == {"today": 2, "yesterday": 1}
    assert data["open_alarms"] == 2


def test_district_sees_both_communities(scene, users):
    c = situation(actor=users["commander"])["counters"]
    assert c["checkins"]["today"] == 4
    assert c["alarms_open"]["today"] == 3


def test_turnaround_of_tubes_resulted_each_day(scene, users):
    t = situation(actor=users["commander"])["turnaround"]
    assert t["today"]["n"] == 2 and t["yesterday"]["n"] == 1
    assert t["today"]["p50"] == pytest.approx(17.5, abs=0.1)  # 5 h and 30 h
    assert t["today"]["histogram"] == [1, 0, 0, 1, 0]  # [0,6) and [24,48)
    assert t["yesterday"]["histogram"] == [0, 0, 1, 0, 0]  # 12 h: [12,24)


def test_epicurve_for_case_viewers_only(scene, users):
    curve = situation(actor=users["commander"])["epicurve"]
    assert len(curve["days"]) == 28 and curve["days"][-1] == timezone.localdate().isoformat()
    assert sum(curve["confirmed"]) >= 3  # today's and yesterday's in A, today's in B
    assert curve["confirmed"][-2] == 1  # yesterday's case, by its first positive sampling
    # The community officer may not see cases (case.view): the panel says so instead of drawing a curve.
    assert situation(actor=users["community_officer"])["epicurve"] is None


def test_response_level_in_force(jurisdiction, users):
    assert situation(actor=users["commander"])["response_level"]["code"] == "normal"
    core_services.response_level_set(actor=users["commander"], level="II", reason="drill")
    level = situation(actor=users["commander"])["response_level"]
    assert level["code"] == "II" and "II" in level["label"]


def test_roles_without_command_view_are_refused(jurisdiction, users):
    for role in ("grid_worker", "resident", "lab_technician"):
        with pytest.raises(Forbidden):
            situation(actor=users[role])


def test_api_situation_per_role(scene, users, api_client, login_client):
    url = "/api/v1/command/situation"
    assert api_client(None).get(url).status_code == 401
    for role in ("grid_worker", "resident", "vaccinator"):
        response = api_client(users[role]).get(url)
        assert response.status_code == 403 and response.json()["detail"], role
    body = login_client(users["community_officer"]).get(url).json()
    assert body["counters"]["checkins"] == {"today": 3, "yesterday": 1}
    assert body["counters"]["vaccination_doses"] == {"today": 0, "yesterday": 0}
    assert body["epicurve"] is None and body["response_level"]["code"] == "normal"


def test_yesterday_is_kept_for_a_while_today_is_live(jurisdiction, users):
    from epigrid.core import ttlcache

    venue = old_venue(jurisdiction.grid_a)
    checkin(PersonFactory(grid=jurisdiction.grid_a), venue, local(-1, 10))
    officer = users["community_officer"]
    assert situation(actor=officer)["counters"]["checkins"] == {"today": 0, "yesterday": 1}
    checkin(PersonFactory(grid=jurisdiction.grid_a), venue, timezone.now())
    checkin(PersonFactory(grid=jurisdiction.grid_a), venue, local(-1, 11))  # uploaded late
    # Today is counted afresh; yesterday's column is the one read a moment ago...
    assert situation(actor=officer)["counters"]["checkins"] == {"today": 1, "yesterday": 1}
    ttlcache.clear_all()  # ...until it expires (YESTERDAY_SECONDS)
    assert situation(actor=officer)["counters"]["checkins"] == {"today": 1, "yesterday": 2}


def test_vaccination_doses_today_and_yesterday(jurisdiction, users, api_client):
    """Doses given today and yesterday, by when they were given (a dose recorded at a site, or imported),
    in the reader's area."""
    from epigrid.vaccination.services.doses import ImportedDose, dose_record, doses_import
    from epigrid.vaccination.tests import factories

    j = jurisdiction
    vaccine = factories.vaccine()
    batch = factories.batch(vaccine)
    site_a, site_b = factories.site(j.grid_a, vaccine), factories.site(j.grid_b, vaccine)

    def given(site, grid, at):
        dose_record(
            actor=users["vaccinator"],
            person=PersonFactory(grid=grid),
            vaccine=vaccine,
            batch=batch,
            site=site,
            given_at=at,
        )

    now = timezone.now()
    given(site_a, j.grid_a, now - dt.timedelta(seconds=5))
    given(site_a, j.grid_a, local(-1, 10))
    given(site_a, j.grid_a, local(-1, 11))
    given(site_b, j.grid_b, now - dt.timedelta(seconds=5))
    # A dose given elsewhere long ago and imported today is not one of today's.
    doses_import(
        actor=None,
        person=PersonFactory(grid=j.grid_a),
        items=[ImportedDose(vaccine=vaccine, given_at=local(-30, 9))],
    )
    officer = situation(actor=users["community_officer"])["counters"]
    assert officer["vaccination_doses"] == {"today": 1, "yesterday": 2}
    assert situation(actor=users["commander"])["counters"]["vaccination_doses"] == {
        "today": 2,
        "yesterday": 2,
    }
    body = api_client(users["commander"]).get("/api/v1/command/situation").json()
    assert body["counters"]["vaccination_doses"] == {"today": 2, "yesterday": 2}
