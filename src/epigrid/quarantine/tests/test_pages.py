"""Quarantine pages through the Django test client: access per role and scope (403/404), the dashboard, sites
and the room board, line lists, placement detail with its forms (each calls its service and shows its
refusal), placing one person and a case's contacts, the resident's report page, masked data throughout."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from epigrid.core.models import Event
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows, shows_start
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.investigation import services as case_services
from epigrid.quarantine import services, views
from epigrid.quarantine.forms import parse_rooms
from epigrid.quarantine.models import (
    DoorSeal,
    HealthReport,
    Placement,
    Room,
    ScheduledTest,
    Site,
    Visit,
)
from epigrid.quarantine.tests.factories import hotel, household

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the report page counts requests per address in the cache
    yield
    cache.clear()


@pytest.fixture
def manager(users):
    return users["quarantine_manager"]


@pytest.fixture
def site(jurisdiction):
    return hotel(jurisdiction.grid_a)


@pytest.fixture
def placed(site, jurisdiction):
    return services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))


def detail(placement: Placement) -> str:
    return reverse("quarantine:placement_detail", args=[placement.pk])


def served(placement: Placement) -> Placement:
    """Move the placement 11 days into the past with every scheduled test negative: it may be released."""
    shift = dt.timedelta(days=11)
    Placement.objects.filter(pk=placement.pk).update(
        start=placement.start - shift,
        end=placement.end - shift,
        centralised_until=placement.centralised_until - shift if placement.centralised_until else None,
    )
    for test in placement.tests.all():
        ScheduledTest.objects.filter(pk=test.pk).update(due_date=test.due_date - shift)
    placement.refresh_from_db()
    services.tests_record_results(
        people=[
            (
                placement.person_id,
                timezone.make_aware(dt.datetime.combine(t.due_date, dt.time(9))),
                "negative",
            )
            for t in placement.tests.all()
        ]
    )
    placement.refresh_from_db()
    return placement


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "red").save(out, format="JPEG")
    return out.getvalue()


# --- access ---------------------------------------------------------------------------------------


def test_pages_per_role(placed, site, users, login_client, client):
    urls = [
        reverse("quarantine:dashboard"),
        reverse("quarantine:line_lists"),
        reverse("quarantine:site_list"),
        reverse("quarantine:site_detail", args=[site.pk]),
        detail(placed),
    ]
    managed = [reverse("quarantine:place"), reverse("quarantine:person_options")]
    for role in Role:
        browser = login_client(users[role.value])
        for url in urls:
            expected = 200 if may(role.value, Perm.QUARANTINE_VIEW) else 403
            assert browser.get(url).status_code == expected, (role.value, url)
        for url in managed:
            expected = 200 if may(role.value, Perm.QUARANTINE_MANAGE) else 403
            assert browser.get(url).status_code == expected, (role.value, url)
    for url in urls + managed:
        assert client.get(url).status_code == 302  # anonymous: to the login page


def test_navigation_shows_the_quarantine_pages_to_viewers(users, login_client):
    for role in Role:
        html = login_client(users[role.value]).get(reverse("core:home"), follow=True).content.decode()
        for name in ("quarantine:dashboard", "quarantine:line_lists"):
            assert (f'href="{reverse(name)}"' in html) == may(role.value, Perm.QUARANTINE_VIEW), (role, name)
        place = f'href="{reverse("quarantine:place")}"' in html
        assert place == (role == Role.QUARANTINE_MANAGER), role


def test_out_of_scope_or_missing_answers_404(jurisdiction, users, login_client):
    hotel(jurisdiction.grid_b, name="B酒店")
    other = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_b))
    browser = login_client(users["grid_worker"])  # grid A
    assert browser.get(detail(other)).status_code == 404
    assert browser.get(reverse("quarantine:site_detail", args=[other.site_id])).status_code == 404
    assert browser.get(reverse("quarantine:certificate", args=[other.pk])).status_code == 404
    for name in ("seal_add", "visit_add"):
        assert browser.post(reverse(f"quarantine:{name}", args=[other.pk])).status_code == 404, name
    html = browser.get(reverse("quarantine:line_lists"), {"list": "all"}).content.decode()
    assert f'data-placement="{other.pk}"' not in html
    manager_b = UserFactory(username="qm_b", role=Role.QUARANTINE_MANAGER, org_unit=jurisdiction.street_b)
    browser = login_client(manager_b)
    placement_a = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))
    for name in ("release", "cancel", "transfer", "move_home", "report_add"):
        assert browser.post(reverse(f"quarantine:{name}", args=[placement_a.pk])).status_code == 404, name
    assert browser.get(detail(placement_a)).status_code == 404
    assert (
        login_client(users["quarantine_manager"])
        .get(reverse("quarantine:placement_detail", args=[other.pk + 1000]))
        .status_code
        == 404
    )


def test_viewers_see_no_forms_and_may_not_write(placed, users, login_client):
    browser = login_client(users["commander"])
    html = browser.get(detail(placed)).content.decode()
    assert 'data-testid="facts"' in html
    for name in ("release", "cancel", "report_add", "transfer"):
        assert reverse(f"quarantine:{name}", args=[placed.pk]) not in html
    assert 'data-testid="report-link"' not in html  # the link is a credential: only for staff who send it
    assert browser.post(reverse("quarantine:release", args=[placed.pk])).status_code == 403
    assert browser.post(reverse("quarantine:report_add", args=[placed.pk])).status_code == 403
    assert browser.post(reverse("quarantine:site_create"), {"name": "x"}).status_code == 403
    # a grid worker visits homes but enters no reports and releases nobody
    worker = login_client(users["grid_worker"])
    assert worker.post(reverse("quarantine:report_add", args=[placed.pk])).status_code == 403
    assert worker.post(reverse("quarantine:release", args=[placed.pk])).status_code == 403


# --- dashboard, sites and rooms --------------------------------------------------------------------


def test_dashboard_shows_occupancy_statuses_reports_and_forecast(placed, site, manager, login_client):
    services.report_submit(actor=None, placement=placed, temperature="36.5", client_id=uuid.uuid4())
    html = login_client(manager).get(reverse("quarantine:dashboard")).content.decode()
    assert f'data-site="{site.pk}" data-free="3"' in html
    assert 'data-status="active">1<' in html
    assert 'data-testid="reports-today">1<' in html
    assert 'data-list="all" data-count="1"' in html and 'data-list="test_due" data-count="1"' in html
    assert 'id="forecast-data"' in html and shows(html, "Release forecast, next 7 days")


def test_room_ranges_are_parsed():
    assert parse_rooms("101-103 1 2") == [("101", 1, 2), ("102", 1, 2), ("103", 1, 2)]
    assert parse_rooms("201-202") == [("201", 2, 1), ("202", 2, 1)]
    assert parse_rooms("a0901-a0902 floor 9 beds 3") == [("A0901", 9, 3), ("A0902", 9, 3)]
    assert parse_rooms("301 3层 2床\n\n302, 3, 1") == [("301", 3, 2), ("302", 3, 1)]
    for bad in ("", "lobby", "105-101", "101 1 2 3", "101-999"):
        with pytest.raises(Exception):  # noqa: B017 - django's ValidationError, message per case
            parse_rooms(bad)


def test_site_create_with_rooms_and_its_errors(jurisdiction, manager, login_client):
    browser = login_client(manager)
    response = browser.post(
        reverse("quarantine:site_create"),
        {
            "name": "海景酒店",
            "address": "滨海路1号",
            "grid": jurisdiction.grid_a.code,
            "rooms": "101-110 1 2\n201-205",
        },
    )
    site = Site.objects.get(name="海景酒店")
    assert response.status_code == 302 and response["Location"] == reverse(
        "quarantine:site_detail", args=[site.pk]
    )
    assert (site.rooms.count(), site.org_code, site.rooms.get(number="203").beds) == (
        15,
        jurisdiction.grid_a.code,
        1,
    )
    bad = browser.post(reverse("quarantine:site_create"), {"name": "坏酒店", "rooms": "lobby"})
    assert bad.status_code == 400 and not Site.objects.filter(name="坏酒店").exists()
    assert shows(
        bad.content.decode(), "Line %(n)d: start with a room number or a range such as 101-120.", n=1
    )
    nameless = browser.post(reverse("quarantine:site_create"), {"name": " ", "rooms": ""})
    assert nameless.status_code == 400
    # adding rooms that exist is refused by the service, and the page says so
    again = browser.post(reverse("quarantine:rooms_add", args=[site.pk]), {"rooms": "110-111"})
    assert again.status_code == 400 and site.rooms.count() == 15
    assert shows(again.content.decode(), "A room with one of these numbers exists at this site already.")
    more = browser.post(reverse("quarantine:rooms_add", args=[site.pk]), {"rooms": "301-302 3 4"})
    assert more.status_code == 302 and site.rooms.count() == 17


def test_room_board_and_status_changes(placed, site, manager, login_client):
    browser = login_client(manager)
    html = browser.get(reverse("quarantine:site_detail", args=[site.pk])).content.decode()
    assert f'data-room="{placed.room.number}" data-status="occupied"' in html
    assert placed.person.name_masked in html and placed.person.name not in html
    free = site.rooms.filter(status="free").first()
    response = browser.post(reverse("quarantine:room_status", args=[free.pk]), {"status": "out"})
    assert response.status_code == 302
    free.refresh_from_db()
    assert free.status == "out"
    refused = browser.post(reverse("quarantine:room_status", args=[placed.room_id]), {"status": "free"})
    assert refused.status_code == 400
    assert shows(refused.content.decode(), "The room is occupied; move or release its guests first.")
    assert Room.objects.get(pk=placed.room_id).status == "occupied"


# --- line lists ----------------------------------------------------------------------------------


def test_line_lists_tabs_masking_and_release_from_the_list(site, jurisdiction, manager, login_client):
    fever = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))
    services.report_submit(actor=None, placement=fever, temperature="38.2", client_id=uuid.uuid4())
    done = served(services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a)))
    browser = login_client(manager)
    url = reverse("quarantine:line_lists")
    html = browser.get(url, {"list": "symptomatic"}).content.decode()
    assert f'data-placement="{fever.pk}"' in html and f'data-placement="{done.pk}"' not in html
    assert fever.person.name_masked in html and fever.person.id_number_masked in html
    assert fever.person.name not in html and fever.person.id_number not in html
    assert "38.2" in html and 'data-list="symptomatic" data-count="1"' in html
    assert "<html" not in browser.get(url, {"list": "all"}, HTTP_HX_REQUEST="true").content.decode()
    due = browser.get(url, {"list": "release_due"}).content.decode()
    assert f'data-placement="{done.pk}"' in due and 'data-testid="release"' in due
    assert (
        'data-testid="release"'
        not in login_client(
            UserFactory(username="commander2", role=Role.COMMANDER, org_unit=jurisdiction.district)
        )
        .get(url, {"list": "release_due"})
        .content.decode()
    )
    back = f"{url}?list=release_due"
    response = browser.post(reverse("quarantine:release", args=[done.pk]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    done.refresh_from_db()
    assert done.status == "released"
    # released people move to their tab with the certificate
    released = browser.get(url, {"list": "released"}).content.decode()
    assert reverse("quarantine:certificate", args=[done.pk]) in released
    # a release that is refused says why on the list it came from
    refused = browser.post(reverse("quarantine:release", args=[fever.pk]), {"next": back}, follow=True)
    fever.refresh_from_db()
    assert fever.status == "active"
    assert shows_start(refused.content.decode(), "The quarantine ends on %(at)s.")


def test_line_list_filters_by_site(site, jurisdiction, manager, login_client):
    other = hotel(jurisdiction.grid_a, name="另一酒店", rooms=[("1", 1, 1)])
    here = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a), site=site)
    there = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a), site=other)
    html = (
        login_client(manager)
        .get(reverse("quarantine:line_lists"), {"list": "all", "site": other.pk})
        .content.decode()
    )
    assert f'data-placement="{there.pk}"' in html and f'data-placement="{here.pk}"' not in html


# --- placement detail and its forms ------------------------------------------------------------------


def test_detail_shows_plan_tests_link_and_blockers(placed, manager, login_client):
    html = login_client(manager).get(detail(placed)).content.decode()
    person = placed.person
    assert person.name_masked in html and person.id_number_masked in html
    assert person.name not in html and person.id_number not in html and person.phone not in html
    assert shows(html, "day %(day)s of %(total_days)s", day=1, total_days=10)
    assert html.count('data-status="due"') == placed.tests.count() == 6
    # The token carries the second it was signed: read the one the page holds, don't sign another.
    prefix = reverse("qreport:report", args=["TOKEN"]).split("TOKEN")[0]
    [token] = set(re.findall(re.escape(prefix) + r'([^/"<\s]+)/?', html))
    assert services.placement_from_token(token).pk == placed.pk and "<svg" in html
    assert 'data-testid="blockers"' in html and shows_start(html, "The quarantine ends on %(at)s.")


def test_staff_report_form_calls_the_service_and_shows_its_refusal(placed, manager, login_client):
    browser = login_client(manager)
    url = reverse("quarantine:report_add", args=[placed.pk])
    client_id = str(uuid.uuid4())
    form = {"client_id": client_id, "temperature": "37.8", "symptoms": ["cough"], "note": "咳嗽"}
    assert browser.post(url, form).status_code == 302
    assert browser.post(url, form).status_code == 302  # the same form again: stored once
    report = HealthReport.objects.get(placement=placed)
    assert (str(report.temperature), report.symptoms, report.source) == ("37.8", ["cough", "fever"], "staff")
    assert Event.objects.filter(type="quarantine.alarm").count() == 1
    hot = browser.post(url, {"client_id": str(uuid.uuid4()), "temperature": "44"})
    assert hot.status_code == 400
    assert shows(hot.content.decode(), "A body temperature lies between 34.0 and 43.0 °C.")
    html = browser.get(detail(placed)).content.decode()
    assert 'id="temperature-data"' in html and shows(html, "Cough")


def test_home_quarantine_seal_with_photo_and_visits(jurisdiction, users, login_client):
    placement = services.placement_create(
        actor=None, person=PersonFactory(grid=jurisdiction.grid_a), tier="secondary"
    )
    browser = login_client(users["grid_worker"])
    html = browser.get(detail(placement)).content.decode()
    assert 'data-testid="seal-form"' in html and 'data-testid="visit-form"' in html
    photo = io.BytesIO(jpeg())
    photo.name = "seal.jpg"
    response = browser.post(
        reverse("quarantine:seal_add", args=[placement.pk]), {"number": "FT-0007", "photo": photo}
    )
    assert response.status_code == 302
    seal = DoorSeal.objects.get(placement=placement)
    assert seal.number == "FT-0007" and bytes(seal.photo).startswith(b"\xff\xd8")
    image = browser.get(reverse("quarantine:seal_photo", args=[placement.pk, seal.pk]))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    not_image = io.BytesIO(b"plain text")
    not_image.name = "seal.jpg"
    refused = browser.post(
        reverse("quarantine:seal_add", args=[placement.pk]), {"number": "FT-8", "photo": not_image}
    )
    assert refused.status_code == 400
    assert shows(refused.content.decode(), "The photo is not an image (send a JPEG or PNG).")
    visit = browser.post(
        reverse("quarantine:visit_add", args=[placement.pk]), {"result": "absent", "team": "社区"}
    )
    assert visit.status_code == 302
    assert Visit.objects.get(placement=placement).result == "absent"
    assert Event.objects.filter(type="quarantine.alarm", payload__kind="violation").exists()
    # a centralised placement has no seal: the service refuses it
    hotel(jurisdiction.grid_a)
    central = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))
    wrong = browser.post(reverse("quarantine:seal_add", args=[central.pk]), {"number": "FT-9"})
    assert wrong.status_code == 400 and shows(
        wrong.content.decode(), "Door seals are for open home quarantines."
    )


def test_transfer_move_home_cancel_and_release(placed, site, manager, login_client):
    browser = login_client(manager)
    free = site.rooms.filter(status="free").order_by("number").first()
    assert (
        browser.post(reverse("quarantine:transfer", args=[placed.pk]), {"room": free.pk}).status_code == 302
    )
    placed.refresh_from_db()
    assert placed.room_id == free.pk
    early = browser.post(reverse("quarantine:move_home", args=[placed.pk]))
    assert early.status_code == 400
    assert shows_start(early.content.decode(), "The centralised days end on %(at)s.")
    refused = browser.post(reverse("quarantine:release", args=[placed.pk]))
    assert refused.status_code == 400 and 'data-testid="error"' in refused.content.decode()
    nothing = browser.post(reverse("quarantine:cancel", args=[placed.pk]), {"reason": ""})
    assert nothing.status_code == 400
    assert Placement.objects.get(pk=placed.pk).status == "active"
    assert browser.post(reverse("quarantine:cancel", args=[placed.pk]), {"reason": "误判"}).status_code == 302
    assert Placement.objects.get(pk=placed.pk).status == "cancelled"
    assert browser.get(reverse("quarantine:certificate", args=[placed.pk])).status_code == 404


def test_release_then_certificate(placed, manager, login_client):
    placed = served(placed)
    browser = login_client(manager)
    html = browser.get(detail(placed)).content.decode()
    assert 'data-testid="may-release"' in html
    assert browser.get(reverse("quarantine:certificate", args=[placed.pk])).status_code == 404
    assert browser.post(reverse("quarantine:release", args=[placed.pk])).status_code == 302
    pdf = browser.get(reverse("quarantine:certificate", args=[placed.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and "no-store" in pdf["Cache-Control"]


# --- placing people -----------------------------------------------------------------------------------


def test_place_one_person_from_the_picker(site, jurisdiction, manager, login_client):
    person = PersonFactory(grid=jurisdiction.grid_a)
    browser = login_client(manager)
    picked = browser.get(reverse("quarantine:place"), {"person_q": person.id_number}).content.decode()
    assert f'name="person" value="{person.pk}"' in picked and person.id_number_masked in picked
    options = browser.get(reverse("quarantine:person_options"), {"person_q": person.phone}).content.decode()
    assert f'value="{person.pk}"' in options and "<html" not in options
    response = browser.post(
        reverse("quarantine:place_one"), {"person": person.pk, "tier": "close", "site": site.pk}
    )
    placement = Placement.objects.get(person=person)
    assert response.status_code == 302 and response["Location"] == detail(placement)
    assert placement.site_id == site.pk
    again = browser.post(reverse("quarantine:place_one"), {"person": person.pk, "tier": "close"})
    assert again.status_code == 400 and shows(again.content.decode(), "This person is already in quarantine.")
    unchosen = browser.post(reverse("quarantine:place_one"), {"tier": "close"})
    assert unchosen.status_code == 400
    assert shows(unchosen.content.decode(), "Choose the person from the search results.")
    outside = PersonFactory(grid=jurisdiction.grid_b)
    scoped = UserFactory(username="qm_a", role=Role.QUARANTINE_MANAGER, org_unit=jurisdiction.street_a)
    assert (
        login_client(scoped)
        .post(reverse("quarantine:place_one"), {"person": outside.pk, "tier": "close"})
        .status_code
        == 404
    )


def test_place_contacts_of_a_case_reports_placed_already_and_no_room(jurisdiction, users, login_client):
    home = household(jurisdiction.grid_a, 4)
    hotel(jurisdiction.grid_a, rooms=[("101", 1, 2)])  # room for two of the three contacts' household
    case = case_services.case_create(
        actor=users["epidemiologist"],
        person=home[0],
        classification="confirmed",
        first_positive_at=timezone.now(),
    )
    contacts = {c.person_id for c in case.contacts.all()}
    assert contacts == {p.pk for p in home[1:]}
    services.placement_create(actor=None, person=home[3], tier="secondary")  # one is in quarantine already
    admin = login_client(users["district_admin"])  # quarantine.manage and case.view
    url = reverse("quarantine:place_case")
    listed = admin.get(url, {"case": case.pk}).content.decode()
    assert f'data-person="{home[3].pk}" data-placed="1"' in listed
    assert (
        f'name="people" value="{home[1].pk}"' in listed
        and f'name="people" value="{home[3].pk}"' not in listed
    )
    assert home[1].name not in listed and home[1].id_number not in listed
    response = admin.post(url, {"case": case.pk, "people": [home[1].pk, home[2].pk]})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-placed="2" data-already="0" data-no-room="0"' in html
    placements = Placement.objects.filter(person__in=home[1:3])
    assert {p.room.number for p in placements} == {"101"} and {p.case_id for p in placements} == {case.pk}
    # placing the same people again: the service reports them as already placed
    stale = admin.post(url, {"case": case.pk, "people": [home[1].pk]})
    assert stale.status_code == 400  # the page offered them no more: the form refuses a stale choice
    # the quarantine manager places a case's contacts too; a sampler (neither permission) may not
    assert login_client(users["quarantine_manager"]).get(url, {"case": case.pk}).status_code == 200
    assert login_client(users["sampler"]).get(url, {"case": case.pk}).status_code == 403


def test_place_contacts_without_a_room_says_so(jurisdiction, users, login_client):
    home = household(jurisdiction.grid_a, 3)
    case = case_services.case_create(
        actor=users["epidemiologist"],
        person=home[0],
        classification="confirmed",
        first_positive_at=timezone.now(),
    )
    html = (
        login_client(users["district_admin"])
        .post(reverse("quarantine:place_case"), {"case": case.pk, "people": [home[1].pk, home[2].pk]})
        .content.decode()
    )
    assert 'data-placed="0" data-already="0" data-no-room="2"' in html
    assert home[1].name_masked in html and home[1].name not in html


# --- the resident's report page -----------------------------------------------------------------------


def test_report_page_shows_the_day_and_stores_a_replay_once(placed, client):
    url = reverse("qreport:report", args=[services.report_link_token(placed)])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert placed.person.name_masked in html and placed.person.name not in html
    assert shows(html, "Day %(day)s of %(total_days)s", day=1, total_days=10)
    assert shows(html, "Shortness of breath") and 'name="client_id"' in html
    form = {"client_id": str(uuid.uuid4()), "temperature": "38.1", "symptoms": ["cough"]}
    first = client.post(url, form)
    assert first.status_code == 200 and 'data-created="1"' in first.content.decode()
    replay = client.post(url, form)
    assert replay.status_code == 200 and 'data-created="0"' in replay.content.decode()
    assert HealthReport.objects.filter(placement=placed).count() == 1
    placed.refresh_from_db()
    assert placed.symptomatic_since is not None
    bad = client.post(url, {"client_id": str(uuid.uuid4()), "temperature": "hot"})
    assert bad.status_code == 400 and HealthReport.objects.count() == 1


def test_report_page_refuses_a_bad_or_revoked_link(placed, client):
    token = services.report_link_token(placed)
    forged = client.get(reverse("qreport:report", args=[token[:-2] + "xx"]))
    assert forged.status_code == 400 and shows(forged.content.decode(), "This report link is not valid.")
    services.placement_cancel(actor=None, placement=placed, reason="误判")
    revoked = client.post(
        reverse("qreport:report", args=[token]), {"client_id": str(uuid.uuid4()), "temperature": "36.5"}
    )
    assert revoked.status_code == 400 and not HealthReport.objects.exists()


def test_report_page_is_rate_limited(placed, client, monkeypatch):
    monkeypatch.setattr(views, "REPORT_PAGE_PER_IP_PER_MINUTE", 2)
    url = reverse("qreport:report", args=[services.report_link_token(placed)])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
