"""Transfers: request → approve → ship (first expiry first out) → receive, mismatches flagged, wrong states
refused, each side's staff acting on their own end."""

from __future__ import annotations

import pytest

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Event
from epigrid.supplies import selectors
from epigrid.supplies.models import MovementKind, PointKind, ShippedLot, TransferStatus
from epigrid.supplies.services import ledger, transfers
from epigrid.supplies.tests import factories


@pytest.fixture
def setup(jurisdiction, users):
    store = factories.point(jurisdiction.district, kind=PointKind.DISTRICT_STORE, name="区物资仓库")
    clinic = factories.point(jurisdiction.grid_a, name="A网格采样点")
    swabs = factories.item(shelf_life_days=365)
    factories.receive(store, swabs, 30, lot="LATE", expires_in_days=300)
    factories.receive(store, swabs, 10, lot="SOON", expires_in_days=40)
    return store, clinic, swabs


def _shipped(setup, users, quantity=15):
    store, clinic, swabs = setup
    transfer = transfers.transfer_request(
        actor=users["sampler"], from_point=store, to_point=clinic, lines=[(swabs, quantity)], note="本周采样"
    )
    transfers.transfer_approve(actor=users["supplies_officer"], transfer=transfer)
    return transfers.transfer_ship(actor=users["supplies_officer"], transfer=transfer)


def test_the_whole_workflow_moves_stock_first_expiry_first(setup, users):
    store, clinic, swabs = setup
    transfer = transfers.transfer_request(
        actor=users["sampler"], from_point=store, to_point=clinic, lines=[(swabs, 20)]
    )
    assert transfer.status == TransferStatus.REQUESTED and transfer.org_code == clinic.org_code
    line = transfer.lines.get()
    transfers.transfer_approve(actor=users["supplies_officer"], transfer=transfer, approved={line.pk: 15})
    line.refresh_from_db()
    assert line.approved_quantity == 15
    transfers.transfer_ship(actor=users["supplies_officer"], transfer=transfer)
    lots = list(ShippedLot.objects.filter(line=line).order_by("pk"))
    assert [(lot.batch.lot_number, lot.shipped_quantity) for lot in lots] == [("SOON", 10), ("LATE", 5)]
    assert factories.on_hand(store, swabs) == 25 and factories.on_hand(clinic, swabs) == 0
    transfers.transfer_receive(actor=users["sampler"], transfer=transfer)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED and not transfer.has_discrepancy
    assert factories.on_hand(clinic, swabs) == 15
    kinds = sorted(transfer.movements.values_list("kind", "quantity"))
    assert kinds == sorted(
        [
            (MovementKind.TRANSFER_OUT, -10),
            (MovementKind.TRANSFER_OUT, -5),
            (MovementKind.TRANSFER_IN, 10),
            (MovementKind.TRANSFER_IN, 5),
        ]
    )
    types = list(
        Event.objects.filter(type__startswith="supplies.transfer")
        .order_by("pk")
        .values_list("type", flat=True)
    )
    assert types == [
        "supplies.transfer_requested",
        "supplies.transfer_approved",
        "supplies.transfer_shipped",
        "supplies.transfer_received",
    ]
    assert ledger.stock_reconcile().ok


def test_a_quantity_mismatch_is_flagged_needs_a_note_and_is_announced(setup, users):
    _store, clinic, swabs = setup
    transfer = _shipped(setup, users)
    soon, late = ShippedLot.objects.filter(line__transfer=transfer).order_by("pk")
    with pytest.raises(DomainError, match="say why in the note"):
        transfers.transfer_receive(actor=users["sampler"], transfer=transfer, received={late.pk: 3})
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.SHIPPED  # nothing booked by the refused attempt
    transfers.transfer_receive(
        actor=users["sampler"], transfer=transfer, received={late.pk: 3}, note="两盒在途破损"
    )
    transfer.refresh_from_db()
    assert transfer.has_discrepancy and transfer.status == TransferStatus.RECEIVED
    late.refresh_from_db()
    soon.refresh_from_db()
    assert (late.shipped_quantity, late.received_quantity, late.discrepancy_note) == (5, 3, "两盒在途破损")
    assert (soon.received_quantity, soon.discrepancy_note) == (10, "")
    assert factories.on_hand(clinic, swabs) == 13
    mismatch = Event.objects.get(type="supplies.transfer_mismatch")
    assert mismatch.org_code == clinic.org_code
    assert mismatch.payload["lots"] == [
        {"lot_id": late.pk, "batch_id": late.batch_id, "shipped": 5, "received": 3}
    ]


def test_wrong_states_are_refused(setup, users):
    store, clinic, swabs = setup
    officer = users["supplies_officer"]
    transfer = transfers.transfer_request(actor=None, from_point=store, to_point=clinic, lines=[(swabs, 5)])
    with pytest.raises(Conflict, match="Requested"):
        transfers.transfer_ship(actor=officer, transfer=transfer)
    with pytest.raises(Conflict):
        transfers.transfer_receive(actor=officer, transfer=transfer)
    transfers.transfer_approve(actor=officer, transfer=transfer)
    with pytest.raises(Conflict, match="Approved"):
        transfers.transfer_approve(actor=officer, transfer=transfer)
    with pytest.raises(Conflict):
        transfers.transfer_reject(actor=officer, transfer=transfer, note="迟了")
    transfers.transfer_ship(actor=officer, transfer=transfer)
    with pytest.raises(Conflict, match="Shipped"):
        transfers.transfer_ship(actor=officer, transfer=transfer)  # a second click ships nothing more
    assert factories.on_hand(store, swabs) == 35
    rejected = transfers.transfer_request(actor=None, from_point=store, to_point=clinic, lines=[(swabs, 5)])
    with pytest.raises(DomainError, match="Say why"):
        transfers.transfer_reject(actor=officer, transfer=rejected, note="")
    transfers.transfer_reject(actor=officer, transfer=rejected, note="库存留给隔离点")
    with pytest.raises(Conflict, match="Rejected"):
        transfers.transfer_approve(actor=officer, transfer=rejected)


def test_bad_requests_and_approvals_are_refused(setup, users):
    store, clinic, swabs = setup
    with pytest.raises(DomainError, match="from itself"):
        transfers.transfer_request(actor=None, from_point=clinic, to_point=clinic, lines=[(swabs, 1)])
    with pytest.raises(DomainError, match="at least one item"):
        transfers.transfer_request(actor=None, from_point=store, to_point=clinic, lines=[(swabs, 0)])
    with pytest.raises(DomainError, match="requested twice"):
        transfers.transfer_request(
            actor=None, from_point=store, to_point=clinic, lines=[(swabs, 1), (swabs, 2)]
        )
    transfer = transfers.transfer_request(actor=None, from_point=store, to_point=clinic, lines=[(swabs, 5)])
    line = transfer.lines.get()
    with pytest.raises(DomainError, match="Approve from 0 to 5"):
        transfers.transfer_approve(actor=None, transfer=transfer, approved={line.pk: 6})
    with pytest.raises(DomainError, match="reject the request instead"):
        transfers.transfer_approve(actor=None, transfer=transfer, approved={line.pk: 0})


def test_shipping_more_than_the_sender_holds_ships_nothing(setup, users):
    store, clinic, swabs = setup
    masks = factories.item()
    factories.receive(store, masks, 2)
    transfer = transfers.transfer_request(
        actor=None, from_point=store, to_point=clinic, lines=[(swabs, 10), (masks, 5)]
    )
    transfers.transfer_approve(actor=None, transfer=transfer)
    with pytest.raises(Conflict, match=f"Not enough {masks.name} at 区物资仓库: 2 个 on hand, 5 asked"):
        transfers.transfer_ship(actor=None, transfer=transfer)
    assert factories.on_hand(store, swabs) == 40  # the swab line was not shipped either
    assert not ShippedLot.objects.exists()


def test_each_side_acts_on_its_own_end(setup, users, jurisdiction):
    store, clinic, swabs = setup
    far = factories.point(jurisdiction.grid_b, name="B网格采样点")
    sampler, officer = users["sampler"], users["community_officer"]  # officer: community A only
    with pytest.raises(Forbidden):  # a sampler approves nothing
        transfer = transfers.transfer_request(
            actor=sampler, from_point=store, to_point=clinic, lines=[(swabs, 1)]
        )
        transfers.transfer_approve(actor=sampler, transfer=transfer)
    with pytest.raises(Forbidden, match="outside your area"):
        transfers.transfer_request(actor=officer, from_point=store, to_point=far, lines=[(swabs, 1)])
    theirs = transfers.transfer_request(actor=None, from_point=clinic, to_point=far, lines=[(swabs, 1)])
    ours = transfers.transfer_request(actor=officer, from_point=store, to_point=clinic, lines=[(swabs, 1)])
    # The sender's staff see the request from B (they must ship it); B's staff do not see A's requests.
    assert set(selectors.transfer_list(actor=officer).values_list("pk", flat=True)) >= {theirs.pk, ours.pk}
    assert not selectors.transfer_list(actor=users["resident"]).exists()
    b_officer = type(officer).objects.create(
        username="officer_b", role=officer.role, org_unit=jurisdiction.community_b
    )
    assert list(selectors.transfer_list(actor=b_officer).values_list("pk", flat=True)) == [theirs.pk]
