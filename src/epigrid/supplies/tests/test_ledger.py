"""Ledger arithmetic: stock is the sum of the ledger, never negative; adjustments, write-offs, counts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Event
from epigrid.supplies.models import Batch, Movement, MovementKind, Stock
from epigrid.supplies.services import ledger
from epigrid.supplies.tests import factories


@pytest.fixture
def point(jurisdiction):
    return factories.point(jurisdiction.grid_a)


@pytest.fixture
def masks():
    return factories.item()


def test_receive_and_consume_keep_a_running_balance(point, masks):
    factories.receive(point, masks, 100)
    used = ledger.stock_consume(actor=None, point=point, item=masks, quantity=30)
    factories.receive(point, masks, 5)
    lines = list(Movement.objects.filter(point=point).order_by("pk"))
    assert [(m.kind, m.quantity, m.balance_after) for m in lines] == [
        (MovementKind.RECEIVE, 100, 100),
        (MovementKind.CONSUME, -30, 70),
        (MovementKind.RECEIVE, 5, 75),
    ]
    assert used.quantity == -30 and factories.on_hand(point, masks) == 75
    assert ledger.stock_reconcile().ok
    assert set(Event.objects.filter(type__startswith="supplies.").values_list("type", flat=True)) == {
        "supplies.received",
        "supplies.consumed",
    }
    assert Event.objects.filter(type="supplies.consumed").get().org_code == point.org_code


def test_consuming_more_than_on_hand_is_refused_whole_with_the_numbers(point, masks):
    factories.receive(point, masks, 10)
    with pytest.raises(Conflict) as refused:
        ledger.stock_consume(actor=None, point=point, item=masks, quantity=11)
    assert str(refused.value) == (
        f"Not enough {masks.name} at {point.name}: 10 {masks.unit} on hand, 11 asked."
    )
    assert factories.on_hand(point, masks) == 10
    assert Movement.objects.filter(kind=MovementKind.CONSUME).count() == 0
    ledger.stock_consume(actor=None, point=point, item=masks, quantity=10)  # exactly all of it is fine
    assert factories.on_hand(point, masks) == 0


def test_consumption_takes_first_expiry_first_across_lots_and_skips_expired(point):
    swabs = factories.item(shelf_life_days=365)
    factories.receive(point, swabs, 5, lot="LATE", expires_in_days=200)
    factories.receive(point, swabs, 3, lot="SOON", expires_in_days=20)
    expired = factories.expired_batch(point, swabs, 50)
    result = ledger.stock_consume(actor=None, point=point, item=swabs, quantity=6, client_id="c-1")
    assert [(m.batch.lot_number, m.quantity) for m in result.movements] == [("SOON", -3), ("LATE", -3)]
    assert [m.client_id for m in result.movements] == ["c-1", "c-1#2"]
    assert Stock.objects.get(point=point, batch=expired).quantity == 50  # waits for its write-off
    with pytest.raises(Conflict, match="2 个 on hand, 3 asked"):
        ledger.stock_consume(actor=None, point=point, item=swabs, quantity=3)
    with pytest.raises(DomainError, match="write it off"):
        ledger.stock_consume(actor=None, point=point, item=swabs, quantity=1, batch=expired)


def test_a_replayed_client_id_returns_the_first_result_and_books_nothing(point, masks):
    factories.receive(point, masks, 20)
    cid = str(uuid.uuid4())
    first = ledger.stock_consume(actor=None, point=point, item=masks, quantity=4, client_id=cid)
    again = ledger.stock_consume(actor=None, point=point, item=masks, quantity=4, client_id=cid)
    assert again.replayed and not first.replayed
    assert [m.pk for m in again.movements] == [m.pk for m in first.movements]
    assert factories.on_hand(point, masks) == 16
    received = ledger.stock_receive(actor=None, point=point, item=masks, quantity=9, client_id="r-1")
    assert ledger.stock_receive(
        actor=None, point=point, item=masks, quantity=9, client_id="r-1"
    ).movements == (received.movements)
    assert factories.on_hand(point, masks) == 25
    with pytest.raises(Conflict, match="another entry"):
        ledger.stock_consume(actor=None, point=point, item=masks, quantity=1, client_id="r-1")


def test_bad_receipts_are_refused_precisely(point, masks):
    swabs = factories.item(shelf_life_days=365)
    with pytest.raises(DomainError, match="whole number from 1"):
        ledger.stock_receive(actor=None, point=point, item=masks, quantity=0)
    with pytest.raises(DomainError, match="give its lot number and expiry date") as missing:
        ledger.stock_receive(actor=None, point=point, item=swabs, quantity=5)
    assert missing.value.field == "lot_number"
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with pytest.raises(DomainError, match="expired supplies are not received"):
        ledger.stock_receive(
            actor=None, point=point, item=swabs, quantity=5, lot_number="X", expires_on=yesterday
        )
    factories.receive(point, swabs, 5, lot="A1", expires_in_days=100)
    with pytest.raises(DomainError, match=r"Lot A1 of .* expires on"):
        factories.receive(point, swabs, 5, lot="A1", expires_in_days=101)
    assert Movement.objects.count() == 1 and Batch.objects.filter(item=swabs).count() == 1


def test_an_adjustment_needs_a_reason_and_may_reach_zero_never_below(point, masks, users):
    factories.receive(point, masks, 10)
    batch = Batch.objects.get(item=masks)
    with pytest.raises(DomainError, match="needs its reason"):
        ledger.stock_adjust(actor=None, point=point, batch=batch, quantity=-2, reason="  ")
    with pytest.raises(Conflict, match="down to zero, not below: 10 on hand, 11 taken off"):
        ledger.stock_adjust(actor=None, point=point, batch=batch, quantity=-11, reason="受潮")
    line = ledger.stock_adjust(
        actor=users["supplies_officer"], point=point, batch=batch, quantity=-10, reason="受潮"
    )
    assert (line.kind, line.quantity, line.balance_after, line.reason) == (
        MovementKind.ADJUST,
        -10,
        0,
        "受潮",
    )
    with pytest.raises(Forbidden):  # a sampler uses and receives, but does not correct the books
        ledger.stock_adjust(actor=users["sampler"], point=point, batch=batch, quantity=1, reason="找到")
    assert ledger.stock_reconcile().ok


def test_write_off_takes_every_expired_batch_or_a_chosen_one(point, masks):
    swabs = factories.item(shelf_life_days=365)
    old_masks = factories.expired_batch(point, masks, 7)
    old_swabs = factories.expired_batch(point, swabs, 4)
    factories.receive(point, swabs, 9, lot="GOOD", expires_in_days=90)
    good = Batch.objects.get(lot_number="GOOD")
    with pytest.raises(DomainError, match="has not expired"):
        ledger.stock_write_off(actor=None, point=point, batch=good)
    one = ledger.stock_write_off(actor=None, point=point, batch=old_masks)
    assert [(m.batch_id, m.quantity, m.kind) for m in one] == [(old_masks.pk, -7, MovementKind.WRITE_OFF)]
    rest = ledger.stock_write_off(actor=None, point=point)
    assert [(m.batch_id, m.quantity) for m in rest] == [(old_swabs.pk, -4)]
    assert factories.on_hand(point, swabs) == 9
    with pytest.raises(DomainError, match="Nothing expired is on hand"):
        ledger.stock_write_off(actor=None, point=point)


def test_a_count_books_each_difference_and_leaves_uncounted_batches(point, masks):
    gloves = factories.item()
    factories.receive(point, masks, 50)
    factories.receive(point, gloves, 20)
    mask_batch, glove_batch = Batch.objects.get(item=masks), Batch.objects.get(item=gloves)
    swabs = factories.item(shelf_life_days=365)
    factories.receive(point, swabs, 1, lot="S1", expires_in_days=30)
    swab_batch = Batch.objects.get(item=swabs)
    count = ledger.stock_count_record(
        actor=None,
        point=point,
        counts=[(mask_batch, 47), (glove_batch, 20), (swab_batch, 3)],
        note="月底盘点",
    )
    assert [(line.expected, line.counted) for line in count.lines.all()] == [(50, 47), (20, 20), (1, 3)]
    booked = {m.batch_id: (m.quantity, m.balance_after) for m in count.movements.all()}
    assert booked == {mask_batch.pk: (-3, 47), swab_batch.pk: (2, 3)}
    assert all(m.kind == MovementKind.COUNT for m in count.movements.all())
    assert ledger.stock_reconcile(point=point).ok
    with pytest.raises(DomainError, match="counted twice"):
        ledger.stock_count_record(actor=None, point=point, counts=[(mask_batch, 1), (mask_batch, 2)])


def test_reconcile_finds_a_tampered_balance(point, masks):
    factories.receive(point, masks, 10)
    ledger.stock_consume(actor=None, point=point, item=masks, quantity=3)
    assert ledger.stock_reconcile().checked == 1 and ledger.stock_reconcile().ok
    stock = Stock.objects.get(point=point)
    Stock.objects.filter(pk=stock.pk).update(quantity=12)  # edited behind the services' back
    report = ledger.stock_reconcile()
    assert not report.ok
    assert report.differences == [ledger.Difference(point.pk, stock.batch_id, stock=12, ledger=7)]


def test_staff_act_only_at_points_of_their_area(jurisdiction, users, masks):
    inside, outside = factories.point(jurisdiction.grid_a), factories.point(jurisdiction.grid_b)
    officer = users["community_officer"]  # community A
    ledger.stock_receive(actor=officer, point=inside, item=masks, quantity=3)
    with pytest.raises(Forbidden, match="outside your area"):
        ledger.stock_receive(actor=officer, point=outside, item=masks, quantity=3)
    with pytest.raises(Forbidden):
        ledger.stock_receive(actor=users["grid_worker"], point=inside, item=masks, quantity=3)
    assert Movement.objects.get().actor == officer
