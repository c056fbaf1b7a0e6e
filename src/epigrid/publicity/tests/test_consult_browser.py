"""The consultation on a phone (#12 acceptance): type a policy question on /ask/ and get the right passage
first, its words marked; a signed-in resident asks the hotline; the publicity editor answers from the queue;
the resident finds the answer in their inbox and opens their question."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.publicity.models import Category, HotlineTicket, TicketStatus
from epigrid.publicity.tests import factories
from epigrid.publicity.tests.test_search import POLICY_BODY, POLICY_TITLE
from epigrid.simulation.faq_demo import FAQ

pytestmark = pytest.mark.browser


def _log_in(page, username: str) -> None:
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_load_state()


def test_a_question_on_a_phone_then_the_hotline_answers_into_the_inbox(
    transactional_db, users, jurisdiction, phone_page, page
):
    cache.clear()
    for category, question, answer in FAQ:
        factories.faq(question=question, answer=answer, category=category)
    factories.approved(None, None, title=POLICY_TITLE, body=POLICY_BODY, category=Category.POLICY)
    errors: list[str] = []
    for tab in (phone_page, page):
        tab.on("pageerror", lambda err: errors.append(str(err)))

    # Anyone, on a phone: the question typed in their own words; the booster FAQ entry answers first.
    phone_page.goto(reverse("announcements:ask"))
    phone_page.fill("#ask-q", "加强针间隔多久")
    phone_page.click("[data-testid=ask-submit]")
    first = phone_page.locator("[data-testid=answer][data-rank='1']")
    first.wait_for()
    assert first.get_attribute("data-source") == "faq"
    assert "加强针和第二针间隔多久？" in first.inner_text()
    assert first.locator("mark", has_text="加强针").count() >= 1
    assert "q=" in phone_page.url  # the answer has an address (HTMX pushed it)
    # The link opens the entry in the FAQ below.
    first.locator("a").click()
    booster = phone_page.locator("details[data-testid=faq][open]")
    booster.wait_for()
    assert "满3个月" in booster.inner_text()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    # Not signed in: the hotline asks to sign in. The resident signs in and asks.
    assert phone_page.locator("[data-testid=hotline-login]").count() == 1
    _log_in(phone_page, "resident")
    phone_page.goto(reverse("announcements:ask"))
    phone_page.fill("textarea[name=question]", "我父母下周从外地来烟台，落地检在哪里做？")
    phone_page.select_option("select[name=category]", Category.RISK_AREAS)
    phone_page.click("[data-testid=hotline-submit]")
    mine = phone_page.locator("[data-testid=my-ticket]")
    mine.first.wait_for()
    ticket = HotlineTicket.objects.get()
    assert mine.first.get_attribute("data-status") == TicketStatus.OPEN
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    # The publicity editor answers from the hotline queue.
    _log_in(page, "publicity_editor")
    page.goto(reverse("publicity:tickets"))
    page.click(f"[data-testid=ticket-row][data-ticket='{ticket.pk}'] a")
    page.fill("textarea[name=answer]", "抵达后24小时内到任一常态化采样点做落地检即可。")
    page.click("[data-testid=send-answer]")
    page.wait_for_url(f"**{reverse('publicity:tickets')}")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.ANSWERED

    # The resident finds it in their messages and opens the question with its answer.
    phone_page.goto(reverse("core:notices"))
    row = phone_page.locator("tr[data-kind=hotline_answer]")
    row.wait_for()
    assert "落地检" in row.inner_text()
    row.locator("[data-testid=notice-open]").click()
    phone_page.wait_for_url(f"**{reverse('announcements:ticket', args=[ticket.pk])}")
    assert "24小时内" in phone_page.locator("[data-testid=ticket-answer]").inner_text()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not errors, errors
