"""Alarms and instructions as the command center reads them, scoped to the reader's area."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from epigrid.command.models import ACTIVE_STATUSES, Alarm, AlarmStatus, Instruction
from epigrid.core.models import LEVEL_CODE_LENGTH, User
from epigrid.core.roles import ROLE_SPECS, Perm, has_perm
from epigrid.core.scope import prefix_q, scoped
from epigrid.grids.models import Task, TaskState

STATUS_FILTERS = {
    "active": ACTIVE_STATUSES,
    "open": (AlarmStatus.OPEN,),
    "acknowledged": (AlarmStatus.ACKNOWLEDGED,),
    "assigned": (AlarmStatus.ASSIGNED,),
    "closed": (AlarmStatus.CLOSED,),
}


def may_read(actor: User) -> bool:
    """The command center's staff, and grid staff for the alarms and instructions of their own grids."""
    return has_perm(actor, Perm.COMMAND_VIEW) or has_perm(actor, Perm.TASK_VIEW)


def alarm_list(*, actor: User, status: str = "active") -> QuerySet[Alarm]:
    """Alarms in the actor's area, newest first; ``status`` is one of :data:`STATUS_FILTERS` or "all"."""
    if not may_read(actor):
        return Alarm.objects.none()
    qs = scoped(Alarm.objects.select_related("assignee"), actor)
    if status in STATUS_FILTERS:
        qs = qs.filter(status__in=STATUS_FILTERS[status])
    return qs.order_by("-raised_at", "-pk")


def alarm_get(*, actor: User, pk: int) -> Alarm:
    return get_object_or_404(alarm_list(actor=actor, status="all"), pk=pk)


def alarm_counts(*, actor: User) -> dict[str, int]:
    """Active alarms per severity in the actor's area."""
    rows = alarm_list(actor=actor).values_list("severity", flat=True)
    return dict(Counter(rows))


def assignee_candidates(*, actor: User, alarm: Alarm) -> list[User]:
    """Staff in the actor's area whose own area covers the alarm (who can act on it), grid leaders first.
    The units covering the alarm are the prefixes of its code, so the database picks them out."""
    covering = [alarm.org_code[:n] for n in LEVEL_CODE_LENGTH.values() if len(alarm.org_code) >= n]
    staff_roles = [spec.role.value for spec in ROLE_SPECS.values() if spec.staff]
    users = (
        User.objects.filter(is_active=True, role__in=staff_roles, org_unit__code__in=covering)
        .filter(prefix_q("org_unit__code", actor.org_code))
        .select_related("org_unit")
    )
    found = sorted(users, key=lambda user: (user.role != "grid_leader", -len(user.org_code), user.username))
    return found[:200]


# --- instructions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridProgress:
    grid_id: int
    grid_name: str
    grid_code: str
    state: str  # the grid's task state; "" when it has no task (sent before the grid existed)
    task_id: int | None


@dataclass(frozen=True)
class InstructionProgress:
    instruction: Instruction
    grids: list[GridProgress]

    @property
    def total(self) -> int:
        return len(self.grids)

    def count(self, *states: str) -> int:
        return sum(1 for grid in self.grids if grid.state in states)

    @property
    def accepted(self) -> int:
        # Acknowledged: accepted, started or finished.
        return self.count(TaskState.ACCEPTED, TaskState.IN_PROGRESS, TaskState.DONE, TaskState.CANNOT)

    @property
    def done(self) -> int:
        return self.count(TaskState.DONE)


def instruction_list(*, actor: User, limit: int = 20) -> list[InstructionProgress]:
    """Recent instructions in the actor's area with the state of each grid's task (one query for all)."""
    if not may_read(actor):
        return []
    instructions = list(
        scoped(Instruction.objects.prefetch_related("grids"), actor).order_by("-sent_at", "-pk")[:limit]
    )
    return _with_progress(instructions)


def instruction_get(*, actor: User, pk: int) -> InstructionProgress:
    if not may_read(actor):
        raise Http404
    instruction = get_object_or_404(scoped(Instruction.objects.prefetch_related("grids"), actor), pk=pk)
    return _with_progress([instruction])[0]


def _with_progress(instructions: list[Instruction]) -> list[InstructionProgress]:
    tasks = Task.objects.filter(
        source="instruction", source_ref__in=[i.ref for i in instructions]
    ).values_list("source_ref", "grid_id", "state", "pk")
    by_key = {(ref, grid_id): (state, pk) for ref, grid_id, state, pk in tasks}
    out = []
    for instruction in instructions:
        grids = []
        for grid in sorted(instruction.grids.all(), key=lambda unit: unit.code):
            state, task_id = by_key.get((instruction.ref, grid.pk), ("", None))
            grids.append(GridProgress(grid.pk, grid.name, grid.code, state, task_id))
        out.append(InstructionProgress(instruction, grids))
    return out
