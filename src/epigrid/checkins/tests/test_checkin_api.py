"""POST /api/v1/checkins exactly as contracts.md says, with every bad input of the issue."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
from django.utils import timezone

from epigrid.checkins.models import CheckIn
from epigrid.core import health, services
from epigrid.core.identity import compose_resident_id
from epigrid.core.models import Event, KeyStatus, Person, SigningKey
from epigrid.places import services as place_services
from epigrid.places.codes import venue_code_url

URL = "/api/v1/checkins"


def post(client, body):
    # Accept-Language picks the language of the messages (the site default is zh-Hans).
    return client.post(
        URL, json.dumps(body, default=str), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


@pytest.fixture
def resident(users, api_client):
    return api_client(users["resident"])


def test_resident_checks_in_and_a_replay_returns_the_same_row(resident, users, venue_a, code_a):
    client_id = str(uuid.uuid4())
    first = post(resident, {"venue_code": code_a, "client_id": client_id})
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["venue"] == {"id": venue_a.pk, "name": "海味餐厅"}
    assert body["health_code"] == {"colour": "green"}
    again = post(resident, {"venue_code": code_a, "client_id": client_id})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert CheckIn.objects.count() == 1
    stored = CheckIn.objects.get()
    assert stored.person_id == users["resident"].person_id
    # leave_at follows the restaurant's default stay (general rules: 90 minutes)
    assert stored.leave_at - stored.scanned_at == dt.timedelta(minutes=90)


def test_bare_token_works_like_the_url(resident, code_a):
    token = code_a.rsplit("/s/", 1)[1]
    assert post(resident, {"venue_code": token, "client_id": str(uuid.uuid4())}).status_code == 201


def test_client_id_reused_for_another_venue_is_a_conflict(resident, code_a, venue_b):
    client_id = str(uuid.uuid4())
    post(resident, {"venue_code": code_a, "client_id": client_id})
    other = post(resident, {"venue_code": venue_code_url(venue_b), "client_id": client_id})
    assert other.status_code == 409
    assert CheckIn.objects.count() == 1


def _edited(code: str) -> str:
    head, payload, sig = code.rsplit("/s/", 1)[1].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["v"] += 1
    return ".".join([head, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), sig])


@pytest.mark.parametrize(
    ("make_code", "reason"),
    [
        (lambda code: _edited(code), "forged"),
        (lambda code: code[:-12], "garbled"),  # a truncated signature no longer decodes
        (lambda code: code.rsplit("/s/", 1)[0] + "/s/" + "x" * 40, "garbled"),
        (lambda code: "WIFI:S:restaurant;T:WPA;P:12345678;;", "garbled"),
        (lambda code: "https://weixin.qq.com/r/abcdef", "garbled"),
        (lambda code: "", "garbled"),
    ],
)
def test_bad_codes_are_refused_and_nothing_is_stored(resident, code_a, make_code, reason):
    response = post(resident, {"venue_code": make_code(code_a), "client_id": str(uuid.uuid4())})
    assert response.status_code == 400
    assert response.json()["reason"] == reason
    assert response.json()["detail"]
    assert CheckIn.objects.count() == 0


def test_revoked_code_after_reissue(resident, users, venue_a, code_a):
    place_services.venue_code_reissue(actor=users["community_officer"], venue=venue_a, reason="海报被复制")
    response = post(resident, {"venue_code": code_a, "client_id": str(uuid.uuid4())})
    assert response.status_code == 400
    assert response.json()["reason"] == "revoked"
    fresh = venue_code_url(venue_a.__class__.objects.get(pk=venue_a.pk))
    assert post(resident, {"venue_code": fresh, "client_id": str(uuid.uuid4())}).status_code == 201


def test_code_of_a_retired_key(resident, users, code_a):
    services.signing_key_rotate(actor=users["district_admin"])
    old = SigningKey.objects.get(status=KeyStatus.VERIFY_ONLY)
    assert post(resident, {"venue_code": code_a, "client_id": str(uuid.uuid4())}).status_code == 201
    services.signing_key_retire(actor=users["district_admin"], key=old)
    response = post(resident, {"venue_code": code_a, "client_id": str(uuid.uuid4())})
    assert (response.status_code, response.json()["reason"]) == (400, "expired_key")


def test_suspended_venue(resident, users, venue_a, code_a):
    place_services.venue_suspend(actor=users["community_officer"], venue=venue_a, reason="停业整顿")
    response = post(resident, {"venue_code": code_a, "client_id": str(uuid.uuid4())})
    assert (response.status_code, response.json()["reason"]) == (400, "venue_closed")


@pytest.mark.parametrize(
    ("offset", "message"),
    [(dt.timedelta(hours=1), "in the future"), (dt.timedelta(days=-4), "older than 72 hours")],
)
def test_scan_time_out_of_range(resident, code_a, offset, message):
    body = {
        "venue_code": code_a,
        "client_id": str(uuid.uuid4()),
        "scanned_at": (timezone.now() + offset).isoformat(),
    }
    response = post(resident, body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert CheckIn.objects.count() == 0


def test_offline_replay_within_the_window_keeps_its_scan_time(resident, code_a):
    scanned = timezone.now() - dt.timedelta(hours=5)
    response = post(
        resident, {"venue_code": code_a, "client_id": str(uuid.uuid4()), "scanned_at": scanned.isoformat()}
    )
    assert response.status_code == 201
    assert abs(CheckIn.objects.get().scanned_at - scanned) < dt.timedelta(seconds=1)


def test_naive_scan_time_is_read_in_the_configured_zone(resident, code_a):
    local = timezone.localtime() - dt.timedelta(minutes=30)
    naive = local.replace(tzinfo=None).isoformat()
    assert (
        post(
            resident, {"venue_code": code_a, "client_id": str(uuid.uuid4()), "scanned_at": naive}
        ).status_code
        == 201
    )
    assert abs(CheckIn.objects.get().scanned_at - local) < dt.timedelta(seconds=1)


def test_malformed_client_id(resident, code_a):
    response = post(resident, {"venue_code": code_a, "client_id": "not-a-uuid"})
    assert response.status_code == 400
    assert "client_id" in response.json()["detail"]


def test_staff_check_in_a_person_who_is_registered_on_the_way(users, api_client, code_a):
    body = {
        "venue_code": code_a,
        "client_id": str(uuid.uuid4()),
        "person": {"id_number": "360426199101010071", "name": "王小明", "phone": "13912345678"},
    }
    response = post(api_client(users["grid_worker"]), body)
    assert response.status_code == 201, response.content
    person = Person.objects.get(name="王小明")
    assert CheckIn.objects.get().person == person
    assert CheckIn.objects.get().method == "staff"


@pytest.mark.parametrize(
    ("person", "message"),
    [
        ({"id_number": "360426199101010072", "name": "王小明"}, "check character"),
        ({"id_number": "360426199101010071", "name": "王小明", "phone": "1391234"}, "11 digits"),
        ({"id_number": "360426199101010071", "name": ""}, "name is missing"),
    ],
)
def test_invalid_person_data_is_400_and_stores_nothing(users, api_client, code_a, person, message):
    people_before = Person.objects.count()
    response = post(
        api_client(users["grid_worker"]),
        {"venue_code": code_a, "client_id": str(uuid.uuid4()), "person": person},
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Person.objects.count() == people_before
    assert CheckIn.objects.count() == 0


def test_residents_and_out_of_area_staff_cannot_check_in_others(users, api_client, resident, venue_b):
    body = {
        "venue_code": venue_code_url(venue_b),
        "client_id": str(uuid.uuid4()),
        "person": {"id_number": "360426199101010071", "name": "王小明"},
    }
    assert post(resident, body).status_code == 403
    assert post(api_client(users["grid_worker"]), body).status_code == 403  # venue B is outside grid A
    assert CheckIn.objects.count() == 0


def test_kiosk_token_checks_in_at_its_own_venue_only(users, venue_a, venue_b, code_a):
    from django.test import Client

    from epigrid.checkins.services import kiosk_create

    _kiosk, token = kiosk_create(actor=users["community_officer"], venue=venue_a, name="前台扫码机")
    kiosk = Client(headers={"Authorization": f"Bearer {token}"})
    person = {"id_number": "120103198806018241", "name": "李华"}
    ok = post(kiosk, {"venue_code": code_a, "client_id": str(uuid.uuid4()), "person": person})
    assert ok.status_code == 201
    assert CheckIn.objects.get().method == "kiosk"
    other = post(
        kiosk, {"venue_code": venue_code_url(venue_b), "client_id": str(uuid.uuid4()), "person": person}
    )
    assert other.status_code == 403


def test_unauthenticated_check_in_is_401(db, code_a):
    from django.test import Client

    assert post(Client(), {"venue_code": code_a, "client_id": str(uuid.uuid4())}).status_code == 401


def test_my_checkins_newest_first_and_checkout(resident, code_a, venue_b):
    post(
        resident,
        {
            "venue_code": code_a,
            "client_id": str(uuid.uuid4()),
            "scanned_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
        },
    )
    latest = post(resident, {"venue_code": venue_code_url(venue_b), "client_id": str(uuid.uuid4())}).json()
    mine = resident.get("/api/v1/me/checkins").json()["items"]
    assert [item["venue"]["name"] for item in mine] == ["家乐超市", "海味餐厅"]
    out = resident.post(f"/api/v1/checkins/{latest['id']}/checkout", "{}", content_type="application/json")
    assert out.status_code == 200
    assert CheckIn.objects.get(pk=latest["id"]).left_explicitly


def test_venue_code_endpoint_is_what_the_qr_holds(users, api_client, venue_a):
    body = api_client(users["grid_worker"]).get(f"/api/v1/venues/{venue_a.pk}/code").json()
    assert body["code"] == body["url"]
    assert "/s/" in body["code"]
    listed = api_client(users["grid_worker"]).get("/api/v1/venues").json()
    assert isinstance(listed, list)  # contracts.md: a list, not a page object
    assert [v["id"] for v in listed] == [venue_a.pk]
    assert set(listed[0]) >= {"id", "name", "type", "grid"}


@pytest.fixture
def yellow_codes():
    previous = health._lookup
    health.set_colour_lookup(lambda ids: {pid: health.CodeColour("yellow", "中风险地区来返") for pid in ids})
    yield
    health.set_colour_lookup(previous)


def test_yellow_code_at_a_key_place_raises_an_alarm(
    users, resident, jurisdiction, yellow_codes, django_capture_on_commit_callbacks
):
    from epigrid.places.tests.factories import VenueFactory

    hospital = VenueFactory(grid=jurisdiction.grid_a, name="开发区医院", type="hospital", key_place=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(resident, {"venue_code": venue_code_url(hospital), "client_id": str(uuid.uuid4())})
    assert response.json()["health_code"] == {"colour": "yellow"}
    alert = Event.objects.get(type="checkin.key_place_alert")
    assert alert.payload["venue_id"] == hospital.pk and alert.payload["colour"] == "yellow"
    assert alert.org_code == jurisdiction.grid_a.code


def test_over_capacity_alarm_and_occupancy(users, api_client, jurisdiction):
    from epigrid.places.tests.factories import VenueFactory

    shop = VenueFactory(grid=jurisdiction.grid_a, name="小卖部", type="shop", capacity=2)
    staff = api_client(users["grid_worker"])
    for n in range(3):
        person = {"id_number": compose_resident_id("370602", dt.date(1990, 1, n + 1), 11), "name": f"顾客{n}"}
        assert (
            post(
                staff, {"venue_code": venue_code_url(shop), "client_id": str(uuid.uuid4()), "person": person}
            ).status_code
            == 201
        )
    events = Event.objects.filter(type="venue.over_capacity")
    assert events.count() == 1 and events.get().payload["present"] == 3
    rows = staff.get("/api/v1/occupancy").json()
    assert rows[0] == {
        "venue_id": shop.pk,
        "name": "小卖部",
        "present": 3,
        "capacity": 2,
        "is_key_place": False,
        "over_capacity": True,
    }
    assert staff.get(f"/api/v1/venues/{shop.pk}/occupancy").json()["present"] == 3
