"""The acceptance scenario in a real browser (Debian's chromium through Playwright): the epidemiologist sends a
case's contacts to quarantine with one click, a contact reports a fever through their link on a phone, the
quarantine manager finds them on the symptomatic line list, releases someone who served their days with
negative tests and downloads the certificate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.tests.factories import TEST_PASSWORD, PersonFactory
from epigrid.investigation import services as case_services
from epigrid.quarantine import services
from epigrid.quarantine.models import HealthReport, Placement, ScheduledTest
from epigrid.quarantine.tests.factories import hotel, household

pytestmark = pytest.mark.browser


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def served(placement: Placement) -> Placement:
    """Eleven days ago, every scheduled test negative: due for release."""
    shift = dt.timedelta(days=11)
    Placement.objects.filter(pk=placement.pk).update(
        start=placement.start - shift,
        end=placement.end - shift,
        centralised_until=placement.centralised_until - shift,
    )
    for test in placement.tests.all():
        ScheduledTest.objects.filter(pk=test.pk).update(due_date=test.due_date - shift)
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


def test_place_from_a_case_report_on_a_phone_line_list_release_and_certificate(
    transactional_db, users, jurisdiction, page, phone_page, tmp_path: Path
):
    hotel(jurisdiction.grid_a, name="海景隔离酒店", rooms=[("101", 1, 1), ("201", 2, 3), ("202", 2, 1)])
    home = household(jurisdiction.grid_a, 3)
    case = case_services.case_create(
        actor=users["epidemiologist"],
        person=home[0],
        classification="confirmed",
        first_positive_at=timezone.now(),
    )
    earlier = served(services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a)))
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    # the epidemiologist sends the case's contacts to quarantine: one click on the case page
    sign_in(page, "epidemiologist")
    page.goto(reverse("investigation:case_detail", args=[case.pk]))
    page.click("[data-testid=dispatch]")
    page.wait_for_url(f"**{reverse('investigation:case_detail', args=[case.pk])}**")
    placed = {p.person_id: p for p in Placement.objects.filter(person__in=home[1:])}
    assert set(placed) == {home[1].pk, home[2].pk}
    assert {p.room.number for p in placed.values()} == {"201"}  # the household together

    # the quarantine manager finds them and hands one of them the report link
    sign_in(page, "quarantine_manager")
    page.click(f"a[href='{reverse('quarantine:dashboard')}']")
    page.locator("#forecast[data-rendered='1'] canvas").wait_for()
    page.click("[data-testid=list-counts] a[data-list=all]")
    contact = placed[home[1].pk]
    row = page.locator(f"[data-testid=row][data-placement='{contact.pk}']")
    assert home[1].name_masked in row.inner_text() and home[1].name not in row.inner_text()
    row.locator("a").first.click()
    page.locator(f"[data-testid=placement-title][data-placement='{contact.pk}']").wait_for()
    assert page.locator("[data-testid=report-qr] svg").count() == 1
    link = page.locator("[data-testid=report-link]").get_attribute("href")

    # the person reports on their phone: a fever
    phone = phone_page
    phone.goto(link)
    assert phone.locator("[data-testid=name]").inner_text() == home[1].name_masked
    assert "1" in phone.locator("[data-testid=day]").inner_text()
    phone.fill("input[name=temperature]", "38.4")
    phone.check("input[name=symptoms][value=cough]")
    phone.click("button.qr-go")
    saved = phone.locator("[data-testid=saved]")
    saved.wait_for()
    assert saved.get_attribute("data-created") == "1" and "38.4" in saved.inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 391
    assert HealthReport.objects.filter(placement=contact).count() == 1

    # ... and shows up on the symptomatic line list
    page.goto(reverse("quarantine:line_lists"))
    page.click("[data-testid=tabs] a[data-list=symptomatic]")
    row = page.locator(f"[data-testid=row][data-placement='{contact.pk}']")
    assert "38.4" in row.inner_text()
    assert page.locator("[data-testid=row]").count() == 1

    # the one who served their days with negative tests is released from the list, then the certificate
    page.click("[data-testid=tabs] a[data-list=release_due]")
    page.locator(f"[data-testid=row][data-placement='{earlier.pk}'] [data-testid=release]").click()
    page.locator(".messages .alert-success").wait_for()
    earlier.refresh_from_db()
    assert earlier.status == "released"
    page.click("[data-testid=tabs] a[data-list=released]")
    with page.expect_download() as info:
        page.locator(f"[data-testid=row][data-placement='{earlier.pk}'] a[download]").click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    data = target.read_bytes()
    text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(data))
    assert "解除隔离证明" in text and earlier.person.name_masked in text
    assert earlier.person.id_number not in text
    assert errors == []
