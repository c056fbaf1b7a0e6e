"""Transfers between points: request → approve (per line, or reject) → ship → receive, quantities checked.

The receiving point's staff request (the transfer's ``org_code`` is the receiver's); a supplies manager
covering either end approves or rejects; the sending point's staff ship, which picks batches first expiry
first out into shipped lots and books them out; the receiver says per lot what arrived, which books it in.
Any difference between shipped and received marks the transfer, needs a note, and is announced
(``supplies.transfer_mismatch``): what went missing stays visible as shipped-but-not-received.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.roles import Perm
from epigrid.core.scope import in_scope_code
from epigrid.supplies.models import (
    HoldingPoint,
    Item,
    MovementKind,
    ShippedLot,
    Transfer,
    TransferLine,
    TransferStatus,
)
from epigrid.supplies.services.common import require, require_at
from epigrid.supplies.services.ledger import MAX_QUANTITY, book, take_fefo

MAX_LINES = 50


def _actor(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


def _publish(event_type: str, transfer: Transfer, **extra: object) -> None:
    events.publish(
        event_type,
        payload={
            "transfer_id": transfer.pk,
            "from_point_id": transfer.from_point_id,
            "to_point_id": transfer.to_point_id,
            "status": transfer.status,
            **extra,
        },
        org_code=transfer.org_code,
    )


def _lock(transfer: Transfer, *expected: str) -> Transfer:
    """The transfer re-read under a row lock, in one of the ``expected`` states (a second click, or two
    managers deciding at once, find it moved on and are refused)."""
    locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status not in expected:
        raise Conflict(
            _("This transfer is %(status)s; it cannot be changed that way now.")
            % {"status": locked.get_status_display()},
            field="status",
        )
    return locked


def transfer_request(
    *,
    actor: User | None,
    from_point: HoldingPoint,
    to_point: HoldingPoint,
    lines: list[tuple[Item, int]],
    note: str = "",
) -> Transfer:
    """``to_point`` asks ``from_point`` for ``lines`` (item, quantity)."""
    require_at(actor, Perm.SUPPLIES_MOVE, to_point)
    if from_point.pk == to_point.pk:
        raise DomainError(_("A point cannot request supplies from itself."), field="from_point")
    if not from_point.active or not to_point.active:
        raise DomainError(_("Both points must be in use."), field="from_point")
    wanted = [(item, quantity) for item, quantity in lines if quantity]
    if not wanted:
        raise DomainError(_("Request at least one item."), field="lines")
    if len(wanted) > MAX_LINES:
        raise DomainError(_("At most %(n)d items in one request.") % {"n": MAX_LINES}, field="lines")
    seen: set[int] = set()
    for item, quantity in wanted:
        if item.pk in seen:
            raise DomainError(_("%(item)s is requested twice.") % {"item": item.name}, field="lines")
        seen.add(item.pk)
        if not item.active:
            raise DomainError(_("%(item)s is no longer in use.") % {"item": item.name}, field="lines")
        if not isinstance(quantity, int) or quantity < 0 or quantity > MAX_QUANTITY:
            raise DomainError(_("The quantity is a whole number from 1 to 10,000,000."), field="lines")
    with transaction.atomic():
        transfer = Transfer.objects.create(
            from_point=from_point,
            to_point=to_point,
            note=(note or "").strip()[:300],
            requested_by=_actor(actor),
            requested_at=timezone.now(),
            org_code=to_point.org_code,
        )
        TransferLine.objects.bulk_create(
            TransferLine(transfer=transfer, item=item, requested_quantity=quantity)
            for item, quantity in wanted
        )
        audit_record(
            actor=actor,
            action="supplies.transfer_request",
            obj=transfer,
            detail={"from": from_point.pk, "lines": [[i.pk, q] for i, q in wanted]},
        )
        _publish("supplies.transfer_requested", transfer)
    return transfer


def _require_manager(actor: User | None, transfer: Transfer) -> None:
    require(actor, Perm.SUPPLIES_MANAGE)
    if actor is not None and not (
        in_scope_code(actor, transfer.to_point.org_code) or in_scope_code(actor, transfer.from_point.org_code)
    ):
        raise Forbidden(_("This transfer is outside your area."))


def transfer_approve(
    *, actor: User | None, transfer: Transfer, approved: dict[int, int] | None = None, note: str = ""
) -> Transfer:
    """Approve the request, per line ``approved`` {line pk: quantity} (omitted lines as requested); a line
    approved at 0 is not shipped. Approving more than was requested is refused."""
    _require_manager(actor, transfer)
    approved = approved or {}
    with transaction.atomic():
        transfer = _lock(transfer, TransferStatus.REQUESTED)
        lines = list(transfer.lines.select_related("item"))
        unknown = set(approved) - {line.pk for line in lines}
        if unknown:
            raise DomainError(_("That line is not part of this transfer."), field="approved")
        for line in lines:
            quantity = approved.get(line.pk, line.requested_quantity)
            if not isinstance(quantity, int) or quantity < 0 or quantity > line.requested_quantity:
                raise DomainError(
                    _("Approve from 0 to %(n)d of %(item)s.")
                    % {"n": line.requested_quantity, "item": line.item.name},
                    field="approved",
                )
            line.approved_quantity = quantity
        if not any(line.approved_quantity for line in lines):
            raise DomainError(_("Nothing is approved: reject the request instead."), field="approved")
        TransferLine.objects.bulk_update(lines, ["approved_quantity"])
        transfer.status = TransferStatus.APPROVED
        transfer.decided_by, transfer.decided_at = _actor(actor), timezone.now()
        transfer.decision_note = (note or "").strip()[:300]
        transfer.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=actor,
            action="supplies.transfer_approve",
            obj=transfer,
            detail={"approved": {str(line.pk): line.approved_quantity for line in lines}},
        )
        _publish("supplies.transfer_approved", transfer)
    return transfer


def transfer_reject(*, actor: User | None, transfer: Transfer, note: str) -> Transfer:
    _require_manager(actor, transfer)
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say why the request is rejected."), field="note")
    with transaction.atomic():
        transfer = _lock(transfer, TransferStatus.REQUESTED)
        transfer.status = TransferStatus.REJECTED
        transfer.decided_by, transfer.decided_at = _actor(actor), timezone.now()
        transfer.decision_note = note[:300]
        transfer.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=actor, action="supplies.transfer_reject", obj=transfer, detail={"note": note[:300]}
        )
        _publish("supplies.transfer_rejected", transfer)
    return transfer


def transfer_cancel(*, actor: User | None, transfer: Transfer, note: str = "") -> Transfer:
    """The requesting side withdraws a request not yet shipped."""
    require_at(actor, Perm.SUPPLIES_MOVE, transfer.to_point)
    with transaction.atomic():
        transfer = _lock(transfer, TransferStatus.REQUESTED, TransferStatus.APPROVED)
        transfer.status = TransferStatus.CANCELLED
        transfer.decision_note = (note or "").strip()[:300] or transfer.decision_note
        transfer.save(update_fields=["status", "decision_note"])
        audit_record(actor=actor, action="supplies.transfer_cancel", obj=transfer)
    return transfer


def transfer_ship(*, actor: User | None, transfer: Transfer) -> Transfer:
    """The sender ships the approved quantities, first expiry first out; a line that cannot be filled from
    usable stock refuses the whole shipment (nothing leaves)."""
    require_at(actor, Perm.SUPPLIES_MOVE, transfer.from_point)
    with transaction.atomic():
        transfer = _lock(transfer, TransferStatus.APPROVED)
        point = transfer.from_point
        now = timezone.now()
        lots = []
        for line in transfer.lines.select_related("item"):
            if not line.approved_quantity:
                continue
            taken = take_fefo(
                point=point,
                item=line.item,
                quantity=line.approved_quantity,
                kind=MovementKind.TRANSFER_OUT,
                actor=actor,
                at=now,
                reason=_("to %(point)s") % {"point": transfer.to_point.name},
                transfer=transfer,
            )
            lots += [ShippedLot(line=line, batch=m.batch, shipped_quantity=-m.quantity) for m in taken]
        ShippedLot.objects.bulk_create(lots)
        transfer.status = TransferStatus.SHIPPED
        transfer.shipped_by, transfer.shipped_at = _actor(actor), now
        transfer.save(update_fields=["status", "shipped_by", "shipped_at"])
        audit_record(
            actor=actor,
            action="supplies.transfer_ship",
            obj=transfer,
            detail={"lots": [[lot.batch_id, lot.shipped_quantity] for lot in lots]},
        )
        _publish("supplies.transfer_shipped", transfer, quantity=sum(lot.shipped_quantity for lot in lots))
    return transfer


def transfer_receive(
    *, actor: User | None, transfer: Transfer, received: dict[int, int] | None = None, note: str = ""
) -> Transfer:
    """The receiver books in what arrived, per shipped lot ``received`` {lot pk: quantity} (omitted lots as
    shipped). Any difference marks the transfer as a mismatch and needs ``note``."""
    require_at(actor, Perm.SUPPLIES_MOVE, transfer.to_point)
    received = received or {}
    note = (note or "").strip()
    with transaction.atomic():
        transfer = _lock(transfer, TransferStatus.SHIPPED)
        lots = list(ShippedLot.objects.filter(line__transfer=transfer).select_related("batch", "line__item"))
        if set(received) - {lot.pk for lot in lots}:
            raise DomainError(_("That lot is not part of this transfer."), field="received")
        for lot in lots:
            quantity = received.get(lot.pk, lot.shipped_quantity)
            if not isinstance(quantity, int) or quantity < 0 or quantity > MAX_QUANTITY:
                raise DomainError(_("A received quantity is a whole number, 0 or more."), field="received")
            lot.received_quantity = quantity
        differing = [lot for lot in lots if lot.received_quantity != lot.shipped_quantity]
        if differing and not note:
            raise DomainError(
                _("What arrived differs from what was shipped: say why in the note."), field="note"
            )
        for lot in differing:
            lot.discrepancy_note = note[:200]
        ShippedLot.objects.bulk_update(lots, ["received_quantity", "discrepancy_note"])
        now = timezone.now()
        for lot in lots:
            if lot.received_quantity:
                book(
                    point=transfer.to_point,
                    batch=lot.batch,
                    delta=lot.received_quantity,
                    kind=MovementKind.TRANSFER_IN,
                    actor=actor,
                    at=now,
                    reason=_("from %(point)s") % {"point": transfer.from_point.name},
                    transfer=transfer,
                )
        transfer.status = TransferStatus.RECEIVED
        transfer.received_by, transfer.received_at = _actor(actor), now
        transfer.has_discrepancy = bool(differing)
        transfer.save(update_fields=["status", "received_by", "received_at", "has_discrepancy"])
        mismatch = [
            {
                "lot_id": lot.pk,
                "batch_id": lot.batch_id,
                "shipped": lot.shipped_quantity,
                "received": lot.received_quantity,
            }
            for lot in differing
        ]
        audit_record(
            actor=actor,
            action="supplies.transfer_receive",
            obj=transfer,
            detail={"received": {str(lot.pk): lot.received_quantity for lot in lots}, "mismatch": mismatch},
        )
        _publish("supplies.transfer_received", transfer, mismatch=bool(differing))
        if differing:
            _publish("supplies.transfer_mismatch", transfer, lots=mismatch)
    return transfer
