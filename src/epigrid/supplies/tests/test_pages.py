"""The supplies pages per role: who may open what (403), what is out of scope (404), and the forms that
change stock and move transfers along."""

from __future__ import annotations

import io
import uuid

import pytest
from openpyxl import load_workbook

from epigrid.core.testing import may, shows
from epigrid.supplies.models import Movement, MovementKind, PointKind, ShippedLot, Transfer, TransferStatus
from epigrid.supplies.services import catalogue, ledger, transfers
from epigrid.supplies.tests import factories

ROLES = [
    "supplies_officer",
    "sampler",
    "quarantine_manager",
    "community_officer",
    "commander",
    "grid_worker",
    "waste_handler",
    "resident",
]


@pytest.fixture
def world(jurisdiction):
    store = factories.point(jurisdiction.district, kind=PointKind.DISTRICT_STORE, name="区物资仓库")
    point_a = factories.point(jurisdiction.grid_a, name="A采样点")
    point_b = factories.point(jurisdiction.grid_b, name="B采样点")
    masks = factories.item(name="医用外科口罩", unit="只")
    factories.receive(store, masks, 100)
    factories.receive(point_a, masks, 10)
    factories.receive(point_b, masks, 10)
    transfer_a = transfers.transfer_request(
        actor=None, from_point=store, to_point=point_a, lines=[(masks, 5)]
    )
    transfer_b = transfers.transfer_request(
        actor=None, from_point=store, to_point=point_b, lines=[(masks, 5)]
    )
    catalogue.reorder_rule_set(actor=None, point=point_a, item=masks, min_quantity=20)
    return {
        "store": store,
        "a": point_a,
        "b": point_b,
        "masks": masks,
        "transfer_a": transfer_a,
        "transfer_b": transfer_b,
    }


def _urls(world):
    return {
        "/supplies/": "supplies.view",
        f"/supplies/points/{world['a'].pk}/": "supplies.view",
        "/supplies/transfers/": "supplies.view",
        f"/supplies/transfers/{world['transfer_a'].pk}/": "supplies.view",
        "/supplies/transfers/new/": "supplies.move",
        "/supplies/forecast/": "supplies.view",
        "/supplies/catalogue/": "supplies.manage",
        "/supplies/stock.xlsx": "supplies.view",
        f"/supplies/points/{world['a'].pk}/ledger.xlsx": "supplies.view",
    }


@pytest.mark.parametrize("role", ROLES)
def test_each_page_answers_by_the_role_s_permission(role, users, login_client, world):
    client = login_client(users[role])
    for url, perm in _urls(world).items():
        expected = 200 if may(role, perm) else 403
        assert client.get(url).status_code == expected, (role, url)


def test_points_and_transfers_out_of_scope_are_404(users, login_client, world):
    client = login_client(users["community_officer"])  # community A
    assert client.get(f"/supplies/points/{world['b'].pk}/").status_code == 404
    assert client.get(f"/supplies/points/{world['b'].pk}/ledger.xlsx").status_code == 404
    assert client.get(f"/supplies/transfers/{world['transfer_b'].pk}/").status_code == 404
    assert client.get("/supplies/points/999999/").status_code == 404
    overview = client.get("/supplies/").content.decode()
    assert "A采样点" in overview and "B采样点" not in overview and "区物资仓库" not in overview
    listing = client.get("/supplies/transfers/").content.decode()
    assert f'data-transfer="{world["transfer_a"].pk}"' in listing
    assert f'data-transfer="{world["transfer_b"].pk}"' not in listing


def test_the_overview_shows_stock_and_badges(users, login_client, world):
    html = login_client(users["supplies_officer"]).get("/supplies/").content.decode()
    assert f'data-point="{world["a"].pk}"' in html
    assert 'data-alert="below_min"' in html
    assert shows(html, "%(n)s %(unit)s on hand, minimum %(min)s", n=10, unit="只", min=20)


def test_recording_use_on_the_point_page(users, login_client, world):
    point, masks = world["a"], world["masks"]
    client = login_client(users["sampler"])
    body = {"action": "consume", "item": masks.pk, "quantity": 11, "reason": "", "client_id": "page-1"}
    refused = client.post(f"/supplies/points/{point.pk}/", body)
    assert refused.status_code == 400
    assert shows(
        refused.content.decode(),
        "Not enough %(item)s at %(point)s: %(on_hand)d %(unit)s on hand, %(asked)d asked.",
        item=masks.name,
        point=point.name,
        on_hand=10,
        unit="只",
        asked=11,
    )
    ok = {**body, "quantity": 4, "client_id": str(uuid.uuid4())}
    assert client.post(f"/supplies/points/{point.pk}/", ok).status_code == 302
    assert client.post(f"/supplies/points/{point.pk}/", ok).status_code == 302  # a double submit
    assert factories.on_hand(point, masks) == 6
    assert Movement.objects.filter(point=point, kind=MovementKind.CONSUME).count() == 1


def test_receive_count_adjust_and_write_off_on_the_point_page(users, login_client, world):
    point, masks = world["a"], world["masks"]
    sampler, officer = login_client(users["sampler"]), login_client(users["supplies_officer"])
    url = f"/supplies/points/{point.pk}/"
    receipt = {
        "action": "receive",
        "item": masks.pk,
        "quantity": 5,
        "lot_number": "",
        "expires_on": "",
        "reason": "",
    }
    assert sampler.post(url, receipt).status_code == 302
    batch = point.stock.get().batch
    assert sampler.post(url, {"action": "count", f"counted_{batch.pk}": 14, "note": ""}).status_code == 302
    assert factories.on_hand(point, masks) == 14
    adjust = {"action": "adjust", "batch": batch.pk, "quantity": -2, "reason": "受潮"}
    assert sampler.post(url, adjust).status_code == 403
    no_reason = officer.post(url, {**adjust, "reason": ""})
    assert no_reason.status_code == 400
    assert officer.post(url, adjust).status_code == 302
    assert factories.on_hand(point, masks) == 12
    old = factories.expired_batch(point, masks, 3)  # a lot of masks, out of date
    assert shows(officer.get(url).content.decode(), "Write off expired stock")
    assert officer.post(url, {"action": "write_off", "batch": ""}).status_code == 302
    assert not point.stock.filter(batch=old, quantity__gt=0).exists()
    assert ledger.stock_reconcile(point=point).ok


def test_a_transfer_through_the_pages_with_a_mismatch(users, login_client, world):
    store, point, masks = world["store"], world["a"], world["masks"]
    clerk, officer = login_client(users["sampler"]), login_client(users["supplies_officer"])
    made = clerk.post(
        "/supplies/transfers/new/",
        {
            "to_point": point.pk,
            "from_point": store.pk,
            "item_0": masks.pk,
            "quantity_0": 8,
            "note": "周末采样",
        },
    )
    assert made.status_code == 302
    transfer = Transfer.objects.exclude(pk__in=[world["transfer_a"].pk, world["transfer_b"].pk]).get()
    url = f"/supplies/transfers/{transfer.pk}/"
    assert clerk.post(url, {"action": "approve"}).status_code == 403  # a sampler does not approve
    line = transfer.lines.get()
    assert officer.post(url, {"action": "approve", f"approved_{line.pk}": 6}).status_code == 302
    assert officer.post(url, {"action": "approve"}).status_code == 400  # decided already
    assert officer.post(url, {"action": "ship"}).status_code == 302
    lot = ShippedLot.objects.get(line=line)
    missing_note = clerk.post(url, {"action": "receive", f"received_{lot.pk}": 5, "note": ""})
    assert missing_note.status_code == 400
    assert shows(
        missing_note.content.decode(), "What arrived differs from what was shipped: say why in the note."
    )
    assert (
        clerk.post(url, {"action": "receive", f"received_{lot.pk}": 5, "note": "少一包"}).status_code == 302
    )
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED and transfer.has_discrepancy
    html = clerk.get(url).content.decode()
    assert 'data-mismatch="true"' in html and shows(html, "quantity mismatch")


def test_the_catalogue_adds_items_points_and_rules(users, login_client, world, jurisdiction):
    client = login_client(users["supplies_officer"])
    item = {
        "action": "item",
        "code": "N95",
        "name": "N95口罩",
        "unit": "只",
        "category": "mask",
        "shelf_life_days": 730,
        "forecast_driver": "sampled",
        "forecast_rate": "0.02",
    }
    assert client.post("/supplies/catalogue/", item).status_code == 302
    again = client.post("/supplies/catalogue/", item)
    assert again.status_code == 400 and shows(
        again.content.decode(), "An item with code %(code)s exists already.", code="N95"
    )
    point = {
        "action": "point",
        "name": "B社区仓库",
        "kind": "community_store",
        "area": jurisdiction.community_b.code,
    }
    assert client.post("/supplies/catalogue/", point).status_code == 302
    rule = {
        "action": "rule",
        "point": world["b"].pk,
        "item": world["masks"].pk,
        "min_quantity": 50,
        "min_cover_days": 3,
    }
    assert client.post("/supplies/catalogue/", rule).status_code == 302
    html = client.get("/supplies/catalogue/").content.decode()
    assert "N95口罩" in html and "B社区仓库" in html and 'data-rule="' in html


def test_exports_are_scoped_and_formula_safe(users, login_client, world):
    ledger.stock_consume(
        actor=None, point=world["a"], item=world["masks"], quantity=1, reason="=HYPERLINK(1)"
    )
    client = login_client(users["community_officer"])
    stock = load_workbook(io.BytesIO(client.get("/supplies/stock.xlsx").content)).active
    names = [row[0] for row in stock.iter_rows(min_row=2, values_only=True)]
    assert names == ["A采样点"]
    response = client.get(f"/supplies/points/{world['a'].pk}/ledger.xlsx?kind=consume")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1 and rows[0][5] == -1 and rows[0][7] == "'=HYPERLINK(1)"
