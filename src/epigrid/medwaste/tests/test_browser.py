"""Issue #11 acceptance on a phone viewport: the sampler labels a bag and hands it to storage, the storage
keeper accepts and hands it to the disposal company, the driver collects it onto a trip and delivers it, the
plant incinerates it, and the bag's chain shows five steps. Then a bag stored 49 hours ago raises an alarm
that the authority's officer sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.medwaste.models import Bag, Stage
from epigrid.medwaste.tests import factories

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phones(browser, live_server) -> Iterator:
    """``phone(username)``: a logged-in phone-sized page of its own for each account."""
    contexts = []
    errors: list[str] = []

    def open_as(username: str):
        context = browser.new_context(
            base_url=live_server.url,
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(reverse("core:login"))
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]:not([name=language])")
        page.wait_for_url(f"**{reverse('core:home')}")
        return page

    open_as.errors = errors
    yield open_as
    for context in contexts:
        context.close()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _accept_waiting(page) -> None:
    page.goto(reverse("medwaste:app"))
    page.click("[data-testid=open-handover]")
    page.locator("[data-testid=accept-form]").wait_for()


def test_label_store_collect_deliver_incinerate_on_a_phone(transactional_db, jurisdiction, phones):
    c = factories.chain(jurisdiction.grid_a)

    # The sampler labels a bag, sees its QR label, and offers it to the storage.
    sampler = phones(c.sampler.username)
    sampler.goto(reverse("medwaste:app"))
    assert _fits(sampler)
    sampler.click("[data-testid=label-open]")
    form = sampler.locator("[data-testid=label-form]")
    form.locator("select[name$=category]").select_option("infectious")
    form.locator("input[name$=weight_kg]").fill("1.25")
    sampler.click("[data-testid=label-submit]")
    sampler.locator("[data-testid=label-qr] svg").wait_for()
    code = sampler.locator("[data-testid=label-code]").inner_text().strip()
    bag = Bag.objects.get(code=code)
    assert bag.weight_g == 1250 and _fits(sampler)
    sampler.goto(reverse("medwaste:app"))
    sampler.check(f"[data-bag='{code}'] [data-testid=bag-check]")
    sampler.click("[data-testid=offer-submit]")
    sampler.locator(f"[data-bag='{code}'] .status-pending").wait_for()

    # The storage keeper weighs it, accepts, and offers it to the disposal company.
    keeper = phones(c.keeper.username)
    _accept_waiting(keeper)
    assert keeper.locator("[data-testid=weight]").input_value() == "1.250"
    keeper.fill("[data-testid=weight]", "1.24")
    keeper.click("[data-testid=accept-submit]")
    keeper.check(f"[data-bag='{code}'] [data-testid=bag-check]")
    keeper.click("[data-testid=offer-submit]")
    keeper.locator(f"[data-bag='{code}'] .status-pending").wait_for()

    # The driver accepts onto a new trip with the company's vehicle, then delivers the trip to the plant.
    driver = phones(c.driver.username)
    _accept_waiting(driver)
    driver.select_option("[data-testid=trip-choice]", f"new:{c.vehicle.pk}")
    driver.click("[data-testid=accept-submit]")
    driver.locator("[data-testid=trip]").wait_for()
    driver.click("[data-testid=deliver-submit]")
    driver.locator("[data-testid=trip]").wait_for()

    # The plant accepts the delivery and incinerates the bag; its card shows the whole chain.
    operator = phones(c.operator.username)
    _accept_waiting(operator)
    operator.click("[data-testid=accept-submit]")
    operator.check(f"[data-bag='{code}'] [data-testid=bag-check]")
    operator.click("[data-testid=incinerate-submit]")
    operator.locator(f"[data-party='{c.plant.pk}'] [data-testid=no-bags]").wait_for()
    operator.fill("[data-testid=scan-form] input[name=q]", code)
    operator.click("[data-testid=scan-submit]")
    operator.locator("[data-testid=chain]").wait_for()
    assert operator.locator("[data-testid=chain] li").count() == 5
    assert operator.locator("[data-testid=bag]").get_attribute("data-stage") == Stage.INCINERATED
    assert _fits(operator)
    bag.refresh_from_db()
    assert bag.stage == Stage.INCINERATED and bag.trip.status == "closed"
    assert list(bag.records.values_list("weight_g", flat=True).order_by("at", "pk")) == [
        1250,
        1240,
        1240,
        1240,
        1240,
    ]
    assert phones.errors == []


def test_a_bag_stored_49_hours_ago_is_an_alarm_the_authority_sees(
    transactional_db, jurisdiction, users, phones
):
    from epigrid.medwaste.services.alarms import waste_alarms_evaluate

    now = timezone.now()
    bag = factories.bag_at(Stage.STORED, area=jurisdiction.grid_a, at=now - dt.timedelta(hours=49))
    waste_alarms_evaluate(now=now)
    officer = phones(users["waste_officer"].username)
    officer.goto(reverse("medwaste:alarms"))
    row = officer.locator("[data-testid=alarm-row][data-kind=storage_overdue]")
    row.wait_for()
    assert bag.code in row.inner_text()
