"""On a phone: a resident finds their recall notice in the inbox, opens the message settings from there, sees
the recall locked on, turns announcements by SMS off and switches their messages to English."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epigrid.core import notices
from epigrid.core.models import NoticeOptOut, User
from epigrid.core.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_a_resident_changes_their_message_settings_on_a_phone(transactional_db, users, person_a, phone_page):
    notices.person_notify(actor=None, persons=[person_a], kind="testing_recall", params={})
    errors: list[str] = []
    phone_page.on("pageerror", lambda err: errors.append(str(err)))
    phone_page.goto(reverse("core:login"))
    phone_page.fill("input[name=username]", "resident")
    phone_page.fill("input[name=password]", TEST_PASSWORD)
    phone_page.click("button[type=submit]:not([name=language])")
    phone_page.wait_for_url(lambda url: "/login/" not in url)

    phone_page.goto(reverse("core:notices"))
    assert phone_page.locator("[data-kind=testing_recall]").count() == 1
    phone_page.click("[data-testid=notice-settings-link]")
    phone_page.wait_for_url(f"**{reverse('core:notice_settings')}")
    recall = phone_page.locator("input[name='on:testing_recall:sms']")
    assert recall.is_checked() and recall.is_disabled()
    assert phone_page.locator("fieldset[data-kind=testing_recall] [data-testid=locked-reason]").is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    phone_page.uncheck("input[name='on:announcement:sms']")
    phone_page.select_option("[data-testid=message-language]", "en")
    phone_page.click("[data-testid=save-settings]")
    phone_page.wait_for_url(f"**{reverse('core:notice_settings')}")
    assert not phone_page.locator("input[name='on:announcement:sms']").is_checked()
    assert phone_page.locator("input[name='on:vaccination_reminder:sms']").is_checked()
    assert list(NoticeOptOut.objects.values_list("kind", "channel")) == [("announcement", "sms")]
    assert User.objects.get(username="resident").language == "en"
    assert errors == []
