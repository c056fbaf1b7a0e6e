"""Reads of supplies, scoped: points, stock, the ledger, transfers, alerts and the forecast of needs.

Alerts and the forecast are computed from a handful of grouped queries over every point in scope at once
(stock on hand, consumption over the rate window, testing rounds, quarantine occupancy, bookings), never a
query per point and item. ``actor`` None is the system (the hourly shortage check): everything.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from epigrid.core.models import User
from epigrid.core.scope import prefix_q, scoped
from epigrid.core.selectors import general_rule
from epigrid.supplies.models import (
    Batch,
    ForecastDriver,
    HoldingPoint,
    Item,
    Movement,
    MovementKind,
    PointKind,
    ReorderRule,
    ShippedLot,
    Stock,
    StockCount,
    Transfer,
)

DEFAULT_POOL = 10


def _scoped(qs: QuerySet, actor: User | None) -> QuerySet:
    return qs if actor is None else scoped(qs, actor)


# --- catalogue and points ----------------------------------------------------------------------------------


def item_list(*, active_only: bool = True) -> QuerySet[Item]:
    qs = Item.objects.all()
    return qs.filter(active=True) if active_only else qs


def item_get(*, pk: int) -> Item:
    item = Item.objects.filter(pk=pk).first()
    if item is None:
        raise Http404
    return item


def point_list(*, actor: User | None, active_only: bool = True) -> QuerySet[HoldingPoint]:
    qs = _scoped(HoldingPoint.objects.select_related("area"), actor)
    return qs.filter(active=True) if active_only else qs


def point_get(*, actor: User | None, pk: int) -> HoldingPoint:
    point = point_list(actor=actor, active_only=False).filter(pk=pk).first()
    if point is None:
        raise Http404
    return point


def source_points(*, actor: User | None) -> QuerySet[HoldingPoint]:
    """Points a request may be sent to: the district's stores and every point in the actor's area."""
    stores = Q(kind__in=[PointKind.DISTRICT_STORE, PointKind.COMMUNITY_STORE])
    if actor is None:
        return HoldingPoint.objects.filter(active=True)
    return HoldingPoint.objects.filter(active=True).filter(
        stores | Q(pk__in=point_list(actor=actor).values("pk"))
    )


def batch_get(*, pk: int) -> Batch:
    batch = Batch.objects.select_related("item").filter(pk=pk).first()
    if batch is None:
        raise Http404
    return batch


def rule_list(*, actor: User | None) -> QuerySet[ReorderRule]:
    return _scoped(ReorderRule.objects.select_related("point", "item"), actor).order_by(
        "point__name", "item__code"
    )


# --- stock and the ledger ----------------------------------------------------------------------------------


def stock_list(*, actor: User | None, point: HoldingPoint | None = None) -> QuerySet[Stock]:
    """Batches on hand (quantity above 0) in scope, by point, item and expiry."""
    qs = _scoped(Stock.objects.filter(quantity__gt=0).select_related("point", "item", "batch"), actor)
    if point is not None:
        qs = qs.filter(point=point)
    return qs.order_by(
        "point__name", "item__category", "item__code", F("batch__expires_on").asc(nulls_last=True)
    )


def stock_totals(*, actor: User | None, points: list[int] | None = None) -> dict[tuple[int, int], int]:
    """(point pk, item pk) → units on hand, expired batches included; of ``points`` (pks) when given."""
    qs = stock_list(actor=actor)
    if points is not None:
        qs = qs.filter(point_id__in=points)
    rows = qs.values("point_id", "item_id").annotate(n=Sum("quantity")).order_by()
    return {(r["point_id"], r["item_id"]): r["n"] for r in rows}


def _usable_totals(points: QuerySet, on: dt.date) -> dict[tuple[int, int], int]:
    rows = (
        Stock.objects.filter(point__in=points, quantity__gt=0)
        .filter(Q(batch__expires_on__isnull=True) | Q(batch__expires_on__gte=on))
        .values("point_id", "item_id")
        .annotate(n=Sum("quantity"))
        .order_by()
    )
    return {(r["point_id"], r["item_id"]): r["n"] for r in rows}


def ledger(
    *,
    actor: User | None,
    point: HoldingPoint,
    item: Item | None = None,
    kind: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Movement]:
    """The point's ledger lines, newest first; ``since``/``until`` are local days, both included."""
    qs = _scoped(
        Movement.objects.filter(point=point).select_related("item", "batch", "actor", "transfer"), actor
    )
    if item is not None:
        qs = qs.filter(item=item)
    if kind:
        qs = qs.filter(kind=kind)
    tz = timezone.get_current_timezone()
    if since is not None:
        qs = qs.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=tz))
    if until is not None:
        qs = qs.filter(at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    return qs.order_by("-at", "-pk")


def count_list(*, actor: User | None, point: HoldingPoint) -> QuerySet[StockCount]:
    return _scoped(StockCount.objects.filter(point=point).select_related("counted_by"), actor)


# --- transfers ------------------------------------------------------------------------------------------------


def transfer_list(*, actor: User | None, status: str = "") -> QuerySet[Transfer]:
    """Transfers the actor's area receives (the row's ``org_code``) or sends (the sending point's)."""
    qs = Transfer.objects.select_related("from_point", "to_point", "requested_by")
    if actor is not None:
        receiving = scoped(qs, actor)
        code = getattr(actor, "org_code", "")
        # Only an account that sees anything at all (staff with an area) also sees what its area sends: an
        # empty code would make the prefix test match every row.
        if receiving.query.is_empty() or not code:
            return receiving
        qs = receiving | qs.filter(prefix_q("from_point__org_code", code))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-pk")


def transfer_lots(transfer: Transfer) -> QuerySet[ShippedLot]:
    """What left the sender for ``transfer`` (an already scoped transfer), per batch."""
    return (
        ShippedLot.objects.filter(line__transfer=transfer)
        .select_related("batch", "line__item")
        .order_by("pk")
    )


def linkable_places(*, actor: User) -> dict[str, object]:
    """The places in the actor's area a holding point may serve, keyed ``s:<pk>`` (sampling point),
    ``q:<pk>`` (centralised quarantine site) and ``v:<pk>`` (vaccination site)."""
    from epigrid.quarantine.models import Site, SiteKind
    from epigrid.testing.models import SamplingPoint
    from epigrid.vaccination.models import VaccinationSite

    found: dict[str, object] = {}
    for prefix, qs in (
        ("s", SamplingPoint.objects.filter(active=True)),
        ("q", Site.objects.filter(kind=SiteKind.CENTRALISED)),
        ("v", VaccinationSite.objects.filter(active=True)),
    ):
        for obj in scoped(qs, actor).order_by("name")[:500]:
            found[f"{prefix}:{obj.pk}"] = obj
    return found


def transfer_get(*, actor: User | None, pk: int) -> Transfer:
    transfer = transfer_list(actor=actor).filter(pk=pk).first()
    if transfer is None:
        raise Http404
    return transfer


# --- alerts ---------------------------------------------------------------------------------------------------


def rate_days() -> int:
    return max(1, int(general_rule("supplies_rate_days", 14)))


def expiry_warning_days() -> int:
    return max(0, int(general_rule("supplies_expiry_warning_days", 30)))


def consumption_rates(points: QuerySet, *, now: dt.datetime | None = None) -> dict[tuple[int, int], float]:
    """(point pk, item pk) → units used a day, over the last ``supplies_rate_days`` days (CONSUME lines)."""
    now = now or timezone.now()
    days = rate_days()
    rows = (
        Movement.objects.filter(
            point__in=points, kind=MovementKind.CONSUME, at__gte=now - dt.timedelta(days=days), at__lte=now
        )
        .values("point_id", "item_id")
        .annotate(used=Sum("quantity"))
        .order_by()
    )
    return {(r["point_id"], r["item_id"]): -r["used"] / days for r in rows if r["used"]}


BELOW_MIN = "below_min"
LOW_COVER = "low_cover"
EXPIRING = "expiring"
EXPIRED = "expired"


@dataclass
class Alert:
    kind: str
    point: HoldingPoint
    item: Item
    on_hand: int  # usable units of the item (the batch's units for expiry alerts)
    min_quantity: int = 0
    min_cover_days: int = 0
    cover_days: float | None = None  # at the current rate; None when nothing is being used
    rate: float = 0.0
    batch: Batch | None = None

    @property
    def is_shortage(self) -> bool:
        return self.kind in (BELOW_MIN, LOW_COVER)


def alerts(
    *, actor: User | None, point: HoldingPoint | None = None, now: dt.datetime | None = None
) -> list[Alert]:
    """Shortages (below the minimum level — strictly —, fewer days of cover than the rule asks) and batches
    on hand that expire within ``supplies_expiry_warning_days`` days (or have expired)."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    points = point_list(actor=actor, active_only=True)
    if point is not None:
        points = points.filter(pk=point.pk)
    on_hand = _usable_totals(points, day)
    rates = consumption_rates(points, now=now)
    found: list[Alert] = []
    for rule in ReorderRule.objects.filter(point__in=points).select_related("point", "item"):
        key = (rule.point_id, rule.item_id)
        have, rate = on_hand.get(key, 0), rates.get(key, 0.0)
        cover = have / rate if rate > 0 else None
        common = {
            "point": rule.point,
            "item": rule.item,
            "on_hand": have,
            "min_quantity": rule.min_quantity,
            "min_cover_days": rule.min_cover_days,
            "cover_days": cover,
            "rate": rate,
        }
        if have < rule.min_quantity:
            found.append(Alert(BELOW_MIN, **common))
        elif rule.min_cover_days and cover is not None and cover < rule.min_cover_days:
            found.append(Alert(LOW_COVER, **common))
    horizon = day + dt.timedelta(days=expiry_warning_days())
    expiring = (
        Stock.objects.filter(point__in=points, quantity__gt=0, batch__expires_on__lte=horizon)
        .select_related("point", "item", "batch")
        .order_by("batch__expires_on", "point__name")
    )
    for stock in expiring:
        kind = EXPIRED if stock.batch.expires_on < day else EXPIRING
        found.append(Alert(kind, stock.point, stock.item, stock.quantity, batch=stock.batch))
    return found


def alert_counts(found: list[Alert]) -> dict[int, dict[str, int]]:
    """point pk → {alert kind: how many}, for the badges of the overview."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for alert in found:
        counts[alert.point.pk][alert.kind] += 1
    return {pk: dict(kinds) for pk, kinds in counts.items()}


# --- forecast -------------------------------------------------------------------------------------------------


@dataclass
class ForecastRow:
    point: HoldingPoint
    item: Item
    driver: str
    amount: float  # people sampled, tubes, person-days in quarantine or doses booked in the window
    need: int
    on_hand: int

    @property
    def shortfall(self) -> int:
        return max(0, self.need - self.on_hand)


def pool_size() -> int:
    return max(1, int(general_rule("supplies_pool_size", DEFAULT_POOL)))


def _sampled_people(points: list[HoldingPoint], start: dt.date, end: dt.date) -> dict[int, float]:
    """Point pk → people the testing rounds of the window will sample there: each round's target split
    evenly over the sampling points inside its area (all of them, in scope or not)."""
    from epigrid.testing.models import TestingRound

    rounds = list(
        TestingRound.objects.filter(day__gte=start, day__lt=end).values_list("org_code", "target_population")
    )
    if not rounds:
        return {}
    samplers = list(
        HoldingPoint.objects.filter(kind=PointKind.SAMPLING_POINT, active=True).values_list("pk", "org_code")
    )
    people: dict[int, float] = defaultdict(float)
    for code, target in rounds:
        inside = [pk for pk, org in samplers if org.startswith(code)]
        for pk in inside:
            people[pk] += target / len(inside)
    wanted = {p.pk for p in points}
    return {pk: n for pk, n in people.items() if pk in wanted}


def _occupancy(points: list[HoldingPoint]) -> dict[int, int]:
    from epigrid.quarantine.models import Placement, PlacementStatus

    sites = {p.quarantine_site_id: p.pk for p in points if p.quarantine_site_id}
    if not sites:
        return {}
    rows = (
        Placement.objects.filter(site_id__in=sites, status=PlacementStatus.ACTIVE)
        .values("site_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {sites[r["site_id"]]: r["n"] for r in rows}


def _bookings(points: list[HoldingPoint], now: dt.datetime, until: dt.datetime) -> dict[int, int]:
    from epigrid.vaccination.models import Booking, BookingStatus

    sites = {p.vaccination_site_id: p.pk for p in points if p.vaccination_site_id}
    if not sites:
        return {}
    rows = (
        Booking.objects.filter(
            slot__site_id__in=sites,
            status=BookingStatus.BOOKED,
            slot__starts_at__gte=now,
            slot__starts_at__lt=until,
        )
        .values("slot__site_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {sites[r["slot__site_id"]]: r["n"] for r in rows}


def forecast(*, actor: User | None, days: int = 7, now: dt.datetime | None = None) -> list[ForecastRow]:
    """Needs of the next ``days`` days (today included) per point and forecast item: people sampled (or
    tubes of ``supplies_pool_size``, default 10) by the testing rounds in the point's area, person-days of
    the people now in quarantine at the point's site, doses booked at its clinic — each × the item's rate,
    rounded up — against the usable stock on hand."""
    days = max(1, min(int(days), 90))
    now = now or timezone.now()
    start = timezone.localdate(now)
    end = start + dt.timedelta(days=days)
    until = dt.datetime.combine(end, dt.time.min, tzinfo=timezone.get_current_timezone())
    points_qs = point_list(actor=actor)
    points = list(points_qs)
    items: dict[str, list[Item]] = defaultdict(list)
    for item in Item.objects.filter(active=True).exclude(forecast_driver=ForecastDriver.NONE):
        items[item.forecast_driver].append(item)
    if not points or not items:
        return []
    sampled = (
        _sampled_people(points, start, end)
        if items.keys() & {ForecastDriver.PERSON_SAMPLED, ForecastDriver.TUBE}
        else {}
    )
    occupied = _occupancy(points) if ForecastDriver.QUARANTINE_DAY in items else {}
    booked = _bookings(points, now, until) if ForecastDriver.DOSE in items else {}
    on_hand = _usable_totals(points_qs, start)
    pool = pool_size()
    rows: list[ForecastRow] = []
    for point in points:
        amounts = {
            ForecastDriver.PERSON_SAMPLED: sampled.get(point.pk, 0.0),
            ForecastDriver.TUBE: math.ceil(sampled.get(point.pk, 0.0) / pool - 1e-9),
            ForecastDriver.QUARANTINE_DAY: occupied.get(point.pk, 0) * days,
            ForecastDriver.DOSE: booked.get(point.pk, 0),
        }
        for driver, amount in amounts.items():
            if not amount:
                continue
            for item in items.get(driver, ()):
                need = math.ceil(Decimal(str(round(amount, 6))) * item.forecast_rate)
                if need:
                    rows.append(
                        ForecastRow(point, item, driver, amount, need, on_hand.get((point.pk, item.pk), 0))
                    )
    rows.sort(key=lambda r: (-r.shortfall, r.point.name, r.item.code))
    return rows
