"""The scan flow on a phone-sized page in Debian's chromium: register, one tap, family member."""

from __future__ import annotations

import re

import pytest

from epigrid.checkins.models import CheckIn
from epigrid.places.codes import venue_code_url
from epigrid.places.tests.factories import VenueFactory

pytestmark = pytest.mark.browser


def test_register_then_one_tap_then_family(transactional_db, jurisdiction, phone_page, live_server):
    venue = VenueFactory(grid=jurisdiction.grid_a, name="海味餐厅")
    path = "/s/" + venue_code_url(venue).rsplit("/s/", 1)[1]
    page = phone_page

    page.goto(path)
    assert page.locator("h1").inner_text() == "海味餐厅"
    clock = page.locator("[data-clock]")
    first_time = clock.inner_text()
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", first_time)
    page.wait_for_timeout(1100)
    assert clock.inner_text() != first_time  # the clock runs

    page.fill("input[name=name]", "赵敏")
    page.fill("input[name=id_number]", "360426199101010071")
    page.fill("input[name=phone]", "13912345678")
    page.check("input[name=consent]")
    page.click("button.scan-go")
    page.wait_for_url(re.compile(r"/s/done/"))
    result = page.locator(".scan-result")
    assert result.get_attribute("data-colour") == "green"
    assert "赵*" in page.locator(".scan-row-name").first.inner_text()
    background = page.evaluate("getComputedStyle(document.querySelector('.scan-result')).backgroundColor")
    assert background == "rgb(30, 142, 62)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 391

    # second visit: one tap, no form
    page.goto(path)
    assert page.locator("input[name=id_number]").count() == 0
    page.click("button.scan-go")
    page.wait_for_url(re.compile(r"/s/done/"))
    assert CheckIn.objects.filter(venue=venue).count() == 2

    # a family member without a phone checks in together
    page.goto(path)
    page.click("a[href$='/family']")
    page.fill("input[name=name]", "赵小宝")
    page.fill("input[name=id_number]", "110105201501010033")
    page.click("button.scan-go")
    page.wait_for_url(re.compile(r"/s/[^/]+$"))
    assert page.locator("input[name=persons]").count() == 2
    page.click("button.scan-go")
    page.wait_for_url(re.compile(r"/s/done/"))
    assert page.locator(".scan-row").count() == 2
    assert CheckIn.objects.filter(venue=venue, method="family").count() == 1


def test_forged_code_shows_why_on_the_phone(transactional_db, jurisdiction, phone_page):
    venue = VenueFactory(grid=jurisdiction.grid_a)
    path = "/s/" + venue_code_url(venue).rsplit("/s/", 1)[1]
    phone_page.goto(path[:-6] + "AAAAAA")
    assert phone_page.locator("[data-reason]").get_attribute("data-reason") in {"forged", "garbled"}
