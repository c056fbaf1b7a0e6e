"""The resident portal on a phone (#12 acceptance), in Debian's chromium through Playwright: sign in with a
one-time code (read from the console SMS outbox: the live server runs in the test process), see the test
results, book a vaccination slot, report a dose given elsewhere with a photo, download "my data" and find
one's own record in it — with no JavaScript error and nothing wider than the phone."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core import sms
from epigrid.portal.tests import factories
from epigrid.vaccination.models import Booking, BookingStatus, SelfReport
from epigrid.vaccination.tests import factories as vaccination_factories
from epigrid.vaccination.tests.test_resident_pages import png

pytestmark = pytest.mark.browser
PHONE_WIDTH = 390


def collect_errors(page) -> list[str]:
    """Script errors and console errors of the page (the site has no favicon: the browser's own request for
    one is not the page's error)."""
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    def console(msg) -> None:
        if msg.type == "error" and not (msg.location or {}).get("url", "").endswith("/favicon.ico"):
            errors.append(f"{msg.text} {msg.location}")

    page.on("console", console)
    return errors


def fits(page) -> None:
    page.wait_for_load_state()  # a click that navigates returns before the next page exists
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH + 1, (page.url, width)


def test_a_resident_signs_in_by_code_and_uses_the_portal_on_a_phone(
    transactional_db, users, jurisdiction, person_a, phone_page
):
    page = phone_page
    errors = collect_errors(page)
    factories.tested(
        sampler=users["sampler"], lab=users["lab_technician"], people=[person_a], result="negative"
    )
    vaccine = vaccination_factories.vaccine()
    site = vaccination_factories.site(jurisdiction.grid_a, vaccine)
    sms.outbox.clear()

    # 1. Sign in with a code sent by SMS: the password page links to it.
    page.goto(reverse("core:login"))
    page.click("[data-testid=portal-login-link]")
    page.fill("input[name=phone]", person_a.phone)
    page.click("[data-testid=send-code]")
    page.locator("[data-testid=code-sent]").wait_for()
    fits(page)
    page.fill("input[name=code]", factories.last_code(person_a.phone))
    page.click("[data-testid=verify-code]")
    page.wait_for_url(f"**{reverse('portal:home')}")
    page.locator("[data-testid=portal-home]").wait_for()
    assert page.locator("[data-testid=tile-tests]").get_attribute("data-result") == "negative"
    fits(page)

    # 2. The test results, from the home's tile.
    page.click("[data-testid=tile-tests]")
    page.wait_for_url(f"**{reverse('testing:my_results')}")
    assert page.locator("[data-testid=result]").first.get_attribute("data-result") == "negative"
    fits(page)

    # 3. Book a vaccination: vaccine, site, the first free slot.
    page.goto(reverse("portal:home"))
    page.click("[data-testid=tile-book]")
    page.click(f"[data-testid=vaccine][data-vaccine='{vaccine.pk}']")
    page.click(f"[data-testid=site][data-site='{site.pk}']")
    page.click("[data-testid=slot]:not([disabled])")
    code = page.locator("[data-testid=booking-code]").inner_text().strip()
    booking = Booking.objects.get(person=person_a)
    assert booking.code == code and booking.status == BookingStatus.BOOKED
    fits(page)

    # 4. Report a dose given elsewhere, with a photo of the certificate.
    page.goto(reverse("portal:home"))
    page.click("[data-testid=tile-self-report]")
    page.select_option("select[name=vaccine]", str(vaccine.pk))
    page.fill("input[name=given_on]", f"{timezone.localdate() - dt.timedelta(days=200):%Y-%m-%d}")
    page.fill("input[name=place]", "上海市浦东新区社区卫生服务中心")
    page.set_input_files(
        "input[name=certificate]", files=[{"name": "cert.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.click("[data-testid=self-report-form] button[type=submit]")
    page.locator("[data-testid=self-report][data-status=pending]").wait_for()
    assert SelfReport.objects.filter(person=person_a, place="上海市浦东新区社区卫生服务中心").count() == 1
    fits(page)

    # 5. Download "my data" and find one's own record in it.
    page.goto(reverse("portal:home"))
    page.click("[data-testid=tile-data]")
    page.locator("[data-testid=download-data]").wait_for()
    fits(page)
    with page.expect_download() as info:
        page.click("[data-testid=download-data]")
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
        person = json.loads(archive.read("person.json"))
        vaccination = json.loads(archive.read("vaccination.json"))
    assert person["id_number"] == person_a.id_number and person["phone"] == person_a.phone
    assert [b["code"] for b in vaccination["bookings"]] == [code]
    assert [r["place"] for r in vaccination["self_reports"]] == ["上海市浦东新区社区卫生服务中心"]
    assert not errors, errors


def test_the_other_portal_pages_fit_a_phone(transactional_db, users, jurisdiction, phone_page):
    """A parent signed in by code chooses their own account among the family's, then every page fits."""
    page = phone_page
    errors = collect_errors(page)
    number = factories.phone()
    family = factories.family(jurisdiction.grid_a, number=number, children=1)
    sms.outbox.clear()
    page.goto(reverse("portal:login"))
    page.fill("input[name=phone]", number)
    page.click("[data-testid=send-code]")
    page.fill("input[name=code]", factories.last_code(number))
    page.click("[data-testid=verify-code]")
    page.locator(f"[data-testid=choice][data-person='{family['parent'].pk}']").click()
    fits(page)
    page.click("[data-testid=choose-account]")
    page.wait_for_url(f"**{reverse('portal:home')}")
    for name in ("portal:home", "portal:checkins", "portal:household", "portal:data"):
        page.goto(reverse(name))
        fits(page)
        if name == "portal:household":
            assert page.locator("[data-testid=member]").count() == 3
            assert page.locator("[data-testid=member][data-details='1']").count() == 2  # me and the child
    assert not errors, errors
