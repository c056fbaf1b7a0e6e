"""Grid management API: task lists (the phone app's included), acting on a task, offline sync, dispatch by
hand, instructions, staffing coverage, emergencies."""

from __future__ import annotations

import base64
import binascii
import json
import uuid

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Status

from epigrid.core.errors import DomainError
from epigrid.core.models import OrgLevel, OrgUnit
from epigrid.core.schemas import ErrorOut, PersonMasked
from epigrid.grids import selectors, services, tasktypes
from epigrid.grids.models import Task
from epigrid.grids.schemas import (
    ActIn,
    EmergencyIn,
    EmergencyOut,
    InstructionIn,
    SyncItemIn,
    SyncOut,
    TaskIn,
    TaskOut,
)

router = Router(tags=["grids"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
MAX_PHOTO_B64 = 11 * 1024 * 1024  # ~8 MB of image


def task_out(task: Task, distance: float | None = None) -> dict:
    person = task.subject_person if task.subject_person_id else None
    return {
        "id": task.pk,
        "type": task.type,
        "title": task.title,
        "subject": task.subject_text,
        "person": PersonMasked.from_orm(person).dict() if person else None,
        "grid": task.org_code,
        "priority": task.priority,
        "due_at": task.due_at,
        "state": task.state,
        "version": task.version,
        "escalation": task.escalation,
        "lat": task.lat,
        "lng": task.lng,
        "params": task.params,
        "result": task.result,
        "distance_m": round(distance) if distance is not None else None,
    }


def _photo(data: str | None) -> bytes | None:
    if not data:
        return None
    if len(data) > MAX_PHOTO_B64:
        raise DomainError(_("The photo is larger than 8 MB."), field="photo")
    try:
        return base64.b64decode(data.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(_("The photo is not valid base64."), field="photo") from None


@router.get("grid/tasks", response=list[TaskOut])
def task_list(
    request: HttpRequest,
    state: str = "open",
    type: str = "",
    grid: str = "",
    limit: int = 500,
    offset: int = 0,
):
    rows = selectors.task_list(actor=request.user, state=state, type=type, grid_code=grid)
    return [task_out(t) for t in rows[offset : offset + min(limit, 5000)]]


@router.get("grid/my-tasks", response=list[TaskOut])
def my_tasks(request: HttpRequest, lat: float | None = None, lng: float | None = None):
    """The phone's list: today's work first, nearest first when the phone gives its position."""
    rows = selectors.worker_tasks(actor=request.user, lat=lat, lng=lng)
    people = selectors.masked_people({t.subject_person_id for t, _d in rows if t.subject_person_id})
    body = [
        {
            "id": task.pk,
            "type": task.type,
            "title": task.title,
            "subject": task.subject_text,
            "person": people.get(task.subject_person_id),
            "grid": task.org_code,
            "priority": task.priority,
            "due_at": task.due_at.isoformat(),
            "state": task.state,
            "version": task.version,
            "escalation": task.escalation,
            "lat": task.lat,
            "lng": task.lng,
            "params": task.params,
            "result": task.result,
            "distance_m": round(distance) if distance is not None else None,
        }
        for task, distance in rows
    ]
    # Built here and serialised once: the phone polls this list, and validating 500 rows again through
    # the response schema cost 40 % of the request (docs/benchmarks.md, tasks).
    return HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/json")


@router.get("grid/task-types", response=dict)
def task_types(request: HttpRequest):
    """The result form of every task type (the phone app draws its forms from this)."""
    return {
        name: {
            "photo_required": spec.photo_required,
            "fields": [
                {
                    "name": f.name,
                    "label": str(f.label),
                    "kind": f.kind,
                    "required": f.required,
                    "choices": [[value, str(label)] for value, label in f.choices],
                }
                for f in spec.fields
            ],
        }
        for name, spec in tasktypes.SPECS.items()
    }


@router.get("grid/tasks/{task_id}", response={200: TaskOut, **ERRORS})
def task_detail(request: HttpRequest, task_id: int):
    return task_out(selectors.task_get(actor=request.user, pk=task_id))


@router.post("grid/tasks/{task_id}/{action}", response={200: TaskOut, **ERRORS})
def task_act(request: HttpRequest, task_id: int, action: str, payload: ActIn):
    """accept | start | done (with ``result`` and evidence) | cannot (with ``reason``)."""
    task = selectors.task_get(actor=request.user, pk=task_id)
    done = services.task_act(
        actor=request.user,
        task=task,
        action=action,
        result=payload.result,
        reason=payload.reason,
        photo=_photo(payload.photo_base64),
        lat=payload.lat,
        lng=payload.lng,
        at=payload.at,
        base_version=payload.base_version,
    )
    return task_out(done)


@router.post("grid/sync", response={200: list[SyncOut], **ERRORS})
def sync(request: HttpRequest, payload: list[SyncItemIn]):
    """Changes queued on a phone while offline, each applied once; conflicts and refusals are reported per
    item and the rest still apply."""
    items = []
    bad: list[dict] = []
    for item in payload[:500]:
        try:
            photo = _photo(item.photo_base64)
        except DomainError as exc:
            bad.append(
                {
                    "client_id": item.client_id,
                    "task_id": item.task_id,
                    "outcome": "rejected",
                    "message": exc.message,
                    "state": "",
                    "version": 0,
                }
            )
            continue
        items.append(
            services.SyncItem(
                item.client_id,
                item.task_id,
                item.action,
                item.at,
                item.base_version,
                item.result,
                item.reason,
                photo,
                item.lat,
                item.lng,
            )
        )
    results = services.tasks_sync(actor=request.user, items=items)
    return bad + [r.__dict__ for r in results]


@router.post("grid/tasks", response={201: TaskOut, 200: TaskOut, **ERRORS})
def task_dispatch(request: HttpRequest, payload: TaskIn):
    """A task created by hand (a dispatcher's click; ``client_id`` makes a retried click one task)."""
    try:
        key = f"manual:{uuid.UUID(payload.client_id)}"
    except ValueError:
        raise DomainError(_("client_id must be a UUID."), field="client_id") from None
    existed = Task.objects.filter(dedupe_key=key).exists()
    grid = OrgUnit.objects.filter(code=payload.grid, level=OrgLevel.GRID).first() if payload.grid else None
    task = services.task_create(
        actor=request.user,
        spec=services.TaskSpec(
            payload.type,
            payload.title,
            key,
            person_id=payload.person_id,
            venue_id=payload.venue_id,
            grid_id=grid.pk if grid else None,
            subject_text=payload.subject_text,
            due_at=payload.due_at,
            priority=payload.priority,
            source="manual",
        ),
    )
    return Status(200 if existed else 201, task_out(task))


@router.post("grid/instructions", response={201: dict, **ERRORS})
def instruction(request: HttpRequest, payload: InstructionIn):
    grids = list(OrgUnit.objects.filter(code__in=payload.grids, level=OrgLevel.GRID))
    count = services.instruction_send(
        actor=request.user, grids=grids, text=payload.text, due_at=payload.due_at
    )
    return Status(201, {"tasks": count})


def emergency_out(e) -> dict:
    return {
        "id": e.pk,
        "kind": e.kind,
        "place": e.place,
        "status": e.status,
        "grid": e.org_code if e.grid_id else None,
        "task_id": e.task_id,
        "created_at": e.created_at,
    }


@router.post("grid/emergencies", response={201: EmergencyOut, **ERRORS})
def emergency_report(request: HttpRequest, payload: EmergencyIn):
    made = services.emergency_report(
        actor=request.user,
        kind=payload.kind,
        place=payload.place,
        description=payload.description,
        lat=payload.lat,
        lng=payload.lng,
        photo=_photo(payload.photo_base64),
    )
    return Status(201, emergency_out(made))


@router.get("grid/emergencies", response=list[EmergencyOut])
def emergency_list(request: HttpRequest, open_only: bool = True):
    return [emergency_out(e) for e in selectors.emergency_list(actor=request.user, open_only=open_only)[:500]]
