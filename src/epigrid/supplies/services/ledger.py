"""The stock ledger: receive, consume, adjust, write off, count, and the proof that stock equals the ledger.

Every change is one conditional UPDATE of the point's :class:`Stock` row (``quantity = quantity + n WHERE
quantity + n >= 0``) plus its :class:`Movement` line, in one transaction. Of two clerks taking the last units
at once, the database lets exactly one UPDATE through (SQLite has one writer at a time; PostgreSQL makes the
second UPDATE wait and re-read the row), and the CHECK ``quantity >= 0`` stands behind it. A consumption
larger than what is on hand is refused whole: nothing is booked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError
from epigrid.core.models import User
from epigrid.core.roles import Perm
from epigrid.supplies.models import (
    Batch,
    HoldingPoint,
    Item,
    Movement,
    MovementKind,
    Stock,
    StockCount,
    StockCountLine,
    Transfer,
)
from epigrid.supplies.services.catalogue import batch_for
from epigrid.supplies.services.common import clean_client_id, require_at, today

MAX_QUANTITY = 10_000_000
BACKDATE_LIMIT = dt.timedelta(days=31)  # paper records typed in later; older ones are an adjustment


@dataclass
class LedgerResult:
    """What a submission booked; ``replayed`` when it had been booked before under the same client id."""

    movements: list[Movement] = field(default_factory=list)
    replayed: bool = False

    @property
    def quantity(self) -> int:
        return sum(m.quantity for m in self.movements)


def _quantity(value: int, *, name: str = "quantity") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value > MAX_QUANTITY:
        raise DomainError(_("The quantity is a whole number from 1 to 10,000,000."), field=name)
    return value


def _when(at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        raise DomainError(_("The time needs a time zone."), field="at")
    if at > now + dt.timedelta(minutes=5):
        raise DomainError(_("The time lies in the future."), field="at")
    if at < now - BACKDATE_LIMIT:
        raise DomainError(_("Entries older than 31 days are booked as an adjustment."), field="at")
    return at


def _line_ids(client_id: str | None, count: int) -> list[str | None]:
    """One client id per ledger line of a submission: the id itself, then ``id#2``, ``id#3``..."""
    if client_id is None:
        return [None] * count
    return [client_id if i == 0 else f"{client_id}#{i + 1}" for i in range(count)]


def _replayed(client_id: str | None, *, point: HoldingPoint, kind: str) -> LedgerResult | None:
    if client_id is None:
        return None
    lines = list(
        Movement.objects.filter(Q(client_id=client_id) | Q(client_id__startswith=f"{client_id}#"))
        .select_related("item", "batch", "point")
        .order_by("pk")
    )
    if not lines:
        return None
    if lines[0].point_id != point.pk or lines[0].kind != kind:
        raise Conflict(_("This submission id was used for another entry."), field="client_id")
    return LedgerResult(lines, replayed=True)


def _short(point: HoldingPoint, item: Item, on_hand: int, asked: int) -> Conflict:
    return Conflict(
        _("Not enough %(item)s at %(point)s: %(on_hand)d %(unit)s on hand, %(asked)d asked.")
        % {"item": item.name, "point": point.name, "on_hand": on_hand, "unit": item.unit, "asked": asked},
        field="quantity",
    )


def book(
    *,
    point: HoldingPoint,
    batch: Batch,
    delta: int,
    kind: str,
    actor: User | None,
    at: dt.datetime,
    reason: str = "",
    transfer: Transfer | None = None,
    stock_count: StockCount | None = None,
    client_id: str | None = None,
) -> Movement | None:
    """One ledger line and its stock change, or None when the stock would drop below zero (the caller
    refuses with its own message; its transaction then books nothing). Call inside a transaction."""
    if delta > 0 and not Stock.objects.filter(point=point, batch=batch).exists():
        try:
            with transaction.atomic():
                Stock.objects.create(point=point, item_id=batch.item_id, batch=batch, org_code=point.org_code)
        except IntegrityError:  # a receipt racing this one made the row
            pass
    changed = Stock.objects.filter(point=point, batch=batch, quantity__gte=-delta).update(
        quantity=F("quantity") + delta, updated_at=timezone.now()
    )
    if not changed:
        return None
    # The row is ours until commit (the UPDATE locked it), so this is the balance the line leaves.
    balance = Stock.objects.filter(point=point, batch=batch).values_list("quantity", flat=True).get()
    return Movement.objects.create(
        point=point,
        item_id=batch.item_id,
        batch=batch,
        kind=kind,
        quantity=delta,
        balance_after=balance,
        reason=reason[:200],
        transfer=transfer,
        stock_count=stock_count,
        actor=actor if actor is not None and actor.pk else None,
        at=at,
        org_code=point.org_code,
        client_id=client_id,
    )


def usable_lots(point: HoldingPoint, item: Item, *, on: dt.date | None = None) -> list[Stock]:
    """The item's stock at ``point`` that may still be used, first expiry first out (no expiry last)."""
    on = on or today()
    return list(
        Stock.objects.filter(point=point, item=item, quantity__gt=0)
        .filter(Q(batch__expires_on__isnull=True) | Q(batch__expires_on__gte=on))
        .select_related("batch")
        .order_by(F("batch__expires_on").asc(nulls_last=True), "batch_id")
    )


def take_fefo(
    *,
    point: HoldingPoint,
    item: Item,
    quantity: int,
    kind: str,
    actor: User | None,
    at: dt.datetime,
    reason: str = "",
    transfer: Transfer | None = None,
    client_id: str | None = None,
) -> list[Movement]:
    """Take ``quantity`` of ``item`` from ``point``, first expiry first out, one line per batch touched;
    refused whole (Conflict) when less is usable. Call inside a transaction."""
    lots = usable_lots(point, item)
    on_hand = sum(s.quantity for s in lots)
    if on_hand < quantity:
        raise _short(point, item, on_hand, quantity)
    plan, left = [], quantity
    for stock in lots:
        if left == 0:
            break
        take = min(left, stock.quantity)
        plan.append((stock.batch, take))
        left -= take
    lines = []
    for (batch, take), line_id in zip(plan, _line_ids(client_id, len(plan)), strict=True):
        line = book(
            point=point,
            batch=batch,
            delta=-take,
            kind=kind,
            actor=actor,
            at=at,
            reason=reason,
            transfer=transfer,
            client_id=line_id,
        )
        if line is None:  # another clerk took some of it between our reading and our writing
            raise _short(point, item, sum(s.quantity for s in usable_lots(point, item)), quantity)
        lines.append(line)
    return lines


def _publish(event_type: str, point: HoldingPoint, item: Item, lines: list[Movement]) -> None:
    events.publish(
        event_type,
        payload={
            "point_id": point.pk,
            "item_id": item.pk,
            "quantity": abs(sum(m.quantity for m in lines)),
            "movement_ids": [m.pk for m in lines],
        },
        org_code=point.org_code,
    )


def _submit(client_id: str | None, point: HoldingPoint, kind: str, write) -> LedgerResult:
    """Run ``write`` once per client id: a replay (or a twin that won a race) answers with the first lines."""
    earlier = _replayed(client_id, point=point, kind=kind)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            return LedgerResult(write())
    except IntegrityError:
        earlier = _replayed(client_id, point=point, kind=kind)
        if earlier is not None:
            return earlier
        raise


def stock_receive(
    *,
    actor: User | None,
    point: HoldingPoint,
    item: Item,
    quantity: int,
    lot_number: str = "",
    expires_on: dt.date | None = None,
    reason: str = "",
    client_id: object = None,
    at: dt.datetime | None = None,
) -> LedgerResult:
    """Supplies arrive at ``point`` from outside (a supplier, a donation, the city's store)."""
    require_at(actor, Perm.SUPPLIES_MOVE, point)
    _quantity(quantity)
    when, cid = _when(at), clean_client_id(client_id)
    earlier = _replayed(cid, point=point, kind=MovementKind.RECEIVE)
    if earlier is not None:
        return earlier
    if not item.active:
        raise DomainError(_("%(item)s is no longer in use.") % {"item": item.name}, field="item")
    if not point.active:
        raise DomainError(_("%(point)s is closed.") % {"point": point.name}, field="point")
    if expires_on is not None and expires_on < timezone.localdate(when):
        raise DomainError(
            _("This lot expired on %(day)s: expired supplies are not received.")
            % {"day": expires_on.isoformat()},
            field="expires_on",
        )

    def write() -> list[Movement]:
        batch = batch_for(item=item, lot_number=lot_number, expires_on=expires_on)
        line = book(
            point=point,
            batch=batch,
            delta=quantity,
            kind=MovementKind.RECEIVE,
            actor=actor,
            at=when,
            reason=reason.strip(),
            client_id=cid,
        )
        audit_record(
            actor=actor,
            action="supplies.receive",
            obj=line,
            detail={"point": point.pk, "batch": batch.pk, "quantity": quantity},
        )
        _publish("supplies.received", point, item, [line])
        return [line]

    return _submit(cid, point, MovementKind.RECEIVE, write)


def stock_consume(
    *,
    actor: User | None,
    point: HoldingPoint,
    item: Item,
    quantity: int,
    batch: Batch | None = None,
    reason: str = "",
    client_id: object = None,
    at: dt.datetime | None = None,
) -> LedgerResult:
    """Supplies used at ``point``: from ``batch`` when given, else first expiry first out. Expired stock is
    not used (it waits for its write-off); asking for more than is usable books nothing."""
    require_at(actor, Perm.SUPPLIES_MOVE, point)
    _quantity(quantity)
    when, cid = _when(at), clean_client_id(client_id)
    if batch is not None and batch.item_id != item.pk:
        raise DomainError(_("That lot is not of %(item)s.") % {"item": item.name}, field="batch")
    if batch is not None and batch.expires_on is not None and batch.expires_on < timezone.localdate(when):
        raise DomainError(
            _("Lot %(lot)s expired on %(day)s: write it off instead of using it.")
            % {"lot": batch.lot_number, "day": batch.expires_on.isoformat()},
            field="batch",
        )

    def write() -> list[Movement]:
        if batch is None:
            lines = take_fefo(
                point=point,
                item=item,
                quantity=quantity,
                kind=MovementKind.CONSUME,
                actor=actor,
                at=when,
                reason=reason.strip(),
                client_id=cid,
            )
        else:
            line = book(
                point=point,
                batch=batch,
                delta=-quantity,
                kind=MovementKind.CONSUME,
                actor=actor,
                at=when,
                reason=reason.strip(),
                client_id=cid,
            )
            if line is None:
                on_hand = Stock.objects.filter(point=point, batch=batch).values_list("quantity", flat=True)
                raise _short(point, item, next(iter(on_hand), 0), quantity)
            lines = [line]
        audit_record(
            actor=actor,
            action="supplies.consume",
            obj=lines[0],
            detail={"point": point.pk, "item": item.pk, "quantity": quantity},
        )
        _publish("supplies.consumed", point, item, lines)
        return lines

    return _submit(cid, point, MovementKind.CONSUME, write)


def stock_adjust(
    *, actor: User | None, point: HoldingPoint, batch: Batch, quantity: int, reason: str
) -> Movement:
    """Correct a batch's stock by ``quantity`` (signed) with a reason: damaged, found, a booking error. It
    may bring the stock down to zero, never below."""
    require_at(actor, Perm.SUPPLIES_MANAGE, point)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("An adjustment needs its reason."), field="reason")
    if len(reason) > 200:
        raise DomainError(_("The reason is longer than 200 characters."), field="reason")
    if not isinstance(quantity, int) or quantity == 0 or abs(quantity) > MAX_QUANTITY:
        raise DomainError(
            _("The change is a whole number other than 0 (negative takes stock off)."), field="quantity"
        )
    with transaction.atomic():
        line = book(
            point=point,
            batch=batch,
            delta=quantity,
            kind=MovementKind.ADJUST,
            actor=actor,
            at=timezone.now(),
            reason=reason,
        )
        if line is None:
            on_hand = Stock.objects.filter(point=point, batch=batch).values_list("quantity", flat=True)
            raise Conflict(
                _(
                    "An adjustment may bring %(item)s at %(point)s down to zero, not below: %(on_hand)d on hand, "
                    "%(asked)d taken off."
                )
                % {
                    "item": batch.item.name,
                    "point": point.name,
                    "on_hand": next(iter(on_hand), 0),
                    "asked": -quantity,
                },
                field="quantity",
            )
        audit_record(
            actor=actor,
            action="supplies.adjust",
            obj=line,
            detail={"point": point.pk, "batch": batch.pk, "quantity": quantity, "reason": reason},
        )
    return line


def stock_write_off(
    *, actor: User | None, point: HoldingPoint, batch: Batch | None = None, reason: str = ""
) -> list[Movement]:
    """Write off what is on hand of expired batches at ``point``: every one, or the chosen ``batch``."""
    require_at(actor, Perm.SUPPLIES_MANAGE, point)
    day = today()
    if batch is not None and (batch.expires_on is None or batch.expires_on >= day):
        raise DomainError(
            _("Lot %(lot)s has not expired; take it off with an adjustment and its reason.")
            % {"lot": batch.lot_number or "—"},
            field="batch",
        )
    with transaction.atomic():
        rows = (
            Stock.objects.select_for_update()
            .filter(point=point, quantity__gt=0, batch__expires_on__lt=day)
            .select_related("batch", "batch__item")
        )
        if batch is not None:
            rows = rows.filter(batch=batch)
        rows = list(rows.order_by("batch__expires_on", "batch_id"))
        if not rows:
            raise DomainError(_("Nothing expired is on hand at %(point)s.") % {"point": point.name})
        now = timezone.now()
        lines = []
        for stock in rows:
            note = reason.strip() or _("expired on %(day)s") % {"day": stock.batch.expires_on.isoformat()}
            line = book(
                point=point,
                batch=stock.batch,
                delta=-stock.quantity,
                kind=MovementKind.WRITE_OFF,
                actor=actor,
                at=now,
                reason=note,
            )
            if line is None:  # cannot happen under the row lock; refuse rather than book half
                raise Conflict(_("The stock changed while writing off; try again."))
            lines.append(line)
        audit_record(
            actor=actor,
            action="supplies.write_off",
            obj=point,
            detail={"batches": [s.batch_id for s in rows], "quantity": sum(s.quantity for s in rows)},
        )
    return lines


def stock_count_record(
    *, actor: User | None, point: HoldingPoint, counts: list[tuple[Batch, int]], note: str = ""
) -> StockCount:
    """A physical count at ``point``: each counted batch's difference from the ledger is booked as a count
    line (a batch not counted is left as it is)."""
    require_at(actor, Perm.SUPPLIES_MOVE, point)
    if not counts:
        raise DomainError(_("Count at least one batch."), field="counts")
    seen: set[int] = set()
    for batch, counted in counts:
        if batch.pk in seen:
            raise DomainError(
                _("Lot %(lot)s is counted twice.") % {"lot": batch.lot_number or "—"}, field="counts"
            )
        seen.add(batch.pk)
        if not isinstance(counted, int) or counted < 0 or counted > MAX_QUANTITY:
            raise DomainError(_("A count is a whole number from 0 to 10,000,000."), field="counts")
    with transaction.atomic():
        locked = {
            s.batch_id: s.quantity
            for s in Stock.objects.select_for_update().filter(point=point, batch_id__in=seen)
        }
        now = timezone.now()
        stock_count = StockCount.objects.create(
            point=point,
            counted_by=actor if actor is not None and actor.pk else None,
            counted_at=now,
            note=(note or "").strip()[:300],
            org_code=point.org_code,
        )
        StockCountLine.objects.bulk_create(
            StockCountLine(count=stock_count, batch=batch, expected=locked.get(batch.pk, 0), counted=counted)
            for batch, counted in counts
        )
        for batch, counted in counts:
            difference = counted - locked.get(batch.pk, 0)
            if (
                difference
                and book(
                    point=point,
                    batch=batch,
                    delta=difference,
                    kind=MovementKind.COUNT,
                    actor=actor,
                    at=now,
                    reason=_("stock count"),
                    stock_count=stock_count,
                )
                is None
            ):
                raise Conflict(_("The stock changed while counting; count again."))
        audit_record(
            actor=actor,
            action="supplies.count",
            obj=stock_count,
            detail={
                "batches": len(counts),
                "differences": sum(1 for batch, counted in counts if counted != locked.get(batch.pk, 0)),
            },
        )
    return stock_count


@dataclass(frozen=True)
class Difference:
    point_id: int
    batch_id: int
    stock: int  # what the Stock row says (0 when there is none)
    ledger: int  # the sum of the ledger lines


@dataclass
class Reconciliation:
    checked: int
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return not self.differences


def stock_reconcile(*, point: HoldingPoint | None = None) -> Reconciliation:
    """Prove that every Stock row equals the sum of its ledger lines (two grouped queries), and list
    where it does not: a balance edited outside the services, or a line deleted."""
    stock = Stock.objects.all()
    lines = Movement.objects.all()
    if point is not None:
        stock, lines = stock.filter(point=point), lines.filter(point=point)
    held = {(p, b): q for p, b, q in stock.values_list("point_id", "batch_id", "quantity")}
    summed = {
        (r["point_id"], r["batch_id"]): r["total"]
        for r in lines.values("point_id", "batch_id").annotate(total=Sum("quantity")).order_by()
    }
    keys = sorted(set(held) | set(summed))
    differences = [
        Difference(p, b, held.get((p, b), 0), summed.get((p, b), 0))
        for p, b in keys
        if held.get((p, b), 0) != summed.get((p, b), 0)
    ]
    return Reconciliation(checked=len(keys), differences=differences)
