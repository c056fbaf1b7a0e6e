"""Supplies API for phones: stock on hand at a point, and receipts and uses as they are recorded.

Staff with ``supplies.view`` read the points of their area (404 outside it, like a missing one); recording
needs ``supplies.move`` (403). A movement that carries a ``client_id`` is idempotent: a replay answers 200
with what the first submission booked (201), and books nothing new.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.schemas import ErrorOut
from epigrid.supplies import selectors
from epigrid.supplies.services import ledger

router = Router(tags=["supplies"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class LotOut(Schema):
    batch_id: int
    lot_number: str
    expires_on: dt.date | None
    quantity: int
    expired: bool


class StockItemOut(Schema):
    item_id: int
    code: str
    name: str
    unit: str
    on_hand: int  # usable: expired lots are listed but not counted
    lots: list[LotOut]


class PointStockOut(Schema):
    point_id: int
    name: str
    kind: str
    items: list[StockItemOut]


class MovementIn(Schema):
    point_id: int
    item_id: int
    kind: Literal["receive", "consume"]
    quantity: int = Field(gt=0, le=ledger.MAX_QUANTITY)
    lot_number: str = Field("", max_length=40)
    expires_on: dt.date | None = None
    reason: str = Field("", max_length=200)
    at: dt.datetime | None = None
    client_id: str | None = Field(None, max_length=50)


class LineOut(Schema):
    id: int
    batch_id: int
    lot_number: str
    quantity: int
    balance_after: int
    at: dt.datetime


class MovementOut(Schema):
    point_id: int
    item_id: int
    kind: str
    quantity: int
    client_id: str | None
    replayed: bool
    on_hand: int
    lines: list[LineOut]


def _require(user: User, perm: str) -> None:
    if not has_perm(user, perm):
        raise Forbidden(_("Your role may not do this."))


def _stock_out(user: User, point_id: int) -> PointStockOut:
    point = selectors.point_get(actor=user, pk=point_id)
    items: dict[int, StockItemOut] = {}
    day = timezone.localdate()
    for stock in selectors.stock_list(actor=user, point=point):
        expired = stock.batch.expires_on is not None and stock.batch.expires_on < day
        entry = items.setdefault(
            stock.item_id,
            StockItemOut(
                item_id=stock.item_id,
                code=stock.item.code,
                name=stock.item.name,
                unit=stock.item.unit,
                on_hand=0,
                lots=[],
            ),
        )
        entry.on_hand += 0 if expired else stock.quantity
        entry.lots.append(
            LotOut(
                batch_id=stock.batch_id,
                lot_number=stock.batch.lot_number,
                expires_on=stock.batch.expires_on,
                quantity=stock.quantity,
                expired=expired,
            )
        )
    return PointStockOut(point_id=point.pk, name=point.name, kind=point.kind, items=list(items.values()))


@router.get("supplies/stock", response={200: PointStockOut, **ERRORS})
def stock(request: HttpRequest, point: int) -> PointStockOut:
    """What a point holds, per item and lot (first expiry first)."""
    _require(request.user, Perm.SUPPLIES_VIEW)
    return _stock_out(request.user, point)


@router.post("supplies/movements", response={200: MovementOut, 201: MovementOut, **ERRORS})
def movement_create(request: HttpRequest, payload: MovementIn) -> Status:
    """Record a receipt or a use at a point. A use is taken first expiry first out and refused whole (409)
    when less is on hand."""
    user: User = request.user
    _require(user, Perm.SUPPLIES_VIEW)
    point = selectors.point_get(actor=user, pk=payload.point_id)
    item = selectors.item_get(pk=payload.item_id)
    if payload.at is not None and payload.at.tzinfo is None:
        raise DomainError(_("The time needs a time zone."), field="at")
    if payload.kind == "receive":
        result = ledger.stock_receive(
            actor=user,
            point=point,
            item=item,
            quantity=payload.quantity,
            lot_number=payload.lot_number,
            expires_on=payload.expires_on,
            reason=payload.reason,
            client_id=payload.client_id,
            at=payload.at,
        )
    else:
        if payload.lot_number or payload.expires_on:
            raise DomainError(
                _("A use is taken first expiry first out; leave the lot out."), field="lot_number"
            )
        result = ledger.stock_consume(
            actor=user,
            point=point,
            item=item,
            quantity=payload.quantity,
            reason=payload.reason,
            client_id=payload.client_id,
            at=payload.at,
        )
    on_hand = selectors.stock_totals(actor=user, points=[point.pk]).get((point.pk, item.pk), 0)
    body = MovementOut(
        point_id=point.pk,
        item_id=item.pk,
        kind=payload.kind,
        quantity=result.quantity,
        client_id=payload.client_id,
        replayed=result.replayed,
        on_hand=on_hand,
        lines=[
            LineOut(
                id=m.pk,
                batch_id=m.batch_id,
                lot_number=m.batch.lot_number,
                quantity=m.quantity,
                balance_after=m.balance_after,
                at=m.at,
            )
            for m in result.movements
        ],
    )
    return Status(200 if result.replayed else 201, body)
