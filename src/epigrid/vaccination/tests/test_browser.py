"""The whole loop in a browser: a resident books on a phone, the vaccinator records the dose from the
booking code, and the coverage table counts it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.vaccination.models import Booking, BookingStatus, Dose
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.browser


def _log_in(page, username: str) -> None:
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def _first_doses(page, grid_code: str) -> int:
    page.goto(f"{reverse('vaccination:coverage')}?level=grid")
    row = page.locator(f"[data-testid=coverage-row][data-kind=unit][data-unit='{grid_code}']")
    return int(row.get_attribute("data-first"))


def test_resident_books_on_a_phone_vaccinator_records_coverage_counts(
    transactional_db, users, jurisdiction, person_a, phone_page, page
):
    vaccine = factories.vaccine()
    batch = factories.batch(vaccine)
    site = factories.site(jurisdiction.grid_a, vaccine)
    errors: list[str] = []
    for tab in (phone_page, page):
        tab.on("pageerror", lambda err: errors.append(str(err)))

    # The vaccinator's coverage table before: nobody in grid A has a dose.
    _log_in(page, "vaccinator")
    assert _first_doses(page, jurisdiction.grid_a.code) == 0

    # The resident books on their phone: vaccine, site, the first free slot.
    _log_in(phone_page, "resident")
    phone_page.goto(reverse("vaccination:book"))
    phone_page.click(f"[data-testid=vaccine][data-vaccine='{vaccine.pk}']")
    phone_page.click(f"[data-testid=site][data-site='{site.pk}']")
    phone_page.click("[data-testid=slot]:not([disabled])")
    code = phone_page.locator("[data-testid=booking-code]").inner_text().strip()
    assert phone_page.locator("[data-testid=booking-qr] svg").count() == 1
    booking = Booking.objects.get(person=person_a)
    assert booking.code == code and booking.status == BookingStatus.BOOKED
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    # At the desk: the booking code opens the person; the dose is recorded with the site's batch.
    page.goto(reverse("vaccination:desk"))
    page.fill("[data-testid=find-code] input[name=code]", code)
    page.click("[data-testid=find-code-submit]")
    page.locator("[data-testid=verdict][data-eligible=true]").wait_for()
    page.select_option("select[name=batch]", str(batch.pk))
    page.select_option("select[name=site]", str(site.pk))
    page.click("[data-testid=record-dose]")
    page.locator("[data-testid=doses] tr[data-number='1']").wait_for()
    dose = Dose.objects.get(person=person_a)
    assert dose.booking_id == booking.pk
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ATTENDED

    # Coverage counts the dose; the resident's page shows it.
    assert _first_doses(page, jurisdiction.grid_a.code) == 1
    phone_page.goto(reverse("vaccination:my"))
    assert phone_page.locator("[data-testid=dose]").count() == 1
    assert not errors, errors
