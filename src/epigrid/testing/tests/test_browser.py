"""The testing pages in a real browser (Debian's chromium through Playwright), at a phone's size: a sampler
fills a 10-in-1 tube (one person from a photographed ID card where the OCR endpoint exists, one while the
network is down), the tube seals itself, the lab reports it positive, every member turns red with an open
recall, and a member sees the recall notice."""

from __future__ import annotations

import time

import pytest
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from epigrid.core import health
from epigrid.core.tests.factories import TEST_PASSWORD, PersonFactory
from epigrid.testing.models import Recall, Tube

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390
OCR_URL = "/api/v1/ocr/id-card"


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def ocr_available() -> bool:
    try:
        resolve(OCR_URL)
    except Resolver404:
        return False
    return True


def wait_for_fill(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('[data-testid=tube-fill]').dataset.filled === String(n)"
        " && document.getElementById('sampler').dataset.queue === '0'",
        arg=count,
    )


def type_person(page, person) -> None:
    page.fill("[data-testid=person-name]", person.name)
    page.fill("[data-testid=person-id]", person.id_number)
    page.fill("[data-testid=person-phone]", person.phone)
    page.click("[data-testid=add-person]")


def test_sampler_fills_a_ten_in_one_tube_lab_positive_recalls_everyone(
    transactional_db, users, person_a, jurisdiction, phone_page
):
    started = time.monotonic()
    page = phone_page
    typed = [person_a, *(PersonFactory(grid=jurisdiction.grid_a) for _ in range(8))]

    script_errors: list[str] = []
    page.on("pageerror", lambda err: script_errors.append(str(err)))
    sign_in(page, "sampler")
    page.click(f"a[href='{reverse('testing:station')}']")
    page.locator("#sampler[data-state=tube]").wait_for()  # the script has run
    assert page.evaluate("document.activeElement.name") == "barcode"  # ready for a handheld scanner
    page.fill("[data-testid=tube-barcode]", "BT0001")
    page.click("label:has([data-testid=pool-10])")
    page.click("[data-testid=open-tube]")
    page.locator("[data-testid=step-fill]").wait_for()
    page.wait_for_function("document.getElementById('sampler').dataset.queue === '0'")
    assert page.locator("[data-testid=tube-code]").inner_text() == "BT0001"
    assert Tube.objects.get(barcode="BT0001").pool_size == 10

    # 1. the ID card, photographed (a generated card image), read by the OCR; the sampler adds the phone
    from epigrid.testing.idcard import make_card

    card = make_card(seed=7, variant="clean")
    if ocr_available():
        page.set_input_files(
            "[data-testid=idcard-photo]",
            files=[{"name": "card.png", "mimeType": card.content_type, "buffer": card.data}],
        )
        page.wait_for_function("document.getElementById('sampler').dataset.ocr === 'done'", timeout=20_000)
        assert page.input_value("[data-testid=person-id]") == card.truth.id_number
        assert page.input_value("[data-testid=person-name]") == card.truth.name
        page.fill("[data-testid=person-phone]", "13900000007")
        page.click("[data-testid=add-person]")
    else:  # the OCR endpoint is not there yet: the card's details are typed
        page.fill("[data-testid=person-name]", card.truth.name)
        page.fill("[data-testid=person-id]", card.truth.id_number)
        page.click("[data-testid=add-person]")
    wait_for_fill(page, 1)

    # 2. nine typed; the fourth while the network is down: it waits in the queue and is sent afterwards
    for position, person in enumerate(typed, start=2):
        if position == 5:
            page.context.set_offline(True)
            type_person(page, person)
            page.wait_for_function("document.getElementById('sampler').dataset.queue === '1'")
            assert page.locator("[data-testid=queue-count]").inner_text() == "1"
            page.context.set_offline(False)
        elif position == 6:
            # back online with nothing queued, then on as usual
            page.context.set_offline(True)
            page.context.set_offline(False)
            type_person(page, person)
        elif position == 7:
            # the server records the specimen but its answer is lost: the replay adds nobody twice
            def lose_answer(route) -> None:
                route.fetch()
                route.abort()

            page.route("**/specimens", lose_answer, times=1)
            with page.expect_event("requestfailed"):
                type_person(page, person)
            page.wait_for_function("document.getElementById('sampler').dataset.queue === '1'")
            assert Tube.objects.get(barcode="BT0001").specimens.count() == 7
            page.click("[data-testid=sync] button")  # "send now"
        else:
            type_person(page, person)
        if position < 10:
            wait_for_fill(page, position)
            assert Tube.objects.get(barcode="BT0001").specimens.count() == position

    # full: the tube sealed itself and the page offers the next tube
    page.locator("[data-testid=step-sealed]").wait_for()
    page.wait_for_function("document.getElementById('sampler').dataset.queue === '0'")
    tube = Tube.objects.get(barcode="BT0001")
    assert tube.status == "sealed" and tube.specimens.count() == 10
    assert tube.specimens.filter(method="ocr").count() == (1 if ocr_available() else 0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH + 1
    page.click("[data-testid=next-tube]")
    page.locator("[data-testid=step-tube]").wait_for()

    # 3. the lab reports the tube positive through its page
    sign_in(page, "lab_technician")
    page.goto(reverse("testing:lab"))
    page.fill("textarea[name=res-lines]", "BT0001 positive")
    page.click("[data-testid=lines-form] button[type=submit]")
    row = page.locator("[data-testid=outcome-row]")
    row.wait_for()
    assert row.get_attribute("data-ok") == "true" and row.get_attribute("data-outcome") == "recorded"

    members = list(tube.specimens.values_list("person_id", flat=True))
    assert {health.colour_for(pid).colour for pid in members} == {"red"}
    assert Recall.objects.filter(person_id__in=members, resolved_at__isnull=True).count() == 10

    # 4. a member sees the recall notice
    sign_in(page, "resident")
    page.click(f"a.card[href='{reverse('testing:my_results')}']")
    notice = page.locator("[data-testid=recall-notice]")
    notice.wait_for()
    assert page.locator("[data-testid=result]").first.get_attribute("data-result") == "recall"
    due = Recall.objects.get(person=person_a).due_at
    assert timezone.localtime(due).strftime("%Y-%m-%d %H:%M") in notice.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH + 1
    assert not script_errors
    assert time.monotonic() - started < 60
