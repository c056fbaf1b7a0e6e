"""The contract endpoints of the shared kernel (shared docs/contracts.md)."""

from __future__ import annotations

from django.test import Client

from epigrid.core.models import ApiToken
from epigrid.core.tests.factories import TEST_PASSWORD


def test_healthz(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_token_for_good_credentials_only(users):
    client = Client()
    ok = client.post(
        "/api/v1/auth/token", {"username": "sampler", "password": TEST_PASSWORD}, "application/json"
    )
    assert ok.status_code == 200
    token = ok.json()["token"]
    assert len(token) >= 32
    assert not ApiToken.objects.filter(digest=token).exists()  # only the digest is stored
    bad = client.post("/api/v1/auth/token", {"username": "sampler", "password": "wrong"}, "application/json")
    assert bad.status_code == 401
    assert "detail" in bad.json()
    missing = client.post("/api/v1/auth/token", {"username": "sampler"}, "application/json")
    assert missing.status_code == 422
    assert "password" in missing.json()["detail"]


def test_me_for_staff_and_resident(users, person_a, api_client):
    staff = api_client(users["grid_worker"]).get("/api/v1/me").json()
    assert staff["username"] == "grid_worker"
    assert staff["role"] == "grid_worker"
    assert staff["org_unit"] == users["grid_worker"].org_unit.code
    assert staff["person"] is None

    resident = api_client(users["resident"]).get("/api/v1/me").json()
    assert resident["role"] == "resident"
    assert resident["person"]["id"] == person_a.pk
    assert resident["person"]["id_number"] == person_a.id_number_masked
    assert resident["person"]["name"] == person_a.name_masked


def test_calls_without_a_valid_token_are_401(users):
    assert Client().get("/api/v1/me").status_code == 401
    forged = Client(headers={"Authorization": "Bearer not-a-token"}).get("/api/v1/me")
    assert forged.status_code == 401
    assert forged.json() == {"detail": "Authentication required."}


def test_deactivated_account_token_stops_working(users, api_client):
    from epigrid.core import services

    client = api_client(users["sampler"])
    assert client.get("/api/v1/me").status_code == 200  # now cached in this process
    services.user_deactivate(actor=users["district_admin"], user=users["sampler"], reason="离职")
    assert client.get("/api/v1/me").status_code == 401


def test_session_callers_need_csrf_for_writes(users, person_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["district_admin"])
    assert client.get("/api/v1/me").status_code == 200
    assert client.post(f"/api/v1/persons/{person_a.pk}/reveal", {}, "application/json").status_code in (
        401,
        403,
    )


def test_openapi_describes_the_contract(db):
    spec = Client().get("/api/v1/openapi.json").json()
    assert {"/api/v1/auth/token", "/api/v1/me", "/api/v1/persons"} <= set(spec["paths"])


def test_residents_cannot_list_other_people(users, person_a, person_b, api_client):
    body = api_client(users["resident"]).get("/api/v1/persons").json()
    assert [item["id"] for item in body["items"]] == [person_a.pk]


def test_org_units_are_scoped(users, jurisdiction, api_client):
    codes = {u["code"] for u in api_client(users["grid_worker"]).get("/api/v1/org-units").json()}
    assert codes == {jurisdiction.grid_a.code}
    all_codes = {u["code"] for u in api_client(users["commander"]).get("/api/v1/org-units").json()}
    assert jurisdiction.grid_b.code in all_codes and jurisdiction.district.code in all_codes
    geo = api_client(users["grid_worker"]).get("/api/v1/org-units/geojson").json()
    assert [f["properties"]["code"] for f in geo["features"]] == [jurisdiction.grid_a.code]
