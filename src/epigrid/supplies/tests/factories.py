"""Supplies test data: items, holding points, stock — all through the services."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from epigrid.core.models import OrgUnit
from epigrid.supplies.models import Batch, ForecastDriver, HoldingPoint, Item, PointKind
from epigrid.supplies.services import catalogue, ledger

_codes = itertools.count(1)


def item(
    *, shelf_life_days: int | None = None, driver: str = ForecastDriver.NONE, rate: str = "0", **extra
) -> Item:
    n = next(_codes)
    data = {
        "code": f"T{n:04d}",
        "name": f"测试物资{n}",
        "unit": "个",
        "category": "mask",
        "shelf_life_days": shelf_life_days,
        "forecast_driver": driver,
        "forecast_rate": rate,
        **extra,
    }
    return catalogue.item_create(actor=None, data=catalogue.ItemInput(**data))


def point(area: OrgUnit, *, kind: str = PointKind.SAMPLING_POINT, name: str = "", **links) -> HoldingPoint:
    return catalogue.point_create(
        actor=None,
        data=catalogue.PointInput(
            name=name or f"{area.name}物资点{next(_codes)}", kind=kind, area=area, **links
        ),
    )


def receive(
    at_point: HoldingPoint, of: Item, quantity: int, *, lot: str = "", expires_in_days: int | None = None
):
    expires_on = (
        None if expires_in_days is None else timezone.localdate() + dt.timedelta(days=expires_in_days)
    )
    if of.shelf_life_days and not lot:
        lot = f"L{next(_codes):05d}"
        expires_on = expires_on or timezone.localdate() + dt.timedelta(days=of.shelf_life_days)
    return ledger.stock_receive(
        actor=None, point=at_point, item=of, quantity=quantity, lot_number=lot, expires_on=expires_on
    )


def expired_batch(at_point: HoldingPoint, of: Item, quantity: int, *, days_ago: int = 3) -> Batch:
    """A lot received while still good that has expired ``days_ago`` days ago (its expiry moved back, as
    time would have done)."""
    lot = f"OLD{next(_codes):05d}"
    receive(at_point, of, quantity, lot=lot, expires_in_days=10)
    batch = Batch.objects.get(item=of, lot_number=lot)
    Batch.objects.filter(pk=batch.pk).update(expires_on=timezone.localdate() - dt.timedelta(days=days_ago))
    batch.refresh_from_db()
    return batch


def on_hand(at_point: HoldingPoint, of: Item) -> int:
    return sum(s.quantity for s in at_point.stock.filter(item=of))
