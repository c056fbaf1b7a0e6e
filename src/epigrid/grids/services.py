"""Writes of grid management: staffing, sentinel points, tasks (created alone or by the ten thousand from an
event burst, routed to the subject's grid), their life cycle on the phone (also offline, replayed later),
escalation when overdue, patrols, emergencies and instructions.

Every change of a task bumps its ``version``. A phone that worked offline sends each change with the version
it saw and a client UUID: a change already received is answered as before (nothing applied twice); a change
to a task that moved on meanwhile (done by someone else, cancelled) is reported as a conflict, not applied.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events, geo
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import IdentityError, normalize_phone
from epigrid.core.images import photo_jpeg
from epigrid.core.masking import mask_phone
from epigrid.core.models import Household, OrgLevel, OrgUnit, Person, User
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code, general_rule
from epigrid.grids import tasktypes
from epigrid.grids.models import (
    OPEN_STATES,
    Emergency,
    EmergencyStatus,
    GridAssignment,
    PatrolRoute,
    Priority,
    SentinelPoint,
    SyncOutcome,
    Task,
    TaskState,
    TaskType,
    TaskUpdate,
)
from epigrid.places.models import Venue


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def _actor(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


# --- staffing and sentinel points --------------------------------------------------------------------------


def grid_staff_assign(*, actor: User | None, grid: OrgUnit, user: User, role: str) -> GridAssignment:
    _require(actor, Perm.GRID_MANAGE)
    if grid.level != OrgLevel.GRID:
        raise DomainError(_("Staff are assigned to grids."), field="grid")
    if actor is not None and not in_scope_code(actor, grid.code):
        raise Forbidden(_("This grid is outside your jurisdiction."))
    if not (has_perm(user, Perm.TASK_WORK) and in_scope_code(user, grid.code)):
        # The account must see the grid's tasks: a grid role whose org unit is this grid or above it.
        raise DomainError(_("This account cannot work in this grid (role or org unit)."), field="user")
    from epigrid.grids.models import GridRole

    if role not in GridRole.values:
        raise DomainError(_("Unknown grid role."), field="role")
    try:
        with transaction.atomic():
            made = GridAssignment.objects.create(grid=grid, user=user, org_code=grid.code, role=role)
            audit_record(
                actor=actor,
                action="grid.staff_assign",
                obj=made,
                detail={"user": user.username, "role": role},
            )
    except IntegrityError:
        raise Conflict(_("This account is already on the staff of this grid.")) from None
    return made


def grid_staff_remove(*, actor: User | None, assignment: GridAssignment) -> None:
    _require(actor, Perm.GRID_MANAGE)
    with transaction.atomic():
        GridAssignment.objects.filter(pk=assignment.pk).update(active=False)
        audit_record(actor=actor, action="grid.staff_remove", obj=assignment)


def sentinel_create(
    *,
    actor: User | None,
    kind: str,
    name: str,
    unit: OrgUnit,
    responsible_name: str,
    responsible_phone: str = "",
    checklist: list[str] | None = None,
    venue: Venue | None = None,
) -> SentinelPoint:
    from epigrid.grids.models import SentinelKind

    _require(actor, Perm.GRID_MANAGE)
    if kind not in SentinelKind.values:
        raise DomainError(_("Unknown kind of sentinel point."), field="kind")
    if not (name or "").strip() or not (responsible_name or "").strip():
        raise DomainError(_("Name the point and its responsible person."), field="name")
    try:
        phone = normalize_phone(responsible_phone) if responsible_phone else ""
    except IdentityError as exc:
        raise DomainError(str(exc), field="responsible_phone") from None
    with transaction.atomic():
        point = SentinelPoint.objects.create(
            kind=kind,
            name=name.strip()[:120],
            unit=unit,
            org_code=unit.code,
            venue=venue,
            responsible_name=responsible_name.strip()[:50],
            responsible_phone=phone,
            responsible_phone_masked=mask_phone(phone) if phone else "",
            checklist=[str(item).strip() for item in (checklist or []) if str(item).strip()],
        )
        audit_record(actor=actor, action="grid.sentinel_create", obj=point)
    return point


# --- creating and routing tasks ------------------------------------------------------------------------------


@dataclass
class TaskSpec:
    """A task to create. ``dedupe_key`` identifies it across replays (e.g. ``recall:<tube>:<person>``)."""

    type: str
    title: str
    dedupe_key: str
    person_id: int | None = None
    venue_id: int | None = None
    household_id: int | None = None
    grid_id: int | None = None
    lat: float | None = None
    lng: float | None = None
    subject_text: str = ""
    due_at: dt.datetime | None = None
    priority: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    source_ref: str = ""


def _route(specs: list[TaskSpec]) -> dict[int, tuple[int | None, str]]:
    """Each spec's grid (id, code): its person's grid, else the venue's, the household's, the point's on the
    map, or the one given; unrouted tasks go to the district (its staff dispatch them by hand)."""
    grids = dict(OrgUnit.objects.filter(level=OrgLevel.GRID).values_list("pk", "code"))
    people = dict(
        Person.objects.filter(pk__in={s.person_id for s in specs if s.person_id}).values_list("pk", "grid_id")
    )
    venues = dict(
        Venue.objects.filter(pk__in={s.venue_id for s in specs if s.venue_id}).values_list("pk", "grid_id")
    )
    homes = dict(
        Household.objects.filter(pk__in={s.household_id for s in specs if s.household_id}).values_list(
            "pk", "grid_id"
        )
    )
    located = geo.locate_many([(s.lat, s.lng) for s in specs if s.lat is not None and s.lng is not None])
    where = iter(located)
    district = district_code()
    routed: dict[int, tuple[int | None, str]] = {}
    for i, spec in enumerate(specs):
        grid_id = (
            people.get(spec.person_id)
            or venues.get(spec.venue_id)
            or homes.get(spec.household_id)
            or (next(where) if spec.lat is not None and spec.lng is not None else None)
            or spec.grid_id
        )
        routed[i] = (grid_id, grids.get(grid_id, district)) if grid_id in grids else (None, district)
    return routed


def tasks_create_many(*, actor: User | None, specs: list[TaskSpec]) -> int:
    """Create tasks at once, routed to their grids; a task whose ``dedupe_key`` exists is not made again.
    Returns how many were new. One transaction, one audit entry, one ``tasks.created`` event per grid."""
    if (
        actor is not None
        and not has_perm(actor, Perm.GRID_MANAGE)
        and not has_perm(actor, Perm.TASK_DISPATCH)
    ):
        raise Forbidden(_("Your role may not do this."))
    known = set(TaskType.values)
    for spec in specs:
        if spec.type not in known:
            raise DomainError(_("Unknown task type %(t)s.") % {"t": spec.type}, field="type")
    if not specs:
        return 0
    now = timezone.now()
    keys = [s.dedupe_key for s in specs]
    existing: set[str] = set()
    for start in range(0, len(keys), 5000):
        existing.update(
            Task.objects.filter(dedupe_key__in=keys[start : start + 5000]).values_list(
                "dedupe_key", flat=True
            )
        )
    fresh = []
    seen: set[str] = set()
    for spec in specs:
        if spec.dedupe_key in existing or spec.dedupe_key in seen:
            continue
        seen.add(spec.dedupe_key)
        fresh.append(spec)
    routes = _route(fresh)
    made = []
    for i, spec in enumerate(fresh):
        rules = tasktypes.spec(spec.type)
        grid_id, code = routes[i]
        made.append(
            Task(
                type=spec.type,
                title=spec.title[:200],
                subject_person_id=spec.person_id,
                subject_venue_id=spec.venue_id,
                subject_household_id=spec.household_id,
                subject_text=spec.subject_text[:200],
                params=spec.params,
                lat=spec.lat,
                lng=spec.lng,
                grid_id=grid_id,
                org_code=code,
                priority=spec.priority or rules.priority,
                due_at=spec.due_at or now + dt.timedelta(hours=rules.hours),
                source=spec.source[:40],
                source_ref=spec.source_ref[:60],
                dedupe_key=spec.dedupe_key[:120],
                created_by=_actor(actor),
            )
        )
    with transaction.atomic():
        _insert_tasks(made, now)
        per_grid: dict[str, list[int]] = {}  # grid code -> [tasks, urgent ones], counted in one pass
        for task in made:
            counts = per_grid.setdefault(task.org_code, [0, 0])
            counts[0] += 1
            counts[1] += task.priority >= Priority.URGENT
        events.publish_many(
            "tasks.created",
            [({"count": n, "urgent": urgent}, code) for code, (n, urgent) in sorted(per_grid.items())],
        )
        audit_record(
            actor=actor, action="grid.tasks_create", detail={"count": len(made), "grids": len(per_grid)}
        )
    return len(made)


_INSERT_FIELDS = (
    "type",
    "title",
    "subject_person",
    "subject_venue",
    "subject_household",
    "subject_text",
    "params",
    "lat",
    "lng",
    "grid",
    "org_code",
    "priority",
    "due_at",
    "state",
    "escalation",
    "result",
    "cannot_reason",
    "source",
    "source_ref",
    "dedupe_key",
    "version",
    "created_by",
    "created_at",
    "updated_at",
)


def _insert_tasks(tasks: list[Task], now: dt.datetime) -> None:
    """One prepared ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` executed for every row: bulk_create
    compiles SQL per row, 70 % of a 50,000-task burst (docs/benchmarks.md, tasks). A concurrent burst
    with the same keys loses nothing and duplicates nothing."""
    meta, ops = Task._meta, connection.ops
    fields = [meta.get_field(name) for name in _INSERT_FIELDS]
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608 - our own names
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({ops.quote_name('dedupe_key')}) DO NOTHING"
    )
    stamp = ops.adapt_datetimefield_value(now)
    empty = ops.adapt_json_value({}, None)
    rows = []
    for t in tasks:
        rows.append(
            (
                t.type,
                t.title,
                t.subject_person_id,
                t.subject_venue_id,
                t.subject_household_id,
                t.subject_text,
                ops.adapt_json_value(t.params, None) if t.params else empty,
                t.lat,
                t.lng,
                t.grid_id,
                t.org_code,
                t.priority,
                ops.adapt_datetimefield_value(t.due_at),
                TaskState.NEW,
                0,
                empty,
                "",
                t.source,
                t.source_ref,
                t.dedupe_key,
                1,
                t.created_by_id,
                stamp,
                stamp,
            )
        )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


def task_create(*, actor: User | None, spec: TaskSpec) -> Task:
    tasks_create_many(actor=actor, specs=[spec])
    return Task.objects.get(dedupe_key=spec.dedupe_key)


def instruction_send(
    *,
    actor: User | None,
    grids: Iterable[OrgUnit],
    text: str,
    due_at: dt.datetime | None = None,
    ref: str | None = None,
) -> int:
    """The command center's one click: the same instruction as one task per grid, all with ``source_ref``
    ``ref`` (the command center's ``Instruction.ref``, so that it can follow them)."""
    if actor is not None and not has_perm(actor, Perm.TASK_DISPATCH):
        raise Forbidden(_("Your role may not send instructions to grids."))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the instruction."), field="text")
    if len(text) > 2000:
        raise DomainError(_("An instruction has at most %(n)s characters.") % {"n": 2000}, field="text")
    if due_at is not None and due_at <= timezone.now():
        raise DomainError(_("The due time has passed already."), field="due_at")
    grids = [grid for grid in grids if grid.level == OrgLevel.GRID]
    outside = sorted(grid.name for grid in grids if actor is not None and not in_scope_code(actor, grid.code))
    if outside:
        raise Forbidden(_("Not in your area: %(grids)s") % {"grids": ", ".join(outside)})
    ref = ref or uuid.uuid4().hex[:12]
    specs = [
        TaskSpec(
            TaskType.INSTRUCTION,
            text[:200],
            f"instruction:{ref}:{grid.pk}",
            grid_id=grid.pk,
            params={"text": text[:2000]},
            due_at=due_at,
            source="instruction",
            source_ref=ref,
        )
        for grid in grids
    ]
    if not specs:
        raise DomainError(_("Choose at least one grid."), field="grids")
    return tasks_create_many(actor=actor, specs=specs)


# --- the life of a task ----------------------------------------------------------------------------------------

ACTIONS = ("accept", "start", "done", "cannot")
_FROM = {
    "accept": (TaskState.NEW,),
    "start": (TaskState.NEW, TaskState.ACCEPTED),
    "done": OPEN_STATES,
    "cannot": OPEN_STATES,
}


def _may_work(actor: User | None, task: Task) -> None:
    if actor is None:
        return
    if not has_perm(actor, Perm.TASK_WORK) or not in_scope_code(actor, task.org_code):
        raise Forbidden(_("This task is not in your grid."))


def _photo(data: bytes | None) -> bytes | None:
    if not data:
        return None
    return photo_jpeg(data)


def task_act(
    *,
    actor: User | None,
    task: Task,
    action: str,
    result: dict[str, Any] | None = None,
    reason: str = "",
    photo: bytes | None = None,
    lat: float | None = None,
    lng: float | None = None,
    at: dt.datetime | None = None,
    base_version: int | None = None,
) -> Task:
    """Accept, start, finish (with the type's result form and evidence) or decline (with a reason) a task.
    ``base_version``: the version the worker saw; a task that changed since is a Conflict."""
    _may_work(actor, task)
    if action not in ACTIONS:
        raise DomainError(_("Unknown action."), field="action")
    now = timezone.now()
    at = min(at or now, now)
    rules = tasktypes.spec(task.type)
    clean: dict[str, Any] = {}
    if action == "done":
        clean = tasktypes.clean_result(task.type, result or {}, checklist=task.params.get("checklist"))
        if rules.photo_required and not photo and not task.evidence_photo:
            raise DomainError(_("Take a photo as evidence."), field="photo")
    if action == "cannot" and not (reason or "").strip():
        raise DomainError(_("Say why the task cannot be done."), field="reason")
    jpeg = _photo(photo)
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        if (
            base_version is not None
            and base_version != current.version
            and current.state not in _FROM[action]
        ):
            raise Conflict(
                _("The task changed meanwhile (now: %(state)s).") % {"state": current.get_state_display()}
            )
        if current.state not in _FROM[action]:
            if current.state == TaskState.DONE and action == "done":
                raise Conflict(_("The task was already done."))
            raise Conflict(
                _("The task is %(state)s; it cannot be changed that way.")
                % {"state": current.get_state_display()}
            )
        fields = ["state", "version", "updated_at"]
        current.version += 1
        if action == "accept":
            current.state, current.accepted_at = TaskState.ACCEPTED, at
            current.assignee = current.assignee or _actor(actor)
            fields += ["accepted_at", "assignee"]
        elif action == "start":
            current.state, current.started_at = TaskState.IN_PROGRESS, at
            current.assignee = current.assignee or _actor(actor)
            fields += ["started_at", "assignee"]
        else:
            current.state = TaskState.DONE if action == "done" else TaskState.CANNOT
            current.finished_at, current.finished_by = at, _actor(actor)
            current.result = clean
            current.cannot_reason = (reason or "").strip()[:300] if action == "cannot" else ""
            fields += ["finished_at", "finished_by", "result", "cannot_reason"]
            if jpeg:
                current.evidence_photo = jpeg
                fields.append("evidence_photo")
            if lat is not None and lng is not None:
                current.evidence_lat, current.evidence_lng, current.evidence_at = lat, lng, at
                fields += ["evidence_lat", "evidence_lng", "evidence_at"]
        current.save(update_fields=fields)
        audit_record(actor=actor, action=f"grid.task_{action}", obj=current)
        if action in ("done", "cannot"):
            events.publish(
                f"task.{action}",
                payload={
                    "task_id": current.pk,
                    "type": current.type,
                    "state": current.state,
                    "source": current.source,
                    "source_ref": current.source_ref,
                    "person_id": current.subject_person_id,
                    "venue_id": current.subject_venue_id,
                    "result": current.result,
                    "params": current.params,
                    "reason": current.cannot_reason,
                    "at": at.isoformat(),
                },
                org_code=current.org_code,
            )
            if action == "done" and current.type == TaskType.PATROL:
                _rectifications(current, actor)
        else:
            # Accepting and starting: the command center follows its instructions' progress live.
            events.publish(
                f"task.{'accepted' if action == 'accept' else 'started'}",
                payload={
                    "task_id": current.pk,
                    "type": current.type,
                    "state": current.state,
                    "source": current.source,
                    "source_ref": current.source_ref,
                },
                org_code=current.org_code,
            )
    return current


def _rectifications(task: Task, actor: User | None) -> None:
    """Each checklist item a patrol found a problem with becomes a rectification task for the same grid."""
    problems = [item for item, verdict in task.result.get("items", {}).items() if verdict == "problem"]
    specs = [
        TaskSpec(
            TaskType.RECTIFY,
            _("Rectify: %(item)s") % {"item": item},
            f"rectify:{task.pk}:{item}"[:120],
            venue_id=task.subject_venue_id,
            grid_id=task.grid_id,
            subject_text=task.subject_text,
            params={"item": item, "patrol_task": task.pk},
            source="patrol",
            source_ref=str(task.pk),
        )
        for item in problems
    ]
    if specs:
        tasks_create_many(actor=None, specs=specs)


def task_assign(*, actor: User | None, task: Task, assignee: User) -> Task:
    _require(actor, Perm.GRID_MANAGE)
    if not in_scope_code(assignee, task.org_code) or not has_perm(assignee, Perm.TASK_WORK):
        raise DomainError(_("Assign the task to a worker of its grid."), field="assignee")
    with transaction.atomic():
        Task.objects.filter(pk=task.pk).update(
            assignee=assignee, version=F("version") + 1, updated_at=timezone.now()
        )
        audit_record(actor=actor, action="grid.task_assign", obj=task, detail={"assignee": assignee.username})
    task.refresh_from_db()
    return task


def task_cancel(*, actor: User | None, task: Task, reason: str) -> Task:
    _require(actor, Perm.GRID_MANAGE)
    if not (reason or "").strip():
        raise DomainError(_("Say why the task is cancelled."), field="reason")
    with transaction.atomic():
        changed = Task.objects.filter(pk=task.pk, state__in=OPEN_STATES).update(
            state=TaskState.CANCELLED,
            cannot_reason=reason.strip()[:300],
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        if not changed:
            raise Conflict(_("Only open tasks can be cancelled."))
        audit_record(actor=actor, action="grid.task_cancel", obj=task, detail={"reason": reason[:200]})
    task.refresh_from_db()
    return task


# --- offline sync ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncItem:
    client_id: str
    task_id: int
    action: str
    at: dt.datetime | None = None
    base_version: int | None = None
    result: dict[str, Any] | None = None
    reason: str = ""
    photo: bytes | None = None
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True)
class SyncResult:
    client_id: str
    task_id: int
    outcome: str  # applied | duplicate | conflict | rejected
    message: str = ""
    state: str = ""
    version: int = 0


def tasks_sync(*, actor: User, items: list[SyncItem]) -> list[SyncResult]:
    """Apply the changes a phone queued offline, each once: a client id seen before answers as it did; a
    change that no longer fits the task is a conflict (kept, reported, not applied); a bad form is rejected
    with its message. Each item stands alone — one bad change does not hold back the others."""
    results: list[SyncResult] = []
    for item in items:
        try:
            client = uuid.UUID(str(item.client_id))
        except ValueError:
            results.append(
                SyncResult(str(item.client_id), item.task_id, "rejected", _("client_id must be a UUID."))
            )
            continue
        seen = TaskUpdate.objects.filter(client_id=client).select_related("task").first()
        if seen is not None:
            results.append(
                SyncResult(
                    str(client), seen.task_id, "duplicate", seen.message, seen.task.state, seen.task.version
                )
            )
            continue
        task = Task.objects.filter(pk=item.task_id).first()
        if task is None or not in_scope_code(actor, task.org_code):
            results.append(SyncResult(str(client), item.task_id, "rejected", _("No such task in your grid.")))
            continue
        outcome, message = SyncOutcome.APPLIED, ""
        try:
            task = task_act(
                actor=actor,
                task=task,
                action=item.action,
                result=item.result,
                reason=item.reason,
                photo=item.photo,
                lat=item.lat,
                lng=item.lng,
                at=item.at,
                base_version=item.base_version,
            )
        except Conflict as exc:
            outcome, message = SyncOutcome.CONFLICT, exc.message
        except (DomainError, Forbidden) as exc:
            outcome, message = SyncOutcome.REJECTED, exc.message
        task.refresh_from_db()
        try:
            with transaction.atomic():
                TaskUpdate.objects.create(
                    client_id=client,
                    task=task,
                    org_code=task.org_code,
                    user=actor,
                    action=item.action[:10],
                    at=item.at or timezone.now(),
                    base_version=item.base_version,
                    outcome=outcome,
                    message=message[:300],
                )
        except IntegrityError:  # the same upload raced in twice; the first one answered
            outcome = "duplicate"
        results.append(SyncResult(str(client), task.pk, outcome, message, task.state, task.version))
    return results


# --- escalation -----------------------------------------------------------------------------------------------


def tasks_escalate(*, now: dt.datetime | None = None) -> int:
    """Overdue open tasks go up: to the grid leader when due has passed, to the community after another
    ``grid_escalation_hours`` (general rule, 4). ``task.escalated`` per task tells them."""
    now = now or timezone.now()
    step = dt.timedelta(hours=float(general_rule("grid_escalation_hours", 4)))
    moved = 0
    with transaction.atomic():
        for level, due_before in ((1, now), (2, now - step)):
            qs = Task.objects.filter(state__in=OPEN_STATES, escalation=level - 1, due_at__lt=due_before)
            if level == 2:
                qs = qs.filter(escalated_at__lt=now - step)
            items = list(qs.values_list("pk", "org_code", "type", "due_at")[:10_000])
            if not items:
                continue
            Task.objects.filter(pk__in=[pk for pk, *_rest in items]).update(
                escalation=level, escalated_at=now, version=F("version") + 1
            )
            events.publish_many(
                "task.escalated",
                [
                    (
                        {"task_id": pk, "level": level, "type": task_type, "due_at": due.isoformat()},
                        code if level == 1 else code[:12],
                    )
                    for pk, code, task_type, due in items
                ],
            )
            moved += len(items)
        if moved:
            audit_record(actor=None, action="grid.tasks_escalate", detail={"count": moved})
    return moved


# --- patrols and emergencies -------------------------------------------------------------------------------------


def patrol_route_create(
    *,
    actor: User | None,
    name: str,
    grid: OrgUnit,
    venues: list[Venue],
    checklist: list[str],
    weekdays: list[int],
) -> PatrolRoute:
    _require(actor, Perm.GRID_MANAGE)
    checklist = [str(c).strip() for c in checklist if str(c).strip()]
    if not (name or "").strip() or not venues or not checklist:
        raise DomainError(_("A patrol route needs a name, places and a checklist."), field="name")
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise DomainError(_("Choose the weekdays of the patrol."), field="weekdays")
    with transaction.atomic():
        route = PatrolRoute.objects.create(
            name=name.strip()[:120],
            grid=grid,
            org_code=grid.code,
            checklist=checklist,
            weekdays=sorted(set(weekdays)),
        )
        route.venues.set(venues)
        audit_record(actor=actor, action="grid.patrol_route_create", obj=route)
    return route


def patrols_generate(*, day: dt.date | None = None) -> int:
    """Morning job: one patrol task per place of every route scheduled today (once, whatever reruns)."""
    day = day or timezone.localdate()
    due = timezone.make_aware(dt.datetime.combine(day, dt.time(18, 0)))
    specs = []
    for route in PatrolRoute.objects.filter(active=True).prefetch_related("venues"):
        if day.weekday() not in route.weekdays:
            continue
        for venue in route.venues.all():
            specs.append(
                TaskSpec(
                    TaskType.PATROL,
                    _("Patrol: %(place)s") % {"place": venue.name},
                    f"patrol:{route.pk}:{venue.pk}:{day.isoformat()}",
                    venue_id=venue.pk,
                    grid_id=route.grid_id,
                    subject_text=venue.name,
                    lat=venue.lat,
                    lng=venue.lng,
                    due_at=due,
                    params={"checklist": route.checklist, "route": route.pk},
                    source="patrol",
                    source_ref=str(route.pk),
                )
            )
    return tasks_create_many(actor=None, specs=specs)


def emergency_report(
    *,
    actor: User,
    kind: str,
    place: str,
    description: str,
    lat: float | None = None,
    lng: float | None = None,
    photo: bytes | None = None,
) -> Emergency:
    """Any staff member reports an emergency; it is an alarm for the command center at once."""
    from epigrid.grids.models import EmergencyKind

    if not is_staff_role(getattr(actor, "role", "")):
        raise Forbidden(_("Your role may not do this."))
    if kind not in EmergencyKind.values:
        raise DomainError(_("Unknown kind of emergency."), field="kind")
    if not (place or "").strip() or not (description or "").strip():
        raise DomainError(_("Say where and what happened."), field="description")
    grid_id = geo.locate_grid_id(lat, lng) if lat is not None and lng is not None else None
    grid = OrgUnit.objects.filter(pk=grid_id).first() if grid_id else None
    org_code = grid.code if grid else (actor.org_code or district_code())
    with transaction.atomic():
        emergency = Emergency.objects.create(
            kind=kind,
            place=place.strip()[:200],
            lat=lat,
            lng=lng,
            description=description.strip()[:4000],
            photo=_photo(photo),
            grid=grid,
            org_code=org_code,
            reported_by=actor,
        )
        audit_record(actor=actor, action="grid.emergency_report", obj=emergency)
        events.publish(
            "emergency.reported",
            payload={
                "emergency_id": emergency.pk,
                "kind": kind,
                "place": emergency.place,
                "lat": lat,
                "lng": lng,
            },
            org_code=org_code,
        )
    return emergency


def emergency_assign(*, actor: User | None, emergency: Emergency, grid: OrgUnit) -> Emergency:
    """The command center gives the emergency to a grid: an urgent task there."""
    _require(actor, Perm.TASK_DISPATCH)
    if actor is not None and not in_scope_code(actor, grid.code):
        raise Forbidden(_("This grid is outside your jurisdiction."))
    if emergency.status == EmergencyStatus.CLOSED:
        raise Conflict(_("This emergency is closed."))
    with transaction.atomic():
        task = task_create(
            actor=None,
            spec=TaskSpec(
                TaskType.EMERGENCY,
                f"{emergency.get_kind_display()}: {emergency.place}",
                f"emergency:{emergency.pk}:{grid.pk}",
                grid_id=grid.pk,
                lat=emergency.lat,
                lng=emergency.lng,
                subject_text=emergency.place,
                params={"emergency": emergency.pk, "description": emergency.description[:500]},
                source="emergency",
                source_ref=str(emergency.pk),
            ),
        )
        emergency.task, emergency.status, emergency.grid, emergency.org_code = (
            task,
            EmergencyStatus.ASSIGNED,
            grid,
            grid.code,
        )
        emergency.save(update_fields=["task", "status", "grid", "org_code"])
        audit_record(actor=actor, action="grid.emergency_assign", obj=emergency, detail={"grid": grid.code})
    return emergency


def emergency_close(*, actor: User | None, emergency: Emergency, note: str) -> Emergency:
    _require(actor, Perm.TASK_DISPATCH)
    if not (note or "").strip():
        raise DomainError(_("Say how it was resolved."), field="note")
    with transaction.atomic():
        emergency.status, emergency.closed_note, emergency.closed_at = (
            EmergencyStatus.CLOSED,
            note.strip()[:300],
            timezone.now(),
        )
        emergency.save(update_fields=["status", "closed_note", "closed_at"])
        audit_record(actor=actor, action="grid.emergency_close", obj=emergency)
        events.publish(
            "emergency.closed", payload={"emergency_id": emergency.pk}, org_code=emergency.org_code
        )
    return emergency
