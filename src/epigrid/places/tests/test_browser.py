"""Venue pages in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.places.codes import resolve_venue_code
from epigrid.places.models import Venue, VenueStatus, VenueType
from epigrid.places.tests.factories import VenueFactory

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390


def sign_in(page, username: str) -> None:
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_community_officer_approves_a_pending_venue_and_sees_its_code(
    transactional_db, users, jurisdiction, page
):
    venue = VenueFactory(
        grid=jurisdiction.grid_a, name="待审批茶馆", operator=users["venue_operator"], approve=False
    )
    sign_in(page, "community_officer")
    page.click(f"a[href='{reverse('places:venue_list')}']")
    page.click("[data-testid=pending-link]")
    row = page.locator(f"#venue-{venue.pk}")
    row.wait_for()
    page.evaluate("window.__stay = 1")  # survives only if the page is not reloaded
    row.locator("input[name=is_key_place]").check()
    row.locator("[data-action=approve]").click()
    page.locator(f"#venue-{venue.pk} [data-status=approved]").wait_for()
    assert page.evaluate("window.__stay") == 1  # the row was swapped in place by HTMX
    venue.refresh_from_db()
    assert venue.status == VenueStatus.APPROVED and venue.is_key_place

    page.locator(f"#venue-{venue.pk} a").first.click()
    qr = page.locator("[data-testid=venue-qr] svg")
    qr.wait_for()
    assert qr.bounding_box()["width"] > 100
    link = page.locator("a.code-url").get_attribute("href")
    assert resolve_venue_code(link) == venue


def test_operator_venue_page_fits_a_phone(transactional_db, users, jurisdiction, phone_page):
    venue = VenueFactory(
        grid=jurisdiction.grid_a,
        name="海港大厦写字楼一号楼",
        type=VenueType.OFFICE,
        operator=users["venue_operator"],
        capacity=200,
    )
    sign_in(phone_page, "venue_operator")
    phone_page.goto(reverse("places:venue_detail", args=[venue.pk]))
    phone_page.locator("[data-testid=venue-qr] svg").wait_for()
    assert page_width(phone_page) <= PHONE_WIDTH + 1
    phone_page.goto(reverse("places:venue_list"))
    assert phone_page.locator(f"#venue-{venue.pk}").count() == 1
    assert page_width(phone_page) <= PHONE_WIDTH + 1


def test_grid_worker_occupancy_fits_a_phone(transactional_db, users, jurisdiction, phone_page):
    VenueFactory(grid=jurisdiction.grid_a, name="长江路小馆", capacity=2, key_place=True)
    sign_in(phone_page, "grid_worker")
    phone_page.goto(reverse("checkins:occupancy"))
    phone_page.locator("table.occupancy").wait_for()
    assert page_width(phone_page) <= PHONE_WIDTH + 1


def test_operator_picks_the_location_on_the_map_and_applies(transactional_db, users, jurisdiction, page):
    sign_in(page, "venue_operator")
    page.goto(reverse("places:venue_apply"))
    page.fill("input[name=name]", "地图上选的店")
    page.select_option("select[name=type]", VenueType.SHOP)
    page.fill("input[name=address]", "长江路8号")
    page.locator("#pick-map.leaflet-container").scroll_into_view_if_needed()
    box = page.locator("#pick-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.75)  # south half: grid A
    lat, lng = float(page.input_value("input[name=lat]")), float(page.input_value("input[name=lng]"))
    page.click("form.stack-wide button[type=submit]")
    page.locator("[data-status=pending]").wait_for()
    venue = Venue.objects.get(name="地图上选的店")
    assert (venue.lat, venue.lng) == (lat, lng)  # the coordinates the click set
    assert venue.grid == jurisdiction.grid_a and venue.operator == users["venue_operator"]
