"""Reads of grid management, scoped by the task's grid (a worker sees their grid; a community officer their
community): task lists, the worker's list for today, staffing coverage, assessment, emergencies."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from epigrid.core.models import OrgLevel, OrgUnit, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import prefix_q, scoped
from epigrid.grids.models import (
    OPEN_STATES,
    Emergency,
    GridAssignment,
    GridRole,
    PatrolRoute,
    SentinelPoint,
    Task,
    TaskState,
)


def _tasks(actor: User) -> QuerySet[Task]:
    if not has_perm(actor, Perm.TASK_VIEW):
        return Task.objects.none()
    return scoped(Task.objects.all(), actor)


def task_list(
    *, actor: User, state: str = "", type: str = "", grid_code: str = "", overdue: bool = False, now=None
) -> QuerySet[Task]:
    qs = _tasks(actor).select_related("subject_person", "assignee", "grid")
    if state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif state:
        qs = qs.filter(state=state)
    if type:
        qs = qs.filter(type=type)
    if grid_code:
        qs = qs.filter(prefix_q("org_code", grid_code))
    if overdue:
        qs = qs.filter(state__in=OPEN_STATES, due_at__lt=now or timezone.now())
    return qs.order_by("due_at", "-priority", "pk")


def task_get(*, actor: User, pk: int) -> Task:
    task = (
        _tasks(actor)
        .select_related("subject_person", "subject_venue", "assignee", "grid")
        .filter(pk=pk)
        .first()
    )
    if task is None:
        raise Http404
    return task


def _distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    k = math.pi / 180
    x = (lng2 - lng1) * k * math.cos((lat1 + lat2) / 2 * k)
    y = (lat2 - lat1) * k
    return 6_371_000 * math.hypot(x, y)


LIST_FIELDS = (
    "pk",
    "type",
    "title",
    "subject_text",
    "lat",
    "lng",
    "priority",
    "due_at",
    "state",
    "version",
    "org_code",
    "escalation",
    "params",
    "result",
    "subject_person_id",
)  # what the phone's list shows: no evidence photos, no decrypted columns


def worker_tasks(
    *, actor: User, lat: float | None = None, lng: float | None = None, limit: int = 500
) -> list[tuple[Task, float | None]]:
    """The open tasks of the worker's grid: first everything due by the end of today, then the rest; within
    each, higher priority first, then the nearest (when the phone says where the worker stands), then the
    earliest due. (task, metres or None)."""
    tasks = list(
        _tasks(actor)
        .filter(state__in=OPEN_STATES)
        .only(*LIST_FIELDS)
        .order_by("due_at", "-priority", "pk")[:limit]
    )
    end_of_today = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.max))
    rows = []
    for task in tasks:
        metres = (
            _distance_m(lat, lng, task.lat, task.lng) if None not in (lat, lng, task.lat, task.lng) else None
        )
        rows.append((task, metres))
    rows.sort(
        key=lambda row: (
            row[0].due_at > end_of_today,  # today's work first
            -row[0].priority,
            row[1] if row[1] is not None else math.inf,
            row[0].due_at,
        )
    )
    return rows


def masked_people(person_ids: set[int]) -> dict[int, dict]:
    """The masked columns of these people, without decrypting anything (lists of tasks show only these)."""
    from epigrid.core.masking import mask_name
    from epigrid.core.models import Person

    return {
        pk: {"id": pk, "name": mask_name(name), "id_number": number, "phone": phone, "grid": org}
        for pk, name, number, phone, org in Person.objects.filter(pk__in=person_ids).values_list(
            "pk", "name", "id_number_masked", "phone_masked", "org_code"
        )
    }


def staff_candidates(*, actor: User, grid_code: str = "", limit: int = 200) -> list[User]:
    """Accounts that may carry out grid tasks inside the actor's jurisdiction (and under ``grid_code``)."""
    from epigrid.core.roles import ROLE_SPECS

    if not has_perm(actor, Perm.TASK_VIEW) or not actor.org_code:
        return []
    prefix = grid_code or actor.org_code
    if not prefix.startswith(actor.org_code):
        return []
    roles = [name for name, spec in ROLE_SPECS.items() if Perm.TASK_WORK in spec.perms]
    return list(
        User.objects.filter(is_active=True, role__in=roles)
        .filter(prefix_q("org_unit__code", prefix))
        .select_related("org_unit")
        .order_by("org_unit__code", "username")[:limit]
    )


@dataclass(frozen=True)
class Coverage:
    grid: OrgUnit
    leaders: int
    workers: int
    assistants: int

    @property
    def missing(self) -> list[str]:
        out = []
        if not self.leaders:
            out.append(GridRole.LEADER)
        if not self.workers:
            out.append(GridRole.WORKER)
        return out


def staffing_coverage(*, actor: User) -> list[Coverage]:
    """Every grid in scope with its staff counts by role; ``missing`` names the roles nobody fills."""
    if not has_perm(actor, Perm.TASK_VIEW):
        return []
    code = actor.org_code or ""
    grids = list(OrgUnit.objects.filter(level=OrgLevel.GRID, code__startswith=code).order_by("code"))
    counts: dict[tuple[int, str], int] = {
        (grid_id, role): n
        for grid_id, role, n in GridAssignment.objects.filter(active=True, grid__in=grids)
        .values("grid_id", "role")
        .annotate(n=Count("pk"))
        .values_list("grid_id", "role", "n")
    }
    return [
        Coverage(
            g,
            counts.get((g.pk, GridRole.LEADER), 0),
            counts.get((g.pk, GridRole.WORKER), 0),
            counts.get((g.pk, GridRole.ASSISTANT), 0),
        )
        for g in grids
    ]


def grid_staff(*, actor: User, grid_code: str = "") -> QuerySet[GridAssignment]:
    if not has_perm(actor, Perm.TASK_VIEW):
        return GridAssignment.objects.none()
    qs = scoped(GridAssignment.objects.filter(active=True), actor).select_related("user", "grid")
    return qs.filter(prefix_q("org_code", grid_code)) if grid_code else qs


def grid_leaders_of(org_code: str) -> list[User]:
    """The active leaders of the grid ``org_code`` (who an escalated task reaches)."""
    return [
        a.user for a in GridAssignment.objects.filter(active=True, org_code=org_code, role=GridRole.LEADER)
    ]


@dataclass(frozen=True)
class Score:
    key: str  # username or grid code
    name: str
    done: int
    on_time: int
    overdue_open: int
    cannot: int
    avg_response_minutes: float | None  # created → accepted (or finished when never accepted)
    patrols_done: int

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.done if self.done else 0.0


def assessment(*, actor: User, start: dt.date, end: dt.date, by: str = "worker") -> list[Score]:
    """Per worker (``by="worker"``) or per grid: tasks done, on time, overdue and still open, declined,
    average response time and patrols done, for tasks due in ``[start, end]``; ranked by done on time."""
    lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    hi = timezone.make_aware(dt.datetime.combine(end, dt.time.max))
    now = timezone.now()
    rows = (
        _tasks(actor)
        .filter(due_at__gte=lo, due_at__lte=hi)
        .values_list(
            "finished_by__username",
            "finished_by__first_name",
            "org_code",
            "grid__name",
            "state",
            "type",
            "created_at",
            "accepted_at",
            "finished_at",
            "due_at",
        )
    )
    agg: dict[str, dict] = {}
    for username, first_name, code, grid_name, state, task_type, created, accepted, finished, due in rows:
        if by == "worker":
            if not username:
                continue
            key, name = username, first_name or username
        else:
            key, name = code, grid_name or code
        a = agg.setdefault(
            key, {"name": name, "done": 0, "on_time": 0, "overdue": 0, "cannot": 0, "resp": [], "patrols": 0}
        )
        if state == TaskState.DONE:
            a["done"] += 1
            if finished and finished <= due:
                a["on_time"] += 1
            if task_type == "patrol":
                a["patrols"] += 1
        elif state == TaskState.CANNOT:
            a["cannot"] += 1
        elif state in OPEN_STATES and due < now:
            a["overdue"] += 1
        answered = accepted or finished
        if answered:
            a["resp"].append((answered - created).total_seconds() / 60)
    scores = [
        Score(
            key,
            a["name"],
            a["done"],
            a["on_time"],
            a["overdue"],
            a["cannot"],
            round(sum(a["resp"]) / len(a["resp"]), 1) if a["resp"] else None,
            a["patrols"],
        )
        for key, a in agg.items()
    ]
    return sorted(scores, key=lambda s: (-s.on_time, -s.done, s.overdue_open, s.key))


def emergency_list(*, actor: User, open_only: bool = False) -> QuerySet[Emergency]:
    if not has_perm(actor, Perm.TASK_VIEW):
        return Emergency.objects.none()
    qs = scoped(Emergency.objects.all(), actor).select_related("grid", "task", "reported_by")
    return qs.exclude(status="closed") if open_only else qs


def emergency_get(*, actor: User, pk: int) -> Emergency:
    emergency = emergency_list(actor=actor).filter(pk=pk).first()
    if emergency is None:
        raise Http404
    return emergency


def sentinel_list(*, actor: User) -> QuerySet[SentinelPoint]:
    if not has_perm(actor, Perm.TASK_VIEW):
        return SentinelPoint.objects.none()
    return scoped(SentinelPoint.objects.filter(active=True), actor).select_related("unit", "venue")


def patrol_routes(*, actor: User) -> QuerySet[PatrolRoute]:
    if not has_perm(actor, Perm.TASK_VIEW):
        return PatrolRoute.objects.none()
    return scoped(PatrolRoute.objects.all(), actor).prefetch_related("venues")


def open_counts_by_grid(*, actor: User) -> dict[str, dict[str, int]]:
    """Open and overdue tasks per grid code (the command center's map layer)."""
    now = timezone.now()
    out: dict[str, dict[str, int]] = {}
    for code, n_open, n_overdue in (
        _tasks(actor)
        .filter(state__in=OPEN_STATES)
        .values("org_code")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(due_at__lt=now)))
        .values_list("org_code", "n", "late")
    ):
        out[code] = {"open": n_open, "overdue": n_overdue}
    return out
