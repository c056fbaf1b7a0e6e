"""One-click instructions: one grid task per grid, progress read off the tasks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.command.models import Instruction
from epigrid.command.services.instructions import instruction_issue
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import Event
from epigrid.grids.models import Task

TEXT = "今天对3号楼开展入户排查"


def test_an_instruction_to_two_grids_is_two_tasks_and_its_progress_follows_them(
    jurisdiction, users, api_client
):
    commander = api_client(users["commander"])
    grid_ids = [jurisdiction.grid_a.pk, jurisdiction.grid_b.pk]
    response = commander.post(
        "/api/v1/instructions", {"grid_ids": grid_ids, "text": TEXT}, content_type="application/json"
    )
    assert response.status_code == 201
    sent = response.json()
    assert sent["total"] == 2 and sent["accepted"] == 0 and sent["done"] == 0
    assert {g["state"] for g in sent["grids"]} == {"new"}
    instruction = Instruction.objects.get()
    assert instruction.org_code == jurisdiction.district.code
    tasks = Task.objects.filter(source_ref=instruction.ref)
    assert sorted(tasks.values_list("grid_id", flat=True)) == sorted(grid_ids)
    assert Event.objects.filter(type="instruction.sent").get().payload["count"] == 2

    # The grid worker of grid A sees the task in the phone app's list, accepts it and finishes it.
    worker = api_client(users["grid_worker"])
    mine = worker.get("/api/v1/grid/tasks").json()
    task = next(t for t in mine if t["params"].get("text") == TEXT)
    for action in ("accept", "done"):
        acted = worker.post(
            f"/api/v1/grid/tasks/{task['id']}/{action}",
            {"base_version": task["version"], "result": {"note": "已完成"}},
            content_type="application/json",
        )
        assert acted.status_code == 200, acted.content
        task = acted.json()
    progress = commander.get(f"/api/v1/instructions/{sent['id']}").json()
    assert progress["accepted"] == 1 and progress["done"] == 1
    states = {g["grid_id"]: g["state"] for g in progress["grids"]}
    assert states == {jurisdiction.grid_a.pk: "done", jurisdiction.grid_b.pk: "new"}
    # The map follows the tasks live: accepting and finishing are events carrying the instruction's ref.
    kinds = Event.objects.filter(payload__source_ref=instruction.ref).values_list("type", flat=True)
    assert {"task.accepted", "task.done"} <= set(kinds)


def test_a_community_officer_instructs_only_their_own_grids(jurisdiction, users, api_client):
    officer = api_client(users["community_officer"])
    response = officer.post(
        "/api/v1/instructions",
        {"grid_ids": [jurisdiction.grid_a.pk, jurisdiction.grid_b.pk], "text": TEXT},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert str(jurisdiction.grid_b.pk) in response.json()["detail"]
    assert not Instruction.objects.exists() and not Task.objects.exists()
    ok = officer.post(
        "/api/v1/instructions",
        {"grid_ids": [jurisdiction.grid_a.pk], "text": TEXT},
        content_type="application/json",
    )
    assert ok.status_code == 201
    # The officer's list holds it; the other community's officer would not see it.
    assert [row["id"] for row in officer.get("/api/v1/instructions").json()] == [ok.json()["id"]]


def test_bad_instructions_are_refused_and_write_nothing(jurisdiction, users):
    commander = users["commander"]
    with pytest.raises(DomainError, match="Write the instruction"):
        instruction_issue(actor=commander, grids=[jurisdiction.grid_a], text="   ")
    with pytest.raises(DomainError, match="Choose at least one grid"):
        instruction_issue(actor=commander, grids=[jurisdiction.community_a], text=TEXT)
    with pytest.raises(DomainError, match="due time has passed"):
        instruction_issue(
            actor=commander,
            grids=[jurisdiction.grid_a],
            text=TEXT,
            due_at=timezone.now() - dt.timedelta(hours=1),
        )
    with pytest.raises(Forbidden):
        instruction_issue(actor=users["epidemiologist"], grids=[jurisdiction.grid_a], text=TEXT)
    assert not Instruction.objects.exists() and not Task.objects.exists()


def test_the_grid_api_instruction_endpoint_checks_role_and_area(jurisdiction, users, api_client):
    worker = api_client(users["grid_worker"])
    body = {"grids": [jurisdiction.grid_a.code], "text": TEXT}
    assert worker.post("/api/v1/grid/instructions", body, content_type="application/json").status_code == 403
    officer = api_client(users["community_officer"])
    body = {"grids": [jurisdiction.grid_b.code], "text": TEXT}
    assert officer.post("/api/v1/grid/instructions", body, content_type="application/json").status_code == 403
    assert not Task.objects.exists()
