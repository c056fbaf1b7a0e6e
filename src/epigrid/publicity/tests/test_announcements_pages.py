"""The editors' and reviewers' pages through the test client: who may open what (403, 404 outside the area),
writing through the form (sanitised, refusals shown), the workflow buttons with four eyes, attachments with
and without JavaScript, versions and restore, the review queue."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows
from epigrid.publicity.models import Announcement, AnnouncementStatus, Attachment
from epigrid.publicity.services import announcements as service
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db
Status = AnnouncementStatus
MANAGE = reverse("publicity:manage")
NEW = reverse("publicity:new")
REVIEW = reverse("publicity:review")


def url(name: str, a, *args) -> str:
    return reverse(f"publicity:{name}", args=[a.pk, *args])


def form_data(**overrides) -> dict:
    data = {
        "title": "关于开展区域核酸检测的通告",
        "category": "testing",
        "summary": "今日全员核酸",
        "body_html": '<p onclick="x()">请于18时前完成。<script>alert(1)</script></p>',
        "publish_at": "",
        "expires_at": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def editor(users):
    return users["publicity_editor"]


@pytest.fixture
def made(editor):
    return factories.draft(editor)


def test_pages_per_role(made, users, login_client, client):
    editor_pages = [MANAGE, NEW, url("edit", made)]
    either_pages = [url("announcement", made), url("versions", made), url("version", made, 1)]
    for role in Role:
        browser = login_client(users[role.value])
        edits = may(role.value, Perm.PUBLICITY_EDIT)
        reviews = may(role.value, Perm.PUBLICITY_REVIEW)
        for page in editor_pages:
            assert browser.get(page).status_code == (200 if edits else 403), (role.value, page)
        for page in either_pages:
            assert browser.get(page).status_code == (200 if edits or reviews else 403), (role.value, page)
        assert browser.get(REVIEW).status_code == (200 if reviews else 403), role.value
    assert client.get(MANAGE).status_code == 302  # to the login page


def test_another_areas_announcement_is_404(made, jurisdiction, login_client):
    street_editor = factories.editor(jurisdiction.street_b)
    browser = login_client(street_editor)
    for page in (url("announcement", made), url("edit", made), url("versions", made)):
        assert browser.get(page).status_code == 404
    assert browser.post(url("act", made), {"action": "pin"}).status_code == 404
    assert browser.get(reverse("publicity:announcement", args=[10**9])).status_code == 404


def test_write_through_the_form_and_see_the_preview(editor, login_client):
    browser = login_client(editor)
    page = browser.get(NEW).content.decode()
    assert 'data-rich-editor="1"' in page and "publicity/editor.js" in page
    response = browser.post(NEW, form_data())
    made = Announcement.objects.get()
    assert response.status_code == 302 and response["Location"] == url("announcement", made)
    assert made.body_html == "<p>请于18时前完成。</p>" and made.created_by == editor
    preview = browser.get(url("announcement", made)).content.decode()
    assert "<p>请于18时前完成。</p>" in preview and "alert(1)" not in preview
    assert shows(preview, "Send for review")


def test_refusals_are_shown_on_the_form(editor, login_client):
    browser = login_client(editor)
    response = browser.post(NEW, form_data(publish_at="2030-05-02T08:00", expires_at="2030-05-01T08:00"))
    assert response.status_code == 400
    assert shows(response.content.decode(), "The expiry time must come after the publication time.")
    response = browser.post(NEW, form_data(title=""))
    assert response.status_code == 400
    assert not Announcement.objects.exists()


def test_save_and_submit_then_a_stale_edit_is_refused(editor, made, login_client, users):
    browser = login_client(editor)
    response = browser.post(url("edit", made), form_data(base_version=1, title="第二版", then="submit"))
    assert response.status_code == 302
    made.refresh_from_db()
    assert (made.version, made.status, made.title) == (2, Status.IN_REVIEW, "第二版")
    stale = browser.post(url("edit", made), form_data(base_version=1, title="基于旧版的修改"))
    assert stale.status_code == 409
    assert shows(
        stale.content.decode(),
        "Someone saved version %(n)d while you were editing; open it again and redo your change.",
        n=2,
    )


def test_editing_a_public_announcement_warns_first(editor, users, login_client):
    made = factories.approved(editor, users["district_admin"])
    page = login_client(editor).get(url("edit", made)).content.decode()
    assert shows(
        page,
        "This announcement is public. Saving a change takes it off the public pages until a reviewer approves it again.",
    )


def test_workflow_buttons_and_four_eyes(editor, made, users, login_client):
    author = login_client(editor)
    assert author.post(url("act", made), {"action": "submit"}).status_code == 302
    page = author.get(url("announcement", made)).content.decode()
    assert 'data-testid="four-eyes"' in page and 'data-testid="approve"' not in page
    assert author.post(url("act", made), {"action": "approve", "version": "1"}).status_code == 403
    made.refresh_from_db()
    assert made.status == Status.IN_REVIEW

    reviewer = login_client(users["district_admin"])
    page = reviewer.get(url("announcement", made)).content.decode()
    assert 'data-testid="approve"' in page
    assert reviewer.post(url("act", made), {"action": "send_back", "note": ""}).status_code == 400
    response = reviewer.post(url("act", made), {"action": "send_back", "note": "补充采样点地址"})
    assert response.status_code == 302 and response["Location"] == REVIEW
    made.refresh_from_db()
    assert (made.status, made.review_note) == (Status.REJECTED, "补充采样点地址")
    assert "补充采样点地址" in author.get(url("announcement", made)).content.decode()

    service.announcement_submit(actor=editor, announcement=made)
    response = reviewer.post(url("act", made), {"action": "approve", "version": "1"})
    made.refresh_from_db()
    assert response.status_code == 302 and made.status == Status.APPROVED and made.published_at is not None
    assert reviewer.post(url("act", made), {"action": "withdraw"}).status_code == 302
    made.refresh_from_db()
    assert made.status == Status.WITHDRAWN


def test_approving_a_changed_version_shows_the_conflict(editor, users, login_client):
    made = factories.in_review(editor)
    change = service.AnnouncementInput(
        title="审核期间的修改", category=made.category, body_html=made.body_html
    )
    service.announcement_update(actor=editor, announcement=made, data=change)
    response = login_client(users["district_admin"]).post(
        url("act", made), {"action": "approve", "version": "1"}
    )
    assert response.status_code == 409
    made.refresh_from_db()
    assert made.status == Status.IN_REVIEW


def test_pin_and_unknown_action(editor, made, login_client):
    browser = login_client(editor)
    browser.post(url("act", made), {"action": "pin"})
    made.refresh_from_db()
    assert made.pinned
    assert browser.post(url("act", made), {"action": "publish-now"}).status_code == 400


def test_picture_upload_for_the_editor_answers_json(editor, made, login_client):
    browser = login_client(editor)
    upload = SimpleUploadedFile("图.png", factories.png())
    response = browser.post(
        url("attach", made), {"file": upload, "image": "1"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    attachment = Attachment.objects.get()
    assert body == {
        "id": attachment.pk,
        "url": f"/announcements/files/{attachment.pk}",
        "name": "图.jpg",
        "is_image": True,
    }
    upload = SimpleUploadedFile("x.jpg", b"garbage")
    bad = browser.post(url("attach", made), {"file": upload, "image": "1"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and "detail" in bad.json()


def test_document_upload_and_removal_without_javascript(editor, made, login_client):
    browser = login_client(editor)
    upload = SimpleUploadedFile("名单.pdf", factories.pdf())
    response = browser.post(url("attach", made), {"file": upload})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    page = browser.get(url("announcement", made)).content.decode()
    assert "名单.pdf" in page
    upload = SimpleUploadedFile("run.exe", b"MZ\x90\x00")
    refused = browser.post(url("attach", made), {"file": upload})
    assert refused.status_code == 400
    assert browser.post(reverse("publicity:detach", args=[made.pk, attachment.pk])).status_code == 302
    assert not Attachment.objects.exists()


def test_versions_view_and_restore(editor, made, login_client):
    service.announcement_update(
        actor=editor,
        announcement=made,
        data=service.AnnouncementInput(title="第二版", category=made.category, body_html="<p>第二版正文</p>"),
    )
    browser = login_client(editor)
    listing = browser.get(url("versions", made)).content.decode()
    assert 'data-version="2"' in listing and 'data-version="1"' in listing
    old = browser.get(url("version", made, 1)).content.decode()
    assert factories.BODY in old
    assert browser.get(url("version", made, 9)).status_code == 404
    response = browser.post(url("restore", made, 1), {"base_version": "2"})
    assert response.status_code == 302
    made.refresh_from_db()
    assert (made.version, made.title, made.body_html) == (3, "关于开展区域核酸检测的通告", factories.BODY)


def test_review_queue_lists_what_waits(editor, users, login_client):
    waiting = factories.in_review(editor, title="待审通告")
    factories.draft(editor, title="草稿不在队列")
    page = login_client(users["district_admin"]).get(REVIEW).content.decode()
    assert f'data-pk="{waiting.pk}"' in page and "草稿不在队列" not in page


def test_list_with_status_tabs(editor, users, login_client):
    factories.draft(editor, title="草稿一")
    factories.approved(editor, users["district_admin"], title="已发布一")
    browser = login_client(editor)
    page = browser.get(MANAGE, {"status": "approved"}).content.decode()
    assert "已发布一" in page and "草稿一" not in page
    assert 'data-status="draft" data-count="1"' in page
