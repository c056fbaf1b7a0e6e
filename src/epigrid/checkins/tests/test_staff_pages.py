"""Check-in pages for staff and operators through the Django test client: occupancy, scanners, visitors."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from epigrid.checkins import services
from epigrid.checkins.models import CheckIn, Kiosk, Method, VisitorRegistration, VisitStatus
from epigrid.core.identity import compose_resident_id
from epigrid.core.roles import Perm, Role, has_perm
from epigrid.core.services import PersonInput
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.places.codes import venue_code_url
from epigrid.places.models import VenueType
from epigrid.places.tests.factories import VenueFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'data-testid="kiosk-token">([^<]+)<')


class _FakeUser:
    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def roles(predicate) -> list[str]:
    return [r.value for r in Role if predicate(_FakeUser(r.value))]


def hosts_visitors(user) -> bool:
    return has_perm(user, Perm.CHECKIN_RECORD) and has_perm(user, Perm.VENUE_APPLY)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return escape(translation.gettext(message))


def new_id(n: int) -> str:
    return compose_resident_id("370602", dt.date(1990, 1, 1) + dt.timedelta(days=n), 500 + n)


@pytest.fixture
def office(jurisdiction, users):
    return VenueFactory(
        grid=jurisdiction.grid_a, name="海港写字楼", type=VenueType.OFFICE, operator=users["venue_operator"]
    )


def present(venue, n: int) -> list[CheckIn]:
    people = [PersonFactory(grid=venue.grid) for _ in range(n)]
    return [
        services.checkin_record(actor=None, venue=venue, person=p, client_id=uuid.uuid4()).checkin
        for p in people
    ]


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", roles(lambda u: has_perm(u, Perm.CHECKIN_VIEW)))
def test_occupancy_opens_for_roles_that_view_checkins(login_client, users, role):
    assert login_client(users[role]).get(reverse("checkins:occupancy")).status_code == 200


@pytest.mark.parametrize("role", roles(lambda u: not has_perm(u, Perm.CHECKIN_VIEW)))
def test_occupancy_is_403_for_the_others(login_client, users, role):
    assert login_client(users[role]).get(reverse("checkins:occupancy")).status_code == 403


@pytest.mark.parametrize("role", roles(hosts_visitors))
def test_visit_pages_open_for_hosts(login_client, users, office, role):
    client = login_client(users[role])
    for name in ("checkins:visit_list", "checkins:visit_new", "checkins:visit_walk_in"):
        assert client.get(reverse(name)).status_code == 200, name


@pytest.mark.parametrize("role", roles(lambda u: not hosts_visitors(u)))
def test_visit_pages_are_403_for_the_others(login_client, users, role):
    client = login_client(users[role])
    for name in ("checkins:visit_list", "checkins:visit_new", "checkins:visit_walk_in"):
        assert client.get(reverse(name)).status_code == 403, name


def test_the_door_scanner_has_no_visit_pages(login_client, users):
    # a kiosk records check-ins but is not a host
    assert has_perm(users["venue_kiosk"], Perm.CHECKIN_RECORD)
    assert login_client(users["venue_kiosk"]).get(reverse("checkins:visit_list")).status_code == 403


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("venue_operator", {"places:venue_list", "checkins:visit_list"}),
        ("grid_worker", {"places:venue_list", "checkins:occupancy", "checkins:visit_list"}),
        ("community_officer", {"places:venue_list", "checkins:occupancy", "checkins:visit_list"}),
        ("district_admin", {"places:venue_list", "checkins:occupancy"}),
        ("venue_kiosk", set()),
        ("sampler", set()),
    ],
)
def test_navigation_links_the_pages_each_role_may_open(login_client, users, role, expected):
    html = login_client(users[role]).get(reverse("core:home")).content.decode()
    for name in ("places:venue_list", "checkins:occupancy", "checkins:visit_list"):
        assert (f'href="{reverse(name)}"' in html) == (name in expected), name


# --- occupancy ------------------------------------------------------------------------------------


def test_occupancy_counts_present_checkins_and_flags_over_capacity(login_client, users, jurisdiction):
    small = VenueFactory(grid=jurisdiction.grid_a, name="小面馆", capacity=2, key_place=True)
    big = VenueFactory(grid=jurisdiction.grid_a, name="大超市", type=VenueType.SUPERMARKET, capacity=100)
    elsewhere = VenueFactory(grid=jurisdiction.grid_b, name="B区饭店")
    present(small, 3)
    gone = present(big, 2)
    services.checkin_checkout(actor=None, checkin=gone[0])
    present(elsewhere, 1)

    client = login_client(users["grid_worker"])
    html = client.get(reverse("checkins:occupancy")).content.decode()
    assert re.search(
        rf'data-venue="{small.pk}" data-present="3" class="row-over" data-over-capacity="1"', html
    )
    assert f'data-venue="{big.pk}" data-present="1">' in html
    assert elsewhere.name not in html  # grid B is out of a grid-A worker's scope
    assert 'hx-trigger="every 30s"' in html

    key_only = client.get(reverse("checkins:occupancy"), {"key_places": "1"}, headers={"HX-Request": "true"})
    text = key_only.content.decode()
    assert "<html" not in text and 'hx-trigger="every 30s"' in text
    assert small.name in text and big.name not in text
    assert "key_places=1" in text  # the refresh keeps the filter


# --- scanners -------------------------------------------------------------------------------------


def test_kiosk_token_checks_in_at_its_venue_only(login_client, users, jurisdiction, office):
    other = VenueFactory(grid=jurisdiction.grid_a, name="隔壁饭店")
    client = login_client(users["venue_operator"])
    response = client.post(reverse("checkins:kiosk_create", args=[office.pk]), {"name": "大门"})
    assert response.status_code == 200
    html = response.content.decode()
    token = TOKEN.search(html).group(1)
    assert (
        zh(
            "Copy it into the scanner now. It is shown only this once; if it is lost, switch the scanner off and add a new one."
        )
        in html
    )
    kiosk = Kiosk.objects.get(venue=office)
    assert kiosk.name == "大门" and kiosk.active

    # shown once: the venue page lists the scanner but not its token
    detail = client.get(reverse("places:venue_detail", args=[office.pk])).content.decode()
    assert "大门" in detail and token not in detail

    scanner = Client(headers={"Authorization": f"Bearer {token}"})
    payload = {
        "venue_code": venue_code_url(office, base_url="http://testserver"),
        "client_id": str(uuid.uuid4()),
        "person": {"id_number": new_id(1), "name": "赵访客", "phone": "13900001111"},
    }
    ok = scanner.post("/api/v1/checkins", payload, content_type="application/json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["method"] == Method.KIOSK and ok.json()["venue"]["id"] == office.pk

    elsewhere = dict(payload, client_id=str(uuid.uuid4()), venue_code=venue_code_url(other))
    refused = scanner.post("/api/v1/checkins", elsewhere, content_type="application/json")
    assert refused.status_code == 403
    assert CheckIn.objects.filter(venue=other).count() == 0

    # switched off, the token stops working
    off = client.post(reverse("checkins:kiosk_deactivate", args=[office.pk, kiosk.pk]))
    assert off.status_code == 302
    again = scanner.post(
        "/api/v1/checkins", dict(payload, client_id=str(uuid.uuid4())), content_type="application/json"
    )
    assert again.status_code == 401


def test_kiosk_htmx_answer_is_the_panel(login_client, users, office):
    response = login_client(users["community_officer"]).post(
        reverse("checkins:kiosk_create", args=[office.pk]), {"name": ""}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="kiosks"' in html
    assert TOKEN.search(html)


def test_kiosk_for_a_pending_venue_is_a_message(login_client, users, jurisdiction):
    pending = VenueFactory(grid=jurisdiction.grid_a, operator=users["venue_operator"], approve=False)
    client = login_client(users["venue_operator"])
    response = client.post(reverse("checkins:kiosk_create", args=[pending.pk]), {"name": "x"}, follow=True)
    assert zh("The venue has no valid code yet.") in response.content.decode()
    assert not Kiosk.objects.filter(venue=pending).exists()


def test_kiosks_of_other_venues_are_404_and_grid_workers_may_not_add(
    login_client, users, jurisdiction, office
):
    venue_b = VenueFactory(grid=jurisdiction.grid_b)
    officer = login_client(users["community_officer"])
    assert officer.post(reverse("checkins:kiosk_create", args=[venue_b.pk])).status_code == 404
    worker = login_client(users["grid_worker"])
    assert worker.post(reverse("checkins:kiosk_create", args=[office.pk])).status_code == 403
    assert not Kiosk.objects.exists()


# --- visitors -------------------------------------------------------------------------------------


def test_invite_fill_in_arrive_leave(login_client, users, office):
    client = login_client(users["venue_operator"])
    response = client.post(
        reverse("checkins:visit_new"),
        {
            "venue": office.pk,
            "host_name": "李主管",
            "host_phone": "13800138000",
            "purpose": "商务洽谈",
            "expected_at": (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    visit = VisitorRegistration.objects.get(venue=office)
    assert response["Location"] == reverse("checkins:visit_detail", args=[visit.pk])
    assert visit.status == VisitStatus.INVITED and visit.expected_at is not None
    detail = client.get(response["Location"]).content.decode()
    assert f"http://testserver/v/{visit.invite_token}" in detail

    # the visitor fills in through the link (the public page calls this service)
    services.visit_fill_in(
        visit=visit, data=PersonInput(id_number=new_id(2), name="钱来访", phone="13900002222")
    )
    visit.refresh_from_db()
    listing = client.get(reverse("checkins:visit_list")).content.decode()
    assert visit.visitor.name_masked in listing and "钱来访" not in listing

    arrived = client.post(reverse("checkins:visit_arrive", args=[visit.pk]))
    assert arrived.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.ARRIVED
    checkin = visit.checkin
    assert checkin.method == Method.VISITOR and checkin.venue == office and checkin.person == visit.visitor
    assert not checkin.left_explicitly

    left = client.post(reverse("checkins:visit_leave", args=[visit.pk]))
    assert left.status_code == 302
    visit.refresh_from_db()
    checkin.refresh_from_db()
    assert visit.status == VisitStatus.LEFT and checkin.left_explicitly and checkin.leave_at == visit.left_at

    # leaving twice is a message, not a crash
    again = client.post(reverse("checkins:visit_leave", args=[visit.pk]))
    assert again.status_code == 400
    assert zh("Only a visitor who arrived can leave.") in again.content.decode()


def test_arrival_without_details_asks_for_them(login_client, users, office):
    visit = services.visit_invite(
        actor=users["venue_operator"],
        venue=office,
        host_name="李主管",
        host_phone="",
        purpose="送货",
        expected_at=None,
    )
    client = login_client(users["venue_operator"])
    page = client.get(reverse("checkins:visit_detail", args=[visit.pk])).content.decode()
    assert 'name="id_number"' in page
    missing = client.post(reverse("checkins:visit_arrive", args=[visit.pk]), {})
    assert missing.status_code == 400
    visit.refresh_from_db()
    assert visit.status == VisitStatus.INVITED and visit.checkin is None

    bad = client.post(reverse("checkins:visit_arrive", args=[visit.pk]), {"name": "孙", "id_number": "123"})
    assert bad.status_code == 400
    visit.refresh_from_db()
    assert visit.status == VisitStatus.INVITED

    ok = client.post(
        reverse("checkins:visit_arrive", args=[visit.pk]),
        {"name": "孙送货", "id_number": new_id(3), "phone": ""},
    )
    assert ok.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.ARRIVED and visit.checkin.method == Method.VISITOR


def test_walk_in_registers_and_checks_in(login_client, users, office):
    client = login_client(users["grid_worker"])  # local staff in scope may register for the venue
    response = client.post(
        reverse("checkins:visit_walk_in"),
        {
            "venue": office.pk,
            "name": "周临时",
            "id_number": new_id(4),
            "phone": "13900004444",
            "host_name": "前台",
            "host_phone": "",
            "purpose": "面试",
        },
    )
    assert response.status_code == 302
    visit = VisitorRegistration.objects.get(venue=office)
    assert visit.status == VisitStatus.ARRIVED and visit.checkin.method == Method.VISITOR


def test_visits_only_for_visitor_venues_and_in_scope(login_client, users, jurisdiction, office):
    restaurant = VenueFactory(grid=jurisdiction.grid_a, operator=users["venue_operator"])
    client = login_client(users["venue_operator"])
    form = client.get(reverse("checkins:visit_new")).content.decode()
    assert office.name in form and restaurant.name not in form
    response = client.post(
        reverse("checkins:visit_new"), {"venue": restaurant.pk, "host_name": "x", "purpose": "y"}
    )
    assert response.status_code == 400
    assert not VisitorRegistration.objects.exists()

    visit = services.visit_invite(
        actor=users["venue_operator"],
        venue=office,
        host_name="x",
        host_phone="",
        purpose="y",
        expected_at=None,
    )
    # a visit at an enterprise the operator does not run, and one in grid B
    other = services.visit_invite(
        actor=users["community_officer"],
        venue=VenueFactory(grid=jurisdiction.grid_a, type=VenueType.ENTERPRISE),
        host_name="x",
        host_phone="",
        purpose="y",
        expected_at=None,
    )
    operator_b = UserFactory(username="operator-b", role=Role.VENUE_OPERATOR, org_unit=jurisdiction.grid_b)
    in_b = services.visit_invite(
        actor=operator_b,
        venue=VenueFactory(grid=jurisdiction.grid_b, type=VenueType.ENTERPRISE, operator=operator_b),
        host_name="x",
        host_phone="",
        purpose="y",
        expected_at=None,
    )
    # the operator reaches only visits of venues they run
    assert client.get(reverse("checkins:visit_detail", args=[visit.pk])).status_code == 200
    assert client.get(reverse("checkins:visit_detail", args=[other.pk])).status_code == 404
    assert client.post(reverse("checkins:visit_arrive", args=[other.pk])).status_code == 404
    # a grid-A worker sees the visits of grid A, not of grid B
    worker = login_client(users["grid_worker"])
    assert worker.get(reverse("checkins:visit_detail", args=[other.pk])).status_code == 200
    assert worker.get(reverse("checkins:visit_detail", args=[in_b.pk])).status_code == 404
    assert worker.post(reverse("checkins:visit_arrive", args=[in_b.pk])).status_code == 404
