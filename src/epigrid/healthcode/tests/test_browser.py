"""Health-code pages in a real browser (Debian's chromium through Playwright): a resident's code on a phone,
door staff verifying it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.healthcode import codes, services
from epigrid.healthcode.models import HealthCode

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


def test_resident_sees_colour_reason_and_qr_on_a_phone(transactional_db, users, person_a, phone_page):
    services.facts_update(actor=None, person_ids=[person_a.pk], changes={"fever_at": timezone.now()})
    code = HealthCode.objects.get(person=person_a)
    assert code.colour == "yellow"
    sign_in(phone_page, "resident")
    phone_page.click(f"a[href='{reverse('healthcode:my_code')}']")
    card = phone_page.locator("[data-testid=hc-card]")
    card.wait_for()
    assert card.get_attribute("data-colour") == "yellow"
    assert phone_page.locator("[data-testid=hc-reason]").inner_text() == code.reason
    qr = phone_page.locator("[data-testid=hc-qr] svg")
    assert qr.bounding_box()["width"] > 150
    token = phone_page.locator("[data-testid=hc-qr]").get_attribute("data-code")
    assert codes.verify_personal_code(token).person_id == person_a.pk
    # the clock and the countdown run
    clock = phone_page.locator(".hc-clock")
    phone_page.wait_for_function("document.querySelector('.hc-clock').textContent !== '--:--:--'")
    first = clock.inner_text()
    phone_page.wait_for_function(f"document.querySelector('.hc-clock').textContent !== {first!r}")
    countdown = int(phone_page.locator("[data-countdown]").inner_text())
    assert 0 < countdown <= codes.LIFETIME_SECONDS
    assert page_width(phone_page) <= PHONE_WIDTH + 1

    # a refresh of the QR part (what HTMX does every 50 s) brings a new code without reloading the page
    phone_page.evaluate("window.__stay = 1")
    phone_page.evaluate(
        "htmx.ajax('GET', document.getElementById('hc-qr').getAttribute('hx-get'),"
        " {target: '#hc-qr', swap: 'innerHTML'})"
    )
    phone_page.wait_for_function(f"document.querySelector('[data-testid=hc-qr]').dataset.code !== {token!r}")
    assert phone_page.evaluate("window.__stay") == 1
    renewed = phone_page.locator("[data-testid=hc-qr]").get_attribute("data-code")
    assert codes.verify_personal_code(renewed).valid


def test_door_staff_verify_a_residents_code_on_a_phone(transactional_db, users, person_a, phone_page):
    sign_in(phone_page, "grid_worker")
    phone_page.click(f"a[href='{reverse('healthcode:verify')}']")
    field = phone_page.locator("input[name=qr]")
    field.wait_for()
    # ready for the scanner (autofocus lands once the page has settled: wait, do not race it)
    phone_page.wait_for_function("document.activeElement && document.activeElement.name === 'qr'")
    token, _ = codes.personal_code(person_a)
    field.fill(token)
    field.press("Enter")  # a handheld scanner ends with Enter
    result = phone_page.locator("[data-testid=verify-result]")
    result.wait_for()
    assert result.get_attribute("data-valid") == "true"
    assert result.get_attribute("data-colour") == "green"
    assert phone_page.locator("[data-testid=verify-name]").inner_text() == person_a.name_masked
    # the field is cleared and focused for the next person
    phone_page.wait_for_function(
        "document.querySelector('input[name=qr]').value === '' && document.activeElement.name === 'qr'"
    )
    assert page_width(phone_page) <= PHONE_WIDTH + 1

    field.fill("not a code")
    field.press("Enter")
    phone_page.locator("[data-testid=verify-result][data-valid=false]").wait_for()
    assert phone_page.locator("[data-testid=verify-result]").get_attribute("data-reason") == "garbled"
