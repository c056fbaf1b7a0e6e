"""On a phone: a sampling-point clerk records use and requests supplies; the supplies officer approves and
ships; the clerk books in what arrived, a box short, and sees the transfer flagged."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.supplies.models import MovementKind, PointKind, Transfer, TransferStatus
from epigrid.supplies.tests import factories

pytestmark = pytest.mark.browser


def _log_in(page, username: str) -> None:
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def test_clerk_uses_and_requests_officer_ships_clerk_receives_a_box_short(
    transactional_db, users, jurisdiction, phone_page, page
):
    store = factories.point(jurisdiction.district, kind=PointKind.DISTRICT_STORE, name="区防疫物资仓库")
    station = factories.point(jurisdiction.grid_a, name="A网格核酸采样点")
    swabs = factories.item(name="一次性采样拭子", unit="支", category="swab")
    factories.receive(station, swabs, 30)
    factories.receive(store, swabs, 500)
    errors: list[str] = []
    for tab in (phone_page, page):
        tab.on("pageerror", lambda err: errors.append(str(err)))

    # The clerk records the morning's use on the point's page.
    _log_in(phone_page, "sampler")
    phone_page.goto(reverse("supplies:point", args=[station.pk]))
    form = phone_page.locator("[data-testid=consume-form]")
    form.locator("select[name=item]").select_option(str(swabs.pk))
    form.locator("input[name=quantity]").fill("25")
    form.locator("[data-testid=consume-submit]").click()
    phone_page.locator(f"[data-testid=stock] tr[data-item='{swabs.pk}'][data-quantity='5']").wait_for()
    assert phone_page.locator("[data-testid=ledger] tr[data-kind=consume][data-quantity='-25']").count() == 1
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    # ... and asks the district store for more.
    phone_page.goto(reverse("supplies:transfer_new"))
    phone_page.select_option("select[name=to_point]", str(station.pk))
    phone_page.select_option("select[name=from_point]", str(store.pk))
    phone_page.select_option("select[name=item_0]", str(swabs.pk))
    phone_page.fill("input[name=quantity_0]", "200")
    phone_page.click("[data-testid=transfer-submit]")
    phone_page.locator("[data-testid=transfer-title][data-status=requested]").wait_for()
    transfer = Transfer.objects.get()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    # The supplies officer approves and ships it.
    _log_in(page, "supplies_officer")
    page.goto(reverse("supplies:transfer", args=[transfer.pk]))
    page.click("[data-testid=approve]")
    page.locator("[data-testid=transfer-title][data-status=approved]").wait_for()
    page.click("[data-testid=ship]")
    page.locator("[data-testid=transfer-title][data-status=shipped]").wait_for()

    # The clerk counts 180 of 200 and says why.
    phone_page.goto(reverse("supplies:transfer", args=[transfer.pk]))
    lot = phone_page.locator("[data-testid=lots] tr[data-lot]")
    lot.locator("input[type=number]").fill("180")
    phone_page.fill("#receive-note", "少一包（20支）")
    phone_page.click("[data-testid=receive]")
    phone_page.locator("[data-testid=transfer-title][data-status=received][data-mismatch=true]").wait_for()
    assert phone_page.locator("[data-testid=mismatch-badge]").is_visible()
    assert phone_page.locator("[data-testid=lots] tr[data-mismatch=true]").count() == 1
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED and transfer.has_discrepancy
    assert factories.on_hand(station, swabs) == 185
    assert station.movements.filter(kind=MovementKind.TRANSFER_IN).get().quantity == 180
    assert not errors, errors
