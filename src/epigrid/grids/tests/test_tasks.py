"""The task engine: routing, idempotent creation, tasks from other modules' events, the life of a task,
offline sync, escalation, patrols, emergencies, instructions, assessment."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid

import pytest
from django.db import transaction
from django.utils import timezone
from PIL import Image

from epigrid.core import events
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Event
from epigrid.core.roles import Role
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.grids import selectors, services
from epigrid.grids.models import Task, TaskType
from epigrid.places.tests.factories import VenueFactory
from epigrid.quarantine import services as quarantine

pytestmark = pytest.mark.django_db


def spec(person=None, key=None, **kwargs) -> services.TaskSpec:
    return services.TaskSpec(
        kwargs.pop("type", TaskType.RESAMPLE),
        kwargs.pop("title", "复采"),
        key or f"t:{uuid.uuid4()}",
        person_id=person.pk if person else None,
        **kwargs,
    )


def photo_b64() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(out, format="JPEG")
    return base64.b64encode(out.getvalue()).decode()


def call(client, path, body=None):
    return client.post(
        path, json.dumps(body or {}, default=str), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


def test_tasks_go_to_the_subjects_grid_and_are_made_once(jurisdiction):
    a, b = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_b)
    venue_b = VenueFactory(grid=jurisdiction.grid_b)
    specs = [
        spec(a, "k1"),
        spec(b, "k2"),
        spec(key="k3", venue_id=venue_b.pk),
        spec(key="k4", lat=jurisdiction.grid_a.centroid_lat, lng=jurisdiction.grid_a.centroid_lng),
        spec(key="k5", subject_text="不知道在哪"),
        spec(a, "k1"),  # the same key twice in one burst
    ]
    assert services.tasks_create_many(actor=None, specs=specs) == 5
    grids = dict(Task.objects.values_list("dedupe_key", "org_code"))
    assert grids == {
        "k1": jurisdiction.grid_a.code,
        "k2": jurisdiction.grid_b.code,
        "k3": jurisdiction.grid_b.code,
        "k4": jurisdiction.grid_a.code,
        "k5": jurisdiction.district.code,
    }
    assert services.tasks_create_many(actor=None, specs=specs) == 0  # a replayed burst
    assert Task.objects.count() == 5


def _publish(event_type, payload, org_code=""):
    with transaction.atomic():
        events.publish(event_type, payload=payload, org_code=org_code)


def test_other_modules_events_become_tasks(jurisdiction, django_capture_on_commit_callbacks):
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(3)]
    due = (timezone.now() + dt.timedelta(hours=12)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        _publish(
            "testing.recall",
            {"person_ids": [people[0].pk], "tubes": ["YT1"], "reason": "positive", "due_at": due},
        )
        _publish(
            "contacts.grid_task_requested",
            {"case_id": 7, "people": [{"person_id": people[1].pk, "tier": "close"}]},
        )
        _publish(
            "quarantine.tests_due",
            {
                "date": timezone.localdate().isoformat(),
                "grid": "x",
                "door_to_door": True,
                "people": [{"person_id": people[2].pk, "day": 4}],
            },
        )
        _publish(
            "testing.recall",
            {"person_ids": [people[0].pk], "tubes": ["YT1"], "reason": "positive", "due_at": due},
        )
    kinds = sorted(Task.objects.values_list("type", "subject_person_id"))
    assert kinds == sorted(
        [
            ("resample", people[0].pk),
            ("contact_control", people[1].pk),
            ("quarantine_test", people[2].pk),
        ]
    )
    assert Task.objects.get(type="contact_control").priority == 4
    assert Task.objects.get(type="resample").due_at.isoformat() == due


def test_home_quarantine_gives_a_door_seal_task_whose_result_reaches_the_quarantine_record(
    jurisdiction, users, django_capture_on_commit_callbacks
):
    person = PersonFactory(grid=jurisdiction.grid_a)
    with django_capture_on_commit_callbacks(execute=True):
        placement = quarantine.placement_create(actor=None, person=person, tier="secondary")
    task = Task.objects.get(type="door_seal", subject_person=person)
    assert task.org_code == jurisdiction.grid_a.code
    worker = users["grid_worker"]
    with pytest.raises(DomainError, match="photo"):
        services.task_act(actor=worker, task=task, action="done", result={"seal_number": "FT-9"})
    with django_capture_on_commit_callbacks(execute=True):
        services.task_act(
            actor=worker,
            task=task,
            action="done",
            result={"seal_number": "FT-9"},
            photo=base64.b64decode(photo_b64()),
        )
    assert placement.seals.get().number == "FT-9"


def test_the_life_of_a_task_with_its_form_and_evidence(jurisdiction, users, api_client):
    task = services.task_create(
        actor=None, spec=spec(PersonFactory(grid=jurisdiction.grid_a), type=TaskType.SCREEN_ARRIVAL)
    )
    worker = api_client(users["grid_worker"])
    accepted = call(worker, f"/api/v1/grid/tasks/{task.pk}/accept")
    assert (accepted.status_code, accepted.json()["state"]) == (200, "accepted")
    incomplete = call(worker, f"/api/v1/grid/tasks/{task.pk}/done", {"result": {"residence": "黄河路1号"}})
    assert (incomplete.status_code, incomplete.json()["field"]) == (400, "health")
    wrong = call(
        worker,
        f"/api/v1/grid/tasks/{task.pk}/done",
        {
            "result": {
                "residence": "黄河路1号",
                "health": "normal",
                "test_status": "none",
                "decision": "party",
            }
        },
    )
    assert (wrong.status_code, wrong.json()["field"]) == (400, "decision")
    done = call(
        worker,
        f"/api/v1/grid/tasks/{task.pk}/done",
        {
            "result": {
                "residence": "黄河路1号",
                "health": "normal",
                "test_status": "none",
                "decision": "test",
            },
            "lat": 37.52,
            "lng": 121.22,
            "photo_base64": photo_b64(),
        },
    )
    assert done.status_code == 200, done.content
    task.refresh_from_db()
    assert (task.state, task.result["decision"], task.finished_by, task.evidence_lat) == (
        "done",
        "test",
        users["grid_worker"],
        37.52,
    )
    again = call(worker, f"/api/v1/grid/tasks/{task.pk}/done", {"result": task.result})
    assert again.status_code == 409
    assert Event.objects.filter(type="task.done", payload__task_id=task.pk).count() == 1


def test_a_worker_cannot_touch_another_grids_task(jurisdiction, users, api_client):
    task = services.task_create(actor=None, spec=spec(PersonFactory(grid=jurisdiction.grid_b)))
    assert call(api_client(users["grid_worker"]), f"/api/v1/grid/tasks/{task.pk}/accept").status_code == 404
    with pytest.raises(Forbidden):
        services.task_act(actor=users["grid_worker"], task=task, action="accept")
    with pytest.raises(DomainError, match="Say why"):
        services.task_act(actor=None, task=task, action="cannot")


def test_offline_changes_apply_once_and_conflicts_are_reported(jurisdiction, users, api_client):
    person = PersonFactory(grid=jurisdiction.grid_a)
    first = services.task_create(actor=None, spec=spec(person))
    second = services.task_create(actor=None, spec=spec(person))
    taken = services.task_create(actor=None, spec=spec(person))
    # While the phone was offline, the leader's other worker finished ``taken``.
    other = UserFactory(role=Role.GRID_WORKER, org_unit=jurisdiction.grid_a)
    services.task_act(actor=other, task=taken, action="done", result={"sampled": True})
    queue = [
        {
            "client_id": str(uuid.uuid4()),
            "task_id": first.pk,
            "action": "done",
            "base_version": 1,
            "result": {"sampled": True, "tube": "S1"},
        },
        {
            "client_id": str(uuid.uuid4()),
            "task_id": second.pk,
            "action": "done",
            "base_version": 1,
            "result": {},
        },
        {
            "client_id": str(uuid.uuid4()),
            "task_id": taken.pk,
            "action": "done",
            "base_version": 1,
            "result": {"sampled": True},
        },
        {"client_id": "not-a-uuid", "task_id": first.pk, "action": "accept"},
    ]
    phone = api_client(users["grid_worker"])
    answers = call(phone, "/api/v1/grid/sync", queue).json()
    assert [a["outcome"] for a in answers] == ["applied", "rejected", "conflict", "rejected"]
    assert answers[2]["message"] == "The task changed meanwhile (now: Done)."
    replay = call(phone, "/api/v1/grid/sync", queue[:3]).json()
    assert [a["outcome"] for a in replay] == ["duplicate", "duplicate", "duplicate"]
    first.refresh_from_db()
    assert (first.state, first.result["tube"], first.version) == ("done", "S1", 2)
    assert Event.objects.filter(type="task.done", payload__task_id=first.pk).count() == 1


def test_overdue_tasks_escalate_to_the_leader_then_the_community(jurisdiction):
    task = services.task_create(
        actor=None,
        spec=spec(PersonFactory(grid=jurisdiction.grid_a), due_at=timezone.now() - dt.timedelta(minutes=5)),
    )
    now = timezone.now()
    assert services.tasks_escalate(now=now) == 1
    assert services.tasks_escalate(now=now) == 0
    first = Event.objects.get(type="task.escalated", payload__level=1)
    assert first.org_code == jurisdiction.grid_a.code
    assert services.tasks_escalate(now=now + dt.timedelta(hours=5)) == 1
    second = Event.objects.get(type="task.escalated", payload__level=2)
    assert second.org_code == jurisdiction.community_a.code
    task.refresh_from_db()
    assert task.escalation == 2


def test_patrols_are_scheduled_and_problems_become_rectification_tasks(jurisdiction, users):
    shop = VenueFactory(grid=jurisdiction.grid_a)
    leader = users["grid_leader"]
    route = services.patrol_route_create(
        actor=leader,
        name="商超巡查",
        grid=jurisdiction.grid_a,
        venues=[shop],
        checklist=["扫码", "口罩"],
        weekdays=[0, 3],
    )
    monday = dt.date(2026, 11, 23)
    assert services.patrols_generate(day=monday) == 1
    assert services.patrols_generate(day=monday) == 0
    assert services.patrols_generate(day=monday + dt.timedelta(days=1)) == 0  # not a patrol day
    patrol = Task.objects.get(type="patrol")
    assert patrol.params["route"] == route.pk
    with pytest.raises(DomainError, match="every item"):
        services.task_act(
            actor=users["grid_worker"], task=patrol, action="done", result={"items": {"扫码": "ok"}}
        )
    services.task_act(
        actor=users["grid_worker"],
        task=patrol,
        action="done",
        result={"items": {"扫码": "ok", "口罩": "problem"}},
    )
    rectify = Task.objects.get(type="rectify")
    assert (rectify.subject_venue_id, rectify.params["item"], rectify.org_code) == (
        shop.pk,
        "口罩",
        jurisdiction.grid_a.code,
    )


def test_emergency_reported_assigned_and_closed(jurisdiction, users, api_client):
    worker = api_client(users["grid_worker"])
    made = call(
        worker,
        "/api/v1/grid/emergencies",
        {
            "kind": "crowd",
            "place": "中心广场",
            "description": "百余人聚集",
            "lat": jurisdiction.grid_b.centroid_lat,
            "lng": jurisdiction.grid_b.centroid_lng,
        },
    )
    assert made.status_code == 201, made.content
    assert made.json()["grid"] == jurisdiction.grid_b.code
    assert Event.objects.get(type="emergency.reported").org_code == jurisdiction.grid_b.code
    emergency = selectors.emergency_get(actor=users["commander"], pk=made.json()["id"])
    assigned = services.emergency_assign(
        actor=users["commander"], emergency=emergency, grid=jurisdiction.grid_b
    )
    assert (assigned.status, assigned.task.type, assigned.task.priority) == ("assigned", "emergency", 4)
    with pytest.raises(Forbidden):
        services.emergency_close(actor=users["grid_worker"], emergency=assigned, note="x")
    services.emergency_close(actor=users["commander"], emergency=assigned, note="已疏散")
    bad = call(worker, "/api/v1/grid/emergencies", {"kind": "alien", "place": "x", "description": "y"})
    assert (bad.status_code, bad.json()["field"]) == (400, "kind")


def test_instructions_make_one_task_per_grid(jurisdiction, users, api_client):
    commander = api_client(users["commander"])
    sent = call(
        commander,
        "/api/v1/grid/instructions",
        {"grids": [jurisdiction.grid_a.code, jurisdiction.grid_b.code], "text": "今日完成3号楼入户排查"},
    )
    assert sent.json() == {"tasks": 2}
    assert sorted(Task.objects.values_list("org_code", flat=True)) == [
        jurisdiction.grid_a.code,
        jurisdiction.grid_b.code,
    ]
    worker_list = api_client(users["grid_worker"]).get("/api/v1/grid/my-tasks").json()
    assert [t["title"] for t in worker_list] == ["今日完成3号楼入户排查"]
    empty = call(commander, "/api/v1/grid/instructions", {"grids": [], "text": "x"})
    assert empty.status_code == 400


def test_a_dispatched_task_with_a_retried_click_is_one_task(jurisdiction, users, api_client):
    dispatcher = api_client(users["community_officer"])
    body = {
        "type": "verify_report",
        "title": "核实举报",
        "grid": jurisdiction.grid_a.code,
        "client_id": str(uuid.uuid4()),
    }
    assert call(dispatcher, "/api/v1/grid/tasks", body).status_code == 201
    assert call(dispatcher, "/api/v1/grid/tasks", body).status_code == 200
    assert Task.objects.count() == 1
    assert (
        call(
            api_client(users["grid_worker"]), "/api/v1/grid/tasks", {**body, "client_id": str(uuid.uuid4())}
        ).status_code
        == 403
    )


def test_staffing_coverage_and_assessment(jurisdiction, users):
    leader_account = UserFactory(role=Role.GRID_LEADER, org_unit=jurisdiction.grid_a)
    services.grid_staff_assign(
        actor=users["community_officer"], grid=jurisdiction.grid_a, user=leader_account, role="leader"
    )
    with pytest.raises(Conflict):
        services.grid_staff_assign(actor=None, grid=jurisdiction.grid_a, user=leader_account, role="worker")
    coverage = {c.grid.code: c.missing for c in selectors.staffing_coverage(actor=users["district_admin"])}
    assert coverage == {jurisdiction.grid_a.code: ["worker"], jurisdiction.grid_b.code: ["leader", "worker"]}
    person = PersonFactory(grid=jurisdiction.grid_a)
    on_time = services.task_create(actor=None, spec=spec(person))
    late = services.task_create(actor=None, spec=spec(person, due_at=timezone.now() - dt.timedelta(hours=1)))
    worker = users["grid_worker"]
    services.task_act(actor=worker, task=on_time, action="done", result={"sampled": True})
    services.task_act(actor=worker, task=late, action="done", result={"sampled": True})
    today = timezone.localdate()
    [score] = selectors.assessment(
        actor=users["district_admin"], start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=2)
    )
    assert (score.key, score.done, score.on_time) == ("grid_worker", 2, 1)


def test_an_arrival_from_a_risk_area_is_screened_and_the_decision_acted_on(
    jurisdiction, users, django_capture_on_commit_callbacks
):
    """A resident declares an arrival from a high-risk region: a screening task for their grid; the worker
    finds symptoms and decides quarantine: the health code learns of the fever and the person is placed."""
    from epigrid.healthcode import services as healthcode
    from epigrid.healthcode.models import PersonFacts
    from epigrid.quarantine.models import Placement
    from epigrid.quarantine.tests.factories import hotel

    hotel(jurisdiction.grid_a)
    healthcode.risk_area_designate(
        actor=users["district_admin"],
        data=healthcode.RiskAreaInput(name="外地高风险区", level="high", kind="region", region_code="310101"),
    )
    traveller = PersonFactory(grid=jurisdiction.grid_a)
    account = UserFactory(role=Role.RESIDENT, person=traveller)
    with django_capture_on_commit_callbacks(execute=True):
        healthcode.travel_declare(
            actor=account,
            from_region_code="310101",
            from_place="上海",
            arrived_at=timezone.now() - dt.timedelta(hours=2),
            client_id=uuid.uuid4(),
        )
    task = Task.objects.get(type="screen_arrival", subject_person=traveller)
    assert task.org_code == jurisdiction.grid_a.code
    with django_capture_on_commit_callbacks(execute=True):
        services.task_act(
            actor=users["grid_worker"],
            task=task,
            action="done",
            result={
                "residence": "黄河路1号",
                "health": "symptoms",
                "test_status": "none",
                "decision": "quarantine",
            },
        )
    assert PersonFacts.objects.get(person=traveller).fever_at is not None
    assert Placement.objects.get(person=traveller).site.kind == "centralised"


def test_the_phones_list_shows_people_masked(jurisdiction, users, api_client):
    person = PersonFactory(grid=jurisdiction.grid_a)
    services.task_create(actor=None, spec=spec(person))
    [row] = api_client(users["grid_worker"]).get("/api/v1/grid/my-tasks").json()
    assert row["person"]["name"] == person.name_masked != person.name
    assert row["person"]["id_number"] == person.id_number_masked
    assert person.id_number not in json.dumps(row) and person.phone not in json.dumps(row)
