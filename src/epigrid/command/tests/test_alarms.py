"""Alarms: raised from the other apps' events, placed on the map, handled by the command center."""

from __future__ import annotations

import pytest

from epigrid.command.models import Alarm, AlarmStatus, AlarmUpdate
from epigrid.command.services.alarms import alarm_acknowledge, alarm_assign, alarm_close
from epigrid.core import events
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Event
from epigrid.core.tests.factories import PersonFactory
from epigrid.investigation.models import Case
from epigrid.places.tests.factories import VenueFactory


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Publish an event as the other apps do: handlers run once the transaction commits."""

    def send(event_type: str, payload: dict, org_code: str) -> Event:
        with django_capture_on_commit_callbacks(execute=True):
            return events.publish(event_type, payload=payload, org_code=org_code)

    return send


def test_a_positive_result_raises_a_critical_alarm_at_the_grid_centre(jurisdiction, person_a, publish):
    event = publish("specimen.positive", {"person_id": person_a.pk, "specimen_id": 1}, person_a.org_code)

    # The investigation opens (and confirms) a case from the same result: one alarm per person, linking to it.
    alarm = Alarm.objects.get(event=event)
    case = Case.objects.get(person=person_a)
    assert alarm.url == f"/investigation/cases/{case.pk}/"
    grid = jurisdiction.grid_a
    assert alarm.severity == "critical" and alarm.status == AlarmStatus.OPEN
    # People sit at their grid's centre on the map, never at their address.
    assert (alarm.lat, alarm.lng) == (grid.centroid_lat, grid.centroid_lng)
    assert alarm.org_code == person_a.org_code
    assert alarm.params["area"] == grid.name
    raised = Event.objects.filter(type="alarm.raised").get()
    assert raised.payload["alarm_id"] == alarm.pk and raised.org_code == alarm.org_code
    assert list(alarm.updates.values_list("action", flat=True)) == ["raised"]


def test_the_same_event_handled_twice_raises_one_alarm(jurisdiction, person_a, publish):
    from epigrid.command.services.alarms import alarm_raise_from_event

    event = publish("case.confirmed", {"case_id": 7, "person_id": person_a.pk}, person_a.org_code)
    again = alarm_raise_from_event(event=event)
    assert Alarm.objects.count() == 1 and again.pk == Alarm.objects.get().pk


def test_repeats_about_the_same_venue_count_on_the_active_alarm(jurisdiction, publish, users):
    venue = VenueFactory(grid=jurisdiction.grid_a, capacity=10)
    payload = {"venue_id": venue.pk, "venue": venue.name, "present": 11, "capacity": 10}
    publish("venue.over_capacity", payload, venue.org_code)
    publish("venue.over_capacity", {**payload, "present": 14}, venue.org_code)

    alarm = Alarm.objects.get()
    assert alarm.repeats == 1 and alarm.params["present"] == 14
    assert (alarm.lat, alarm.lng) == (venue.lat, venue.lng)
    # Once closed, the next one is a new alarm.
    alarm_close(actor=users["commander"], alarm=alarm, note="疏导人群")
    publish("venue.over_capacity", payload, venue.org_code)
    assert Alarm.objects.count() == 2


def test_only_second_level_escalations_are_alarms(jurisdiction, publish):
    code = jurisdiction.grid_a.code
    publish("task.escalated", {"task_id": 1, "level": 1, "type": "resample"}, code)
    assert not Alarm.objects.exists()
    publish("task.escalated", {"task_id": 1, "level": 2, "type": "resample"}, code[:12])
    alarm = Alarm.objects.get()
    assert alarm.kind == "task.escalated" and alarm.org_code == code[:12]


def test_events_that_are_not_alarms_raise_nothing(jurisdiction, person_a, publish):
    publish("healthcode.changed", {"person_id": person_a.pk}, person_a.org_code)
    assert not Alarm.objects.exists()


@pytest.fixture
def alarm(jurisdiction, person_a, publish) -> Alarm:
    publish("specimen.positive", {"person_id": person_a.pk, "specimen_id": 1}, person_a.org_code)
    return Alarm.objects.get()


def test_acknowledge_assign_close_each_leave_a_record_and_an_event(alarm, users):
    commander = users["commander"]
    mark = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    alarm = alarm_acknowledge(actor=commander, alarm=alarm)
    assert alarm.status == AlarmStatus.ACKNOWLEDGED and alarm.acknowledged_by == commander
    alarm = alarm_assign(actor=commander, alarm=alarm, assignee=users["grid_leader"], note="上门核实")
    assert alarm.status == AlarmStatus.ASSIGNED and alarm.assignee == users["grid_leader"]
    alarm = alarm_close(actor=commander, alarm=alarm, note="已转运隔离")
    assert alarm.status == AlarmStatus.CLOSED and alarm.close_note == "已转运隔离"

    assert list(AlarmUpdate.objects.filter(alarm=alarm).values_list("action", "note")) == [
        ("raised", ""),
        ("acknowledge", ""),
        ("assign", "上门核实"),
        ("close", "已转运隔离"),
    ]
    updated = Event.objects.filter(type="alarm.updated", pk__gt=mark).order_by("pk")
    assert [e.payload["action"] for e in updated] == ["acknowledge", "assign", "close"]
    assert updated.last().payload["status"] == "closed"


def test_closing_needs_a_note_and_a_closed_alarm_stays_closed(alarm, users):
    with pytest.raises(DomainError, match="Say what was done"):
        alarm_close(actor=users["commander"], alarm=alarm, note="  ")
    alarm_close(actor=users["commander"], alarm=alarm, note="处理完毕")
    with pytest.raises(Conflict, match="already closed"):
        alarm_acknowledge(actor=users["commander"], alarm=alarm)


def test_two_operators_on_one_alarm_the_second_is_told(alarm, users):
    seen = alarm.version
    alarm_assign(actor=users["commander"], alarm=alarm, assignee=users["grid_leader"], expected_version=seen)
    with pytest.raises(Conflict, match="Someone else changed"):
        alarm_close(actor=users["district_admin"], alarm=alarm, note="重复", expected_version=seen)
    assert Alarm.objects.get().status == AlarmStatus.ASSIGNED


def test_assignee_must_cover_the_alarm_and_actor_must_cover_the_area(alarm, users, jurisdiction):
    from epigrid.core.tests.factories import UserFactory

    leader_b = UserFactory(username="leader_b", role="grid_leader", org_unit=jurisdiction.grid_b)
    with pytest.raises(DomainError, match="responsible for its area"):
        alarm_assign(actor=users["commander"], alarm=alarm, assignee=leader_b)
    with pytest.raises(DomainError, match="responsible for its area"):
        alarm_assign(actor=users["commander"], alarm=alarm, assignee=users["resident"])
    # A grid worker may look at alarms? No: they cannot handle them.
    with pytest.raises(Forbidden):
        alarm_acknowledge(actor=users["grid_worker"], alarm=alarm)
    assert Alarm.objects.get().status == AlarmStatus.OPEN


# --- over HTTP --------------------------------------------------------------------------------------------------


def test_alarm_api_lists_in_scope_and_handles(jurisdiction, publish, users, api_client):
    person_b = PersonFactory(grid=jurisdiction.grid_b)
    person_a = PersonFactory(grid=jurisdiction.grid_a)
    publish("specimen.positive", {"person_id": person_a.pk}, person_a.org_code)
    publish("specimen.positive", {"person_id": person_b.pk}, person_b.org_code)
    in_a = Alarm.objects.get(org_code=person_a.org_code)
    in_b = Alarm.objects.get(org_code=person_b.org_code)

    commander = api_client(users["commander"])
    listed = commander.get("/api/v1/alarms", HTTP_ACCEPT_LANGUAGE="en").json()
    assert {row["id"] for row in listed} == {in_a.pk, in_b.pk}
    assert listed[0]["title"].startswith("Positive test result in ")

    officer = api_client(users["community_officer"])  # community A only
    assert [row["id"] for row in officer.get("/api/v1/alarms").json()] == [in_a.pk]
    assert officer.get(f"/api/v1/alarms/{in_b.pk}").status_code == 404
    assert (
        officer.post(f"/api/v1/alarms/{in_b.pk}/acknowledge", {}, content_type="application/json").status_code
        == 404
    )
    response = officer.post(
        f"/api/v1/alarms/{in_a.pk}/close",
        {"note": "已处置", "version": in_a.version},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "closed"
    stale = officer.post(
        f"/api/v1/alarms/{in_a.pk}/acknowledge", {"version": in_a.version}, content_type="application/json"
    )
    assert stale.status_code == 409
    assert officer.get("/api/v1/alarms?status=closed").json()[0]["close_note"] == "已处置"
    assert officer.get("/api/v1/alarms?status=bogus").status_code == 400


def test_alarm_api_refuses_roles_without_the_command_center(alarm, users, api_client):
    assert api_client(users["sampler"]).get("/api/v1/alarms").status_code == 403
    assert api_client(users["sampler"]).get(f"/api/v1/alarms/{alarm.pk}").status_code == 404
    assert api_client(users["resident"]).get(f"/api/v1/alarms/{alarm.pk}").status_code == 404
    # Grid staff read the alarms of their grid (they are the ones sent to deal with them), not handle them.
    worker = api_client(users["grid_worker"])
    assert [row["id"] for row in worker.get("/api/v1/alarms").json()] == [alarm.pk]
    assert (
        worker.post(
            f"/api/v1/alarms/{alarm.pk}/close", {"note": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert api_client(None).get("/api/v1/alarms").status_code == 401
    # The epidemiologist sees the command center but does not handle alarms.
    epi = api_client(users["epidemiologist"])
    assert epi.get(f"/api/v1/alarms/{alarm.pk}").status_code == 200
    assert (
        epi.post(f"/api/v1/alarms/{alarm.pk}/acknowledge", {}, content_type="application/json").status_code
        == 403
    )


def test_assignee_candidates_cover_the_alarm(alarm, users, api_client):
    rows = api_client(users["commander"]).get(f"/api/v1/alarms/{alarm.pk}/assignees").json()
    names = [row["name"] for row in rows]
    assert "grid_leader" in names and names[0] == "grid_leader"
    assert "resident" not in names
