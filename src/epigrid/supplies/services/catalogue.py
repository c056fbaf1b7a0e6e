"""The catalogue: items, holding points, batches (lots with their expiry) and reorder rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Perm
from epigrid.core.scope import in_scope_code
from epigrid.supplies.models import (
    Batch,
    ForecastDriver,
    HoldingPoint,
    Item,
    ItemCategory,
    PointKind,
    ReorderRule,
)
from epigrid.supplies.services.common import require, require_at


@dataclass
class ItemInput:
    code: str
    name: str
    unit: str
    category: str
    shelf_life_days: int | None = None
    forecast_driver: str = ForecastDriver.NONE
    forecast_rate: Decimal | float | str = 0


def _clean_item(data: ItemInput) -> dict[str, object]:
    code, name, unit = data.code.strip(), data.name.strip(), data.unit.strip()
    if not code or len(code) > 32:
        raise DomainError(_("An item needs a code of at most 32 characters."), field="code")
    if not name or len(name) > 120:
        raise DomainError(_("An item needs a name of at most 120 characters."), field="name")
    if not unit or len(unit) > 20:
        raise DomainError(
            _("An item needs a unit of at most 20 characters (box, piece, bottle)."), field="unit"
        )
    if data.category not in ItemCategory.values:
        raise DomainError(_("Choose a category from the list."), field="category")
    if data.forecast_driver not in ForecastDriver.values:
        raise DomainError(_("Choose what the item's use grows with from the list."), field="forecast_driver")
    try:
        rate = Decimal(str(data.forecast_rate))
    except InvalidOperation:
        raise DomainError(_("The rate is a number."), field="forecast_rate") from None
    if rate < 0 or rate >= 10_000_000:
        raise DomainError(_("The rate is a number from 0 to 9,999,999."), field="forecast_rate")
    if data.forecast_driver != ForecastDriver.NONE and rate == 0:
        raise DomainError(_("An item that is forecast needs a rate above 0."), field="forecast_rate")
    if data.shelf_life_days is not None and data.shelf_life_days <= 0:
        raise DomainError(_("The shelf life is a number of days above 0."), field="shelf_life_days")
    return {
        "code": code,
        "name": name,
        "unit": unit,
        "category": data.category,
        "shelf_life_days": data.shelf_life_days,
        "forecast_driver": data.forecast_driver,
        "forecast_rate": rate.quantize(Decimal("0.001")),
    }


def item_create(*, actor: User | None, data: ItemInput) -> Item:
    require(actor, Perm.SUPPLIES_MANAGE)
    fields = _clean_item(data)
    if Item.objects.filter(code=fields["code"]).exists():
        raise Conflict(
            _("An item with code %(code)s exists already.") % {"code": fields["code"]}, field="code"
        )
    with transaction.atomic():
        item = Item.objects.create(**fields)
        audit_record(actor=actor, action="supplies.item_create", obj=item, detail={"code": item.code})
    return item


def item_update(*, actor: User | None, item: Item, data: ItemInput, active: bool = True) -> Item:
    """Change an item's description, its forecast and whether it is in use (its code stays)."""
    require(actor, Perm.SUPPLIES_MANAGE)
    fields = _clean_item(ItemInput(**{**data.__dict__, "code": item.code}))
    with transaction.atomic():
        for name, value in fields.items():
            setattr(item, name, value)
        item.active = active
        item.save()
        audit_record(actor=actor, action="supplies.item_update", obj=item, detail={"active": active})
    return item


@dataclass
class PointInput:
    name: str
    kind: str
    area: OrgUnit
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    sampling_point: object | None = None
    quarantine_site: object | None = None
    vaccination_site: object | None = None


def point_create(*, actor: User | None, data: PointInput) -> HoldingPoint:
    """A warehouse or a place of use in ``data.area`` (the actor's jurisdiction must cover it)."""
    require(actor, Perm.SUPPLIES_MANAGE)
    name = data.name.strip()
    if not name or len(name) > 120:
        raise DomainError(_("A holding point needs a name of at most 120 characters."), field="name")
    if data.kind not in PointKind.values:
        raise DomainError(_("Choose a kind of holding point from the list."), field="kind")
    if actor is not None and not in_scope_code(actor, data.area.code):
        raise Forbidden(_("%(point)s is outside your area.") % {"point": data.area.name})
    with transaction.atomic():
        point = HoldingPoint.objects.create(
            name=name,
            kind=data.kind,
            area=data.area,
            org_code=data.area.code,
            address=data.address.strip()[:200],
            lat=data.lat,
            lng=data.lng,
            sampling_point=data.sampling_point,
            quarantine_site=data.quarantine_site,
            vaccination_site=data.vaccination_site,
        )
        audit_record(actor=actor, action="supplies.point_create", obj=point, detail={"kind": point.kind})
    return point


def point_set_active(*, actor: User | None, point: HoldingPoint, active: bool) -> HoldingPoint:
    require_at(actor, Perm.SUPPLIES_MANAGE, point)
    with transaction.atomic():
        HoldingPoint.objects.filter(pk=point.pk).update(active=active)
        point.active = active
        audit_record(actor=actor, action="supplies.point_active", obj=point, detail={"active": active})
    return point


def batch_for(*, item: Item, lot_number: str = "", expires_on: dt.date | None = None) -> Batch:
    """The batch ``lot_number`` of ``item``, registered on first sight. Items with a shelf life are received
    by lot with an expiry date; a lot seen before must carry the same expiry. (Registering a lot is part of
    the receipt that names it, so this is no separate audited write.)"""
    lot = (lot_number or "").strip()
    if len(lot) > 40:
        raise DomainError(_("The lot number is longer than 40 characters."), field="lot_number")
    if item.shelf_life_days and (not lot or expires_on is None):
        raise DomainError(
            _("%(item)s expires: give its lot number and expiry date.") % {"item": item.name},
            field="lot_number" if not lot else "expires_on",
        )
    if not lot and expires_on is not None:
        raise DomainError(_("An expiry date belongs to a lot: give the lot number too."), field="lot_number")
    batch = Batch.objects.filter(item=item, lot_number=lot).first()
    if batch is None:
        try:
            with transaction.atomic():
                return Batch.objects.create(item=item, lot_number=lot, expires_on=expires_on)
        except IntegrityError:  # the same lot registered by a receipt racing this one
            batch = Batch.objects.get(item=item, lot_number=lot)
    if expires_on is not None and batch.expires_on is not None and batch.expires_on != expires_on:
        raise DomainError(
            _("Lot %(lot)s of %(item)s expires on %(day)s, not %(given)s.")
            % {
                "lot": lot,
                "item": item.name,
                "day": batch.expires_on.isoformat(),
                "given": expires_on.isoformat(),
            },
            field="expires_on",
        )
    if expires_on is not None and batch.expires_on is None:
        Batch.objects.filter(pk=batch.pk).update(expires_on=expires_on)
        batch.expires_on = expires_on
    return batch


def reorder_rule_set(
    *, actor: User | None, point: HoldingPoint, item: Item, min_quantity: int, min_cover_days: int = 0
) -> ReorderRule | None:
    """Set the levels below which ``point`` is short of ``item``; both 0 removes the rule."""
    require_at(actor, Perm.SUPPLIES_MANAGE, point)
    if min_quantity < 0 or min_cover_days < 0 or min_cover_days > 365:
        raise DomainError(
            _("A minimum level is 0 or more, and days of cover from 0 to 365."), field="min_quantity"
        )
    with transaction.atomic():
        if not min_quantity and not min_cover_days:
            ReorderRule.objects.filter(point=point, item=item).delete()
            audit_record(actor=actor, action="supplies.rule_delete", obj=point, detail={"item": item.pk})
            return None
        rule, _created = ReorderRule.objects.update_or_create(
            point=point,
            item=item,
            defaults={
                "min_quantity": min_quantity,
                "min_cover_days": min_cover_days,
                "org_code": point.org_code,
            },
        )
        audit_record(
            actor=actor,
            action="supplies.rule_set",
            obj=rule,
            detail={"item": item.pk, "min_quantity": min_quantity, "min_cover_days": min_cover_days},
        )
    return rule
