"""Instructions from the command center to grids: one click, one grid task per grid (``grids.services``)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.utils import timezone

from epigrid.command.models import Instruction
from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.models import OrgLevel, OrgUnit, User
from epigrid.grids.services import instruction_send


def _common_unit(codes: list[str]) -> str:
    """The code of the narrowest org unit holding every grid (codes are paths of 6, 9, 12 and 15 digits)."""
    for length in (15, 12, 9, 6):
        if codes and len({code[:length] for code in codes}) == 1 and len(codes[0]) >= length:
            return codes[0][:length]
    return ""


def instruction_issue(
    *, actor: User, grids: list[OrgUnit], text: str, due_at: dt.datetime | None = None
) -> Instruction:
    """Send ``text`` to every grid of ``grids`` as a grid task. ``grids.services.instruction_send`` checks
    the role, the area, the text and the due time; the instruction keeps the list of grids, and the states of
    its tasks are its progress."""
    units = sorted(
        {grid.pk: grid for grid in grids if grid.level == OrgLevel.GRID}.values(), key=lambda g: g.code
    )
    with transaction.atomic():
        instruction = Instruction.objects.create(
            ref=uuid.uuid4().hex[:12],
            text=(text or "").strip(),
            due_at=due_at,
            org_code=_common_unit([grid.code for grid in units]) or actor.org_code,
            sent_by=actor,
            sent_at=timezone.now(),
        )
        count = instruction_send(actor=actor, grids=units, text=text, due_at=due_at, ref=instruction.ref)
        instruction.grids.set(units)
        audit_record(
            actor=actor,
            action="command.instruction_issue",
            obj=instruction,
            org_code=instruction.org_code,
            detail={"grids": len(units), "tasks": count},
        )
        events.publish(
            "instruction.sent",
            payload={"instruction_id": instruction.pk, "source_ref": instruction.ref, "count": count},
            org_code=instruction.org_code,
        )
    return instruction
