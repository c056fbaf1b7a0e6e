"""Alarms (list, acknowledge, assign, close) and instructions to grids (send, follow)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from epigrid.command.alarmtypes import title_of
from epigrid.command.models import Alarm
from epigrid.command.selectors import alarms as selectors
from epigrid.command.services.alarms import alarm_acknowledge, alarm_assign, alarm_close
from epigrid.command.services.instructions import instruction_issue
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import OrgLevel, OrgUnit, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.schemas import ErrorOut
from epigrid.core.scope import scoped

router = Router(tags=["command"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _require(user: User, perm: str) -> None:
    if not has_perm(user, perm):
        raise Forbidden(_("Your role may not use the command center."))


def _require_reader(user: User) -> None:
    if not selectors.may_read(user):
        raise Forbidden(_("Your role may not use the command center."))


def alarm_out(alarm: Alarm) -> dict:
    return {
        "id": alarm.pk,
        "kind": alarm.kind,
        "severity": alarm.severity,
        "title": title_of(alarm.kind, alarm.params),
        "status": alarm.status,
        "org_code": alarm.org_code,
        "lat": alarm.lat,
        "lng": alarm.lng,
        "url": alarm.url,
        "raised_at": alarm.raised_at,
        "repeats": alarm.repeats,
        "version": alarm.version,
        "acknowledged_at": alarm.acknowledged_at,
        "assignee_id": alarm.assignee_id,
        "assignee_name": alarm.assignee.get_full_name() or alarm.assignee.username if alarm.assignee else "",
        "closed_at": alarm.closed_at,
        "close_note": alarm.close_note,
    }


class AlarmOut(Schema):
    id: int
    kind: str
    severity: str
    title: str
    status: str
    org_code: str
    lat: float | None
    lng: float | None
    url: str
    raised_at: dt.datetime
    repeats: int
    version: int
    acknowledged_at: dt.datetime | None
    assignee_id: int | None
    assignee_name: str
    closed_at: dt.datetime | None
    close_note: str


class VersionIn(Schema):
    version: int | None = None


class AssignIn(Schema):
    user_id: int
    note: str = ""
    version: int | None = None


class CloseIn(Schema):
    note: str
    version: int | None = None


class CandidateOut(Schema):
    id: int
    name: str
    role: str
    org_code: str


@router.get("alarms", response={200: list[AlarmOut], **ERRORS})
def alarm_list(request: HttpRequest, status: str = "active", limit: int = 200):
    _require_reader(request.user)
    if status not in (*selectors.STATUS_FILTERS, "all"):
        raise DomainError(_("Unknown status filter: %(status)s") % {"status": status}, field="status")
    return [
        alarm_out(a)
        for a in selectors.alarm_list(actor=request.user, status=status)[: max(1, min(limit, 1000))]
    ]


@router.get("alarms/{alarm_id}", response={200: AlarmOut, **ERRORS})
def alarm_detail(request: HttpRequest, alarm_id: int):
    return alarm_out(selectors.alarm_get(actor=request.user, pk=alarm_id))


@router.get("alarms/{alarm_id}/assignees", response={200: list[CandidateOut], **ERRORS})
def alarm_assignees(request: HttpRequest, alarm_id: int):
    _require(request.user, Perm.ALARM_HANDLE)
    alarm = selectors.alarm_get(actor=request.user, pk=alarm_id)
    return [
        {
            "id": u.pk,
            "name": u.get_full_name() or u.username,
            "role": u.get_role_display(),
            "org_code": u.org_code,
        }
        for u in selectors.assignee_candidates(actor=request.user, alarm=alarm)
    ]


@router.post("alarms/{alarm_id}/acknowledge", response={200: AlarmOut, **ERRORS})
def alarm_ack(request: HttpRequest, alarm_id: int, payload: VersionIn | None = None):
    alarm = selectors.alarm_get(actor=request.user, pk=alarm_id)
    version = payload.version if payload else None
    return alarm_out(alarm_acknowledge(actor=request.user, alarm=alarm, expected_version=version))


@router.post("alarms/{alarm_id}/assign", response={200: AlarmOut, **ERRORS})
def alarm_assign_to(request: HttpRequest, alarm_id: int, payload: AssignIn):
    alarm = selectors.alarm_get(actor=request.user, pk=alarm_id)
    assignee = User.objects.select_related("org_unit").filter(pk=payload.user_id).first()
    if assignee is None:
        raise DomainError(_("No such account."), field="user_id")
    return alarm_out(
        alarm_assign(
            actor=request.user,
            alarm=alarm,
            assignee=assignee,
            note=payload.note,
            expected_version=payload.version,
        )
    )


@router.post("alarms/{alarm_id}/close", response={200: AlarmOut, **ERRORS})
def alarm_close_with_note(request: HttpRequest, alarm_id: int, payload: CloseIn):
    alarm = selectors.alarm_get(actor=request.user, pk=alarm_id)
    return alarm_out(
        alarm_close(actor=request.user, alarm=alarm, note=payload.note, expected_version=payload.version)
    )


# --- instructions -------------------------------------------------------------------------------------------


class InstructionIn(Schema):
    grid_ids: list[int]
    text: str
    due_at: dt.datetime | None = None


class GridProgressOut(Schema):
    grid_id: int
    grid_name: str
    grid_code: str
    state: str
    task_id: int | None


class InstructionOut(Schema):
    id: int
    ref: str
    text: str
    sent_at: dt.datetime
    due_at: dt.datetime | None
    total: int
    accepted: int
    done: int
    grids: list[GridProgressOut]


def instruction_out(progress: selectors.InstructionProgress) -> dict:
    instruction = progress.instruction
    return {
        "id": instruction.pk,
        "ref": instruction.ref,
        "text": instruction.text,
        "sent_at": instruction.sent_at,
        "due_at": instruction.due_at,
        "total": progress.total,
        "accepted": progress.accepted,
        "done": progress.done,
        "grids": [vars(grid) for grid in progress.grids],
    }


@router.post("instructions", response={201: InstructionOut, **ERRORS})
def instruction_send(request: HttpRequest, payload: InstructionIn):
    _require(request.user, Perm.COMMAND_VIEW)
    grids = list(scoped(OrgUnit.objects.filter(pk__in=payload.grid_ids, level=OrgLevel.GRID), request.user))
    missing = set(payload.grid_ids) - {grid.pk for grid in grids}
    if missing:
        raise DomainError(
            _("Not a grid in your area: %(ids)s") % {"ids": ", ".join(map(str, sorted(missing)))},
            field="grid_ids",
        )
    instruction = instruction_issue(actor=request.user, grids=grids, text=payload.text, due_at=payload.due_at)
    return Status(201, instruction_out(selectors.instruction_get(actor=request.user, pk=instruction.pk)))


@router.get("instructions", response={200: list[InstructionOut], **ERRORS})
def instruction_list(request: HttpRequest, limit: int = 20):
    _require_reader(request.user)
    return [
        instruction_out(p)
        for p in selectors.instruction_list(actor=request.user, limit=max(1, min(limit, 100)))
    ]


@router.get("instructions/{instruction_id}", response={200: InstructionOut, **ERRORS})
def instruction_detail(request: HttpRequest, instruction_id: int):
    return instruction_out(selectors.instruction_get(actor=request.user, pk=instruction_id))
