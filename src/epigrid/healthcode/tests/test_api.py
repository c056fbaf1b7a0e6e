"""The health-code contract endpoints: GET /api/v1/me/health-code and POST /api/v1/health-codes/verify."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import jwt
import pytest
from django.utils import timezone

from epigrid.core import signing
from epigrid.healthcode import services


def post(client, path, body):
    return client.post(
        path, json.dumps(body, default=str), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


@pytest.fixture
def resident(users, api_client):
    return api_client(users["resident"])


@pytest.fixture
def door(users, api_client):
    return api_client(users["grid_worker"])


def test_my_code_green_by_default_with_a_short_lived_qr(resident):
    body = resident.get("/api/v1/me/health-code").json()
    assert body["colour"] == "green"
    assert set(body) >= {"colour", "reason", "since", "qr"}
    claims = jwt.decode(body["qr"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60


def test_my_code_explains_a_yellow(resident, person_a):
    services.facts_update(actor=None, person_ids=[person_a.pk], changes={"fever_at": timezone.now()})
    body = resident.get("/api/v1/me/health-code").json()
    assert body["colour"] == "yellow"
    assert body["reason"] == "近3天有发热症状" and body["to_green"] == "核酸检测阴性后转绿"
    assert body["since"] is not None


def test_staff_without_a_person_get_404(users, api_client):
    assert api_client(users["commander"]).get("/api/v1/me/health-code").status_code == 404


def test_door_verifies_a_fresh_code(resident, door, person_a):
    qr = resident.get("/api/v1/me/health-code").json()["qr"]
    body = post(door, "/api/v1/health-codes/verify", {"qr": qr}).json()
    assert body["valid"] is True
    assert body["colour"] == "green"
    assert body["name_masked"] == person_a.name_masked


def test_verify_reports_the_colour_now_not_when_shown(resident, door, person_a):
    qr = resident.get("/api/v1/me/health-code").json()["qr"]
    services.facts_update(
        actor=None, person_ids=[person_a.pk], changes={"contact_tier": "close", "contact_at": timezone.now()}
    )
    assert post(door, "/api/v1/health-codes/verify", {"qr": qr}).json()["colour"] == "red"


def test_expired_code(door, person_a):
    now = int(time.time())
    expired = signing.sign("hc", {"p": person_a.pk, "iat": now - 120, "exp": now - 60})
    body = post(door, "/api/v1/health-codes/verify", {"qr": expired}).json()
    assert body["valid"] is False and body["reason"] == "expired"
    assert "expired" in body["detail"]
    assert body["colour"] is None and body["name_masked"] is None


def test_forged_and_garbled_codes(door, person_a):
    private_pem, _ = signing.generate_key_pair()
    signing.sign("hc", {"p": 1, "iat": 1})  # our key exists
    forged = jwt.encode(
        {"p": person_a.pk, "iat": int(time.time()), "exp": int(time.time()) + 60},
        private_pem,
        algorithm="ES256",
        headers={"kid": "k-somebody", "typ": "hc"},
    )
    for qr, reason in [
        (forged, "forged"),
        ("hello", "garbled"),
        ("", "garbled"),
        ("https://example.com/s/abc", "garbled"),
    ]:
        body = post(door, "/api/v1/health-codes/verify", {"qr": qr}).json()
        assert (body["valid"], body["reason"]) == (False, reason)
        assert body["detail"]


def test_a_venue_code_is_not_a_personal_code(door, jurisdiction):
    from epigrid.places.codes import venue_token
    from epigrid.places.tests.factories import VenueFactory

    token = venue_token(VenueFactory(grid=jurisdiction.grid_a))
    assert post(door, "/api/v1/health-codes/verify", {"qr": token}).json()["reason"] == "wrong_kind"


def test_only_door_roles_verify(users, api_client, resident):
    qr = resident.get("/api/v1/me/health-code").json()["qr"]
    assert (
        post(api_client(users["lab_technician"]), "/api/v1/health-codes/verify", {"qr": qr}).status_code
        == 403
    )
    assert post(resident, "/api/v1/health-codes/verify", {"qr": qr}).status_code == 403


def test_travel_declaration_and_appeal_through_the_api(resident, users):
    services.risk_area_designate(
        actor=users["epidemiologist"],
        data=services.RiskAreaInput(name="某市", level="medium", kind="region", region_code="440300"),
    )
    client_id = str(uuid.uuid4())
    body = {
        "from_region_code": "440305",
        "arrived_at": (timezone.now() - dt.timedelta(days=1)).isoformat(),
        "client_id": client_id,
    }
    assert post(resident, "/api/v1/me/travel-declarations", body).status_code == 201
    assert post(resident, "/api/v1/me/travel-declarations", body).status_code == 201  # replay: same record
    assert resident.get("/api/v1/me/health-code").json()["colour"] == "yellow"
    appeal = post(resident, "/api/v1/me/health-code/appeals", {"note": "只是途经，未停留"})
    assert appeal.status_code == 201 and appeal.json()["colour"] == "yellow"
    assert post(resident, "/api/v1/me/health-code/appeals", {"note": "again"}).status_code == 409


def test_public_risk_area_list(db, users):
    from django.test import Client

    services.risk_area_designate(
        actor=users["epidemiologist"],
        data=services.RiskAreaInput(name="上海市浦东新区", level="high", kind="region", region_code="310115"),
    )
    body = Client().get("/api/v1/risk-areas").json()
    assert [(a["name"], a["level"]) for a in body] == [("上海市浦东新区", "high")]
