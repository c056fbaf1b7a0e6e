"""Venue pages through the Django test client: access per role, scope 404s, decisions, codes and posters."""

from __future__ import annotations

import re
import uuid

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from epigrid.checkins import services as checkin_services
from epigrid.core.roles import Perm, Role, has_perm
from epigrid.core.signing import CodeRejected
from epigrid.core.tests.factories import PersonFactory
from epigrid.places.codes import resolve_venue_code, venue_code_url
from epigrid.places.models import Venue, VenueStatus, VenueType
from epigrid.places.tests.factories import VenueFactory

pytestmark = pytest.mark.django_db


class _FakeUser:
    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def roles(predicate) -> list[str]:
    return [r.value for r in Role if predicate(_FakeUser(r.value))]


def may_see_venues(user) -> bool:
    return has_perm(user, Perm.VENUE_VIEW) or has_perm(user, Perm.VENUE_APPLY)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return escape(translation.gettext(message))


def signed_part(url: str) -> str:
    """The scan URL without the signature: ES256 (ECDSA) signs with a fresh random nonce, so two signings of
    the same claims differ only in the signature. Header (key id) and payload (venue, version, issue time)
    are fixed."""
    return url.rsplit(".", 1)[0]


def assert_current_code(decoded: str, venue: Venue) -> None:
    """``decoded`` is the venue's current code: the same URL, header and claims, and a valid signature."""
    expected = venue_code_url(venue, base_url="http://testserver")
    assert signed_part(decoded) == signed_part(expected)
    assert resolve_venue_code(decoded) == venue


def pdf_pages(data: bytes) -> list:
    assert data.startswith(b"%PDF-")
    return list(pdfium.PdfDocument(data))


def decode_qr(page) -> list[str]:
    image = page.render(scale=2).to_pil()
    return [code.text for code in zxingcpp.read_barcodes(image)]


@pytest.fixture
def venue_a(jurisdiction):
    return VenueFactory(grid=jurisdiction.grid_a, name="长江路小馆", capacity=2)


@pytest.fixture
def venue_b(jurisdiction):
    return VenueFactory(grid=jurisdiction.grid_b, name="黄河路超市", type=VenueType.SUPERMARKET)


@pytest.fixture
def pending_a(jurisdiction, users):
    return VenueFactory(
        grid=jurisdiction.grid_a, name="待审批餐厅", operator=users["venue_operator"], approve=False
    )


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", roles(may_see_venues))
def test_venue_list_opens_for_roles_that_see_or_apply(login_client, users, venue_a, role):
    response = login_client(users[role]).get(reverse("places:venue_list"))
    assert response.status_code == 200
    html = response.content.decode()
    # operators see only the venues they run; staff with venue.view their area (venue A is in grid A)
    assert (venue_a.name in html) == has_perm(users[role], Perm.VENUE_VIEW)


@pytest.mark.parametrize("role", roles(lambda u: not may_see_venues(u)))
def test_venue_pages_are_403_for_the_others(login_client, users, venue_a, role):
    client = login_client(users[role])
    assert client.get(reverse("places:venue_list")).status_code == 403
    assert client.get(reverse("places:venue_detail", args=[venue_a.pk])).status_code == 403
    assert client.get(reverse("places:venue_poster", args=[venue_a.pk])).status_code == 403


@pytest.mark.parametrize("role", roles(lambda u: has_perm(u, Perm.VENUE_APPLY)))
def test_apply_page_opens_for_applicants(login_client, users, role):
    response = login_client(users[role]).get(reverse("places:venue_apply"))
    assert response.status_code == 200
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in response.content.decode()


@pytest.mark.parametrize("role", roles(lambda u: not has_perm(u, Perm.VENUE_APPLY)))
def test_apply_page_is_403_for_others(login_client, users, role):
    assert login_client(users[role]).get(reverse("places:venue_apply")).status_code == 403


@pytest.mark.parametrize("role", roles(lambda u: has_perm(u, Perm.VENUE_VIEW)))
def test_community_posters_page_opens_for_venue_viewers(login_client, users, venue_a, role):
    assert login_client(users[role]).get(reverse("places:community_posters")).status_code == 200


@pytest.mark.parametrize("role", roles(lambda u: not has_perm(u, Perm.VENUE_VIEW)))
def test_community_posters_is_403_without_venue_view(login_client, users, role):
    assert login_client(users[role]).get(reverse("places:community_posters")).status_code == 403


def test_anonymous_goes_to_login(client, venue_a):
    response = client.get(reverse("places:venue_detail", args=[venue_a.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("core:login"))


def test_out_of_scope_venue_is_404_for_grid_worker(login_client, users, venue_a, venue_b):
    client = login_client(users["grid_worker"])
    assert client.get(reverse("places:venue_detail", args=[venue_a.pk])).status_code == 200
    for name in ("places:venue_detail", "places:venue_poster"):
        assert client.get(reverse(name, args=[venue_b.pk])).status_code == 404, name
    listing = client.get(reverse("places:venue_list")).content.decode()
    assert venue_a.name in listing and venue_b.name not in listing


def test_operator_sees_only_own_venues(login_client, users, venue_a, pending_a):
    client = login_client(users["venue_operator"])
    assert client.get(reverse("places:venue_detail", args=[pending_a.pk])).status_code == 200
    assert client.get(reverse("places:venue_detail", args=[venue_a.pk])).status_code == 404


def test_community_officer_cannot_decide_outside_their_community(login_client, users, jurisdiction):
    pending_b = VenueFactory(grid=jurisdiction.grid_b, approve=False)
    client = login_client(users["community_officer"])
    response = client.post(reverse("places:venue_approve", args=[pending_b.pk]))
    assert response.status_code == 404
    pending_b.refresh_from_db()
    assert pending_b.status == VenueStatus.PENDING


def test_grid_worker_may_not_approve(login_client, users, pending_a):
    response = login_client(users["grid_worker"]).post(reverse("places:venue_approve", args=[pending_a.pk]))
    assert response.status_code == 403
    pending_a.refresh_from_db()
    assert pending_a.status == VenueStatus.PENDING


# --- filters --------------------------------------------------------------------------------------


def test_list_filters_and_htmx_partial(login_client, users, venue_a, venue_b, pending_a):
    client = login_client(users["district_admin"])
    html = client.get(reverse("places:venue_list"), {"status": "pending"}).content.decode()
    assert pending_a.name in html and venue_a.name not in html
    html = client.get(reverse("places:venue_list"), {"type": "supermarket"}).content.decode()
    assert venue_b.name in html and venue_a.name not in html
    html = client.get(reverse("places:venue_list"), {"q": "长江"}).content.decode()
    assert venue_a.name in html and venue_b.name not in html
    partial = client.get(reverse("places:venue_list"), {"q": "黄河"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    text = partial.content.decode()
    assert venue_b.name in text and "<html" not in text


# --- apply, approve, reject -----------------------------------------------------------------------


def test_operator_applies_and_community_officer_approves(login_client, users, jurisdiction):
    operator = login_client(users["venue_operator"])
    grid = jurisdiction.grid_a
    response = operator.post(
        reverse("places:venue_apply"),
        {
            "name": "新开的写字楼",
            "type": VenueType.OFFICE,
            "address": "长江路1号",
            "lat": grid.centroid_lat,
            "lng": grid.centroid_lng,
            "capacity": "300",
            "contact_name": "王经理",
        },
    )
    assert response.status_code == 302
    venue = Venue.objects.get(name="新开的写字楼")
    assert response["Location"] == reverse("places:venue_detail", args=[venue.pk])
    assert venue.status == VenueStatus.PENDING and venue.operator == users["venue_operator"]
    assert venue.grid == grid and venue.capacity == 300

    # the code endpoint refuses before approval
    officer = login_client(users["community_officer"])
    pending = officer.get(reverse("places:venue_list"), {"status": "pending"}).content.decode()
    assert venue.name in pending and reverse("places:venue_approve", args=[venue.pk]) in pending
    assert officer.get(f"/api/v1/venues/{venue.pk}/code").status_code == 409

    response = officer.post(
        reverse("places:venue_approve", args=[venue.pk]),
        {"is_key_place": "on"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith("<tr") and 'data-status="approved"' in row
    venue.refresh_from_db()
    assert venue.status == VenueStatus.APPROVED and venue.is_key_place and venue.code_version == 1

    code = officer.get(f"/api/v1/venues/{venue.pk}/code")
    assert code.status_code == 200
    assert resolve_venue_code(code.json()["url"]) == venue

    detail = officer.get(reverse("places:venue_detail", args=[venue.pk])).content.decode()
    assert 'data-testid="venue-qr"' in detail and "<svg" in detail


def test_apply_outside_the_district_is_a_message(login_client, users):
    response = login_client(users["venue_operator"]).post(
        reverse("places:venue_apply"),
        {"name": "远方", "type": VenueType.SHOP, "address": "x", "lat": "10", "lng": "10"},
    )
    assert response.status_code == 400
    with translation.override("zh-hans"):
        expected = escape(translation.gettext("The venue lies outside the district's grids."))
    assert expected in response.content.decode()
    assert not Venue.objects.filter(name="远方").exists()


def test_reject_needs_a_reason(login_client, users, pending_a):
    officer = login_client(users["community_officer"])
    response = officer.post(
        reverse("places:venue_reject", args=[pending_a.pk]), {"note": "  "}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200  # HTMX swaps only 2xx: the row carries the message
    assert zh("Say why the application is rejected.") in response.content.decode()
    pending_a.refresh_from_db()
    assert pending_a.status == VenueStatus.PENDING

    # without HTMX: back to the page with the message
    response = officer.post(reverse("places:venue_reject", args=[pending_a.pk]), {"note": ""}, follow=True)
    assert zh("Say why the application is rejected.") in response.content.decode()
    pending_a.refresh_from_db()
    assert pending_a.status == VenueStatus.PENDING

    response = officer.post(reverse("places:venue_reject", args=[pending_a.pk]), {"note": "地址不符"})
    assert response.status_code == 302
    pending_a.refresh_from_db()
    assert pending_a.status == VenueStatus.REJECTED and pending_a.decision_note == "地址不符"
    assert pending_a.code_version == 0


# --- detail: code, poster, re-issue, suspend, update ----------------------------------------------


def test_detail_shows_facts_occupancy_and_masked_checkins(login_client, users, venue_a):
    people = [PersonFactory(grid=venue_a.grid) for _ in range(3)]
    for person in people:
        checkin_services.checkin_record(actor=None, venue=venue_a, person=person, client_id=uuid.uuid4())
    html = login_client(users["grid_worker"]).get(reverse("places:venue_detail", args=[venue_a.pk])).content
    html = html.decode()
    assert re.search(r'data-testid="present-count" class="over-capacity">3<', html)
    for person in people:
        assert person.name_masked in html
        assert person.name not in html
    # the QR code the page draws holds the venue's current scan URL
    assert f'data-code-version="{venue_a.code_version}"' in html


def test_operator_detail_has_no_checkins_or_decisions(login_client, users, jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a, operator=users["venue_operator"])
    person = PersonFactory(grid=jurisdiction.grid_a)
    checkin_services.checkin_record(actor=None, venue=venue, person=person, client_id=uuid.uuid4())
    html = login_client(users["venue_operator"]).get(reverse("places:venue_detail", args=[venue.pk]))
    html = html.content.decode()
    assert 'data-testid="present-count"' in html
    assert person.name_masked not in html  # no checkin.view
    assert reverse("places:venue_reissue", args=[venue.pk]) not in html
    assert reverse("checkins:kiosk_create", args=[venue.pk]) in html


def test_poster_pdf_holds_the_current_code_and_the_name(login_client, users, venue_a):
    response = login_client(users["community_officer"]).get(reverse("places:venue_poster", args=[venue_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="venue-{venue_a.pk}.pdf"' in response["Content-Disposition"]
    pages = pdf_pages(response.content)
    assert len(pages) == 1
    [decoded] = decode_qr(pages[0])
    assert_current_code(decoded, venue_a)
    text = pages[0].get_textpage().get_text_range()
    assert venue_a.name in text
    # Latin letters and digits come from the second font (the CJK one has none of them): they must show.
    assert "Venue check-in code" in text
    assert f"编号 {venue_a.pk} · 第 {venue_a.code_version} 版" in text


def test_poster_of_a_pending_venue_is_refused_with_a_message(login_client, users, pending_a):
    client = login_client(users["venue_operator"])
    response = client.get(reverse("places:venue_poster", args=[pending_a.pk]))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert zh("This venue has no valid code (not approved, or suspended).") in page


def test_reissue_revokes_the_old_code(login_client, users, venue_a):
    old_url = venue_code_url(venue_a, base_url="http://testserver")
    client = login_client(users["community_officer"])
    unconfirmed = client.post(reverse("places:venue_reissue", args=[venue_a.pk]), {"reason": "泄露"})
    assert unconfirmed.status_code == 400
    assert zh("Tick the box to confirm the re-issue.") in unconfirmed.content.decode()
    venue_a.refresh_from_db()
    assert venue_a.code_version == 1

    response = client.post(
        reverse("places:venue_reissue", args=[venue_a.pk]), {"confirm": "on", "reason": "泄露"}
    )
    assert response.status_code == 302
    venue_a.refresh_from_db()
    assert venue_a.code_version == 2
    with pytest.raises(CodeRejected) as err:
        resolve_venue_code(old_url)
    assert err.value.reason == "revoked"
    # the poster now carries the new code
    pdf = client.get(reverse("places:venue_poster", args=[venue_a.pk])).content
    [decoded] = decode_qr(pdf_pages(pdf)[0])
    assert_current_code(decoded, venue_a)


def test_reissue_is_403_for_the_operator(login_client, users, jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a, operator=users["venue_operator"])
    response = login_client(users["venue_operator"]).post(
        reverse("places:venue_reissue", args=[venue.pk]), {"confirm": "on"}
    )
    assert response.status_code == 403
    venue.refresh_from_db()
    assert venue.code_version == 1


def test_suspend_closes_the_code(login_client, users, venue_a):
    url = venue_code_url(venue_a, base_url="http://testserver")
    client = login_client(users["community_officer"])
    assert client.post(reverse("places:venue_suspend", args=[venue_a.pk]), {"reason": ""}).status_code == 400
    response = client.post(reverse("places:venue_suspend", args=[venue_a.pk]), {"reason": "停业整顿"})
    assert response.status_code == 302
    venue_a.refresh_from_db()
    assert venue_a.status == VenueStatus.SUSPENDED
    with pytest.raises(CodeRejected) as err:
        resolve_venue_code(url)
    assert err.value.reason == "venue_closed"


def test_update_capacity_and_key_place(login_client, users, jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a, operator=users["venue_operator"])
    operator = login_client(users["venue_operator"])
    # the operator changes capacity; a key-place box in the post is ignored (only the community decides)
    response = operator.post(
        reverse("places:venue_update", args=[venue.pk]), {"capacity": "40", "is_key_place": "on"}
    )
    assert response.status_code == 302
    venue.refresh_from_db()
    assert venue.capacity == 40 and not venue.is_key_place
    bad = operator.post(reverse("places:venue_update", args=[venue.pk]), {"capacity": "0"})
    assert bad.status_code == 400
    officer = login_client(users["community_officer"])
    officer.post(reverse("places:venue_update", args=[venue.pk]), {"capacity": "50", "is_key_place": "on"})
    venue.refresh_from_db()
    assert venue.capacity == 50 and venue.is_key_place


# --- bulk posters ---------------------------------------------------------------------------------


def test_community_posters_one_page_per_approved_venue(login_client, users, jurisdiction, venue_a, venue_b):
    second = VenueFactory(grid=jurisdiction.grid_a, name="长江路二店")
    VenueFactory(grid=jurisdiction.grid_a, approve=False)  # pending: no poster
    client = login_client(users["district_admin"])
    page = client.get(reverse("places:community_posters")).content.decode()
    assert jurisdiction.community_a.code in page and jurisdiction.community_b.code in page

    response = client.get(reverse("places:community_posters"), {"unit": jurisdiction.community_a.code})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = pdf_pages(response.content)
    assert len(pages) == 2
    decoded = {resolve_venue_code(text).pk: text for p in pages for text in decode_qr(p)}
    assert set(decoded) == {venue_a.pk, second.pk}
    assert_current_code(decoded[venue_a.pk], venue_a)
    assert_current_code(decoded[second.pk], second)

    whole = client.get(reverse("places:community_posters"), {"unit": jurisdiction.district.code})
    assert len(pdf_pages(whole.content)) == 3


def test_community_posters_refuses_units_out_of_scope(login_client, users, jurisdiction, venue_b):
    client = login_client(users["community_officer"])
    response = client.get(reverse("places:community_posters"), {"unit": jurisdiction.community_b.code})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
