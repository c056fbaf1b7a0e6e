"""Announcements in a real browser: an anonymous visitor on a phone reads today's pinned announcement and
downloads its attachment (#12 acceptance); an editor writes with the rich-text toolbar and places a picture."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.publicity.models import Announcement, Attachment
from epigrid.publicity.services import announcements as service
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.browser


def _log_in(page, username: str) -> None:
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def test_visitor_reads_todays_pinned_announcement_on_a_phone(
    transactional_db, users, jurisdiction, phone_page
):
    author, admin = users["publicity_editor"], users["district_admin"]
    factories.published_since(
        author, admin, hours=30, title="新冠疫苗加强免疫接种安排", category="vaccination"
    )
    factories.approved(author, admin, title="秋冬季疫情防控健康提示", category="guidance")
    notice = factories.draft(author, title="关于开展区域核酸检测的通告", pinned=True)
    service.attachment_add(actor=author, announcement=notice, name="核酸采样点名单.pdf", data=factories.pdf())
    service.announcement_submit(actor=author, announcement=notice)
    service.announcement_approve(actor=admin, announcement=notice)
    errors: list[str] = []
    phone_page.on("pageerror", lambda err: errors.append(str(err)))

    phone_page.goto(reverse("announcements:list"))
    first = phone_page.locator("[data-testid=announcement]").first
    assert first.get_attribute("data-pk") == str(notice.pk)
    assert first.get_attribute("data-pinned") == "1" and first.get_attribute("data-today") == "1"
    assert first.locator("[data-testid=today]").is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    first.locator("a").click()
    phone_page.wait_for_url(f"**{reverse('announcements:detail', args=[notice.pk])}")
    assert phone_page.locator("h1").inner_text() == "关于开展区域核酸检测的通告"
    assert "全区居民请于今日18时前" in phone_page.locator("[data-testid=body]").inner_text()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    with phone_page.expect_download() as info:
        phone_page.click("[data-testid=attachment]")
    download = info.value
    assert download.suggested_filename == "核酸采样点名单.pdf"
    assert Path(download.path()).read_bytes() == factories.pdf()
    assert not errors, errors


def test_editor_writes_with_the_toolbar_and_places_a_picture(transactional_db, users, page, tmp_path):
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    _log_in(page, "publicity_editor")

    page.goto(reverse("publicity:new"))
    page.fill("input[name=title]", "居家隔离医学观察须知")
    page.select_option("select[name=category]", "guidance")
    editor = page.locator(".rte-area")
    assert page.locator("textarea[name=body_html]").is_hidden()
    editor.click()
    page.keyboard.type("隔离期间不外出")
    page.keyboard.press("Control+A")
    page.click(".rte-toolbar button[aria-label]:nth-child(1)")  # bold
    page.click("[data-testid=save]")
    made = Announcement.objects.get()
    page.wait_for_url(f"**{reverse('publicity:announcement', args=[made.pk])}")
    made.refresh_from_db()
    assert made.body_html.replace("<strong>", "<b>").replace("</strong>", "</b>") == "<b>隔离期间不外出</b>"

    page.goto(reverse("publicity:edit", args=[made.pk]))
    picture = tmp_path / "流程图.png"
    picture.write_bytes(factories.png())
    page.locator(".rte-area").click()
    page.keyboard.press("End")
    page.locator(".rte input[type=file]").set_input_files(str(picture))
    page.locator(".rte-area img").wait_for()
    page.click("[data-testid=save]")
    page.wait_for_url(f"**{reverse('publicity:announcement', args=[made.pk])}")
    attachment = Attachment.objects.get()
    made.refresh_from_db()
    assert f'<img src="/announcements/files/{attachment.pk}">' in made.body_html
    assert made.version == 2
    assert page.locator("[data-testid=preview] img").evaluate("img => img.naturalWidth") > 0
    assert not errors, errors
