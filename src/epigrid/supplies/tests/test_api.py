"""The phone API: stock at a point, receipts and uses with client ids; errors as {"detail"}."""

from __future__ import annotations

import json

import pytest

from epigrid.supplies.models import Movement, PointKind
from epigrid.supplies.tests import factories

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def post(client, body):
    return client.post("/api/v1/supplies/movements", json.dumps(body), content_type="application/json", **EN)


@pytest.fixture
def world(jurisdiction):
    point = factories.point(jurisdiction.grid_a, name="A采样点")
    far = factories.point(jurisdiction.grid_b, kind=PointKind.QUARANTINE_SITE, name="B隔离点")
    swabs = factories.item(shelf_life_days=365, name="采样拭子", unit="支")
    factories.receive(point, swabs, 5, lot="SOON", expires_in_days=10)
    factories.receive(point, swabs, 20, lot="LATE", expires_in_days=200)
    factories.expired_batch(point, swabs, 7)
    return point, far, swabs


def test_stock_lists_lots_first_expiry_first_and_counts_only_usable(world, users, api_client):
    point, _far, swabs = world
    response = api_client(users["community_officer"]).get(f"/api/v1/supplies/stock?point={point.pk}", **EN)
    assert response.status_code == 200
    body = response.json()
    [item] = body["items"]
    assert (item["item_id"], item["on_hand"], item["unit"]) == (swabs.pk, 25, "支")
    assert [(lot["quantity"], lot["expired"]) for lot in item["lots"]] == [(7, True), (5, False), (20, False)]


def test_a_use_is_recorded_once_per_client_id(world, users, api_client):
    point, _far, swabs = world
    client = api_client(users["sampler"])
    body = {
        "point_id": point.pk,
        "item_id": swabs.pk,
        "kind": "consume",
        "quantity": 8,
        "client_id": "phone-7",
    }
    first = post(client, body)
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["quantity"] == -8 and data["on_hand"] == 17 + 7 and not data["replayed"]
    assert [(line["lot_number"], line["quantity"]) for line in data["lines"]] == [("SOON", -5), ("LATE", -3)]
    again = post(client, body)
    assert again.status_code == 200 and again.json()["replayed"]
    assert again.json()["lines"] == data["lines"]
    assert Movement.objects.filter(kind="consume").count() == 2  # the two lots of the first submission


def test_a_receipt_and_the_errors(world, users, api_client):
    point, far, swabs = world
    client = api_client(users["community_officer"])
    receipt = {
        "point_id": point.pk,
        "item_id": swabs.pk,
        "kind": "receive",
        "quantity": 50,
        "lot_number": "NEW",
        "expires_on": "2099-01-01",
    }
    assert post(client, receipt).status_code == 201
    too_much = post(client, {"point_id": point.pk, "item_id": swabs.pk, "kind": "consume", "quantity": 1000})
    assert too_much.status_code == 409
    assert too_much.json()["detail"] == "Not enough 采样拭子 at A采样点: 75 支 on hand, 1000 asked."
    no_lot = post(client, {**receipt, "lot_number": "", "expires_on": None})
    assert no_lot.status_code == 400 and no_lot.json()["field"] == "lot_number"
    assert post(client, {**receipt, "point_id": far.pk}).status_code == 404  # community B: not theirs
    assert post(client, {**receipt, "quantity": 0}).status_code == 422
    reader = api_client(users["commander"])  # sees supplies, does not move them
    assert post(reader, receipt).status_code == 403
    assert api_client(users["grid_worker"]).get(f"/api/v1/supplies/stock?point={point.pk}").status_code == 403
    assert "detail" in api_client(users["grid_worker"]).get(f"/api/v1/supplies/stock?point={point.pk}").json()
