"""The public announcement pages through the test client: no login needed, pinned first and today's marked,
the category filter, what a signed-in resident sees more, 404 for what one may not read, times in
Asia/Shanghai, and the files with their headers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.roles import Role
from epigrid.core.testing import shows
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.publicity.models import Category
from epigrid.publicity.services import announcements as service
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db
LIST = reverse("announcements:list")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def detail(a) -> str:
    return reverse("announcements:detail", args=[a.pk])


def file_url(f) -> str:
    return reverse("announcements:file", args=[f.pk])


@pytest.fixture
def author(jurisdiction):
    return factories.editor(jurisdiction.district, username="author")


@pytest.fixture
def admin(users):
    return users["district_admin"]


def test_anonymous_list_pinned_first_today_marked(client, author, admin, jurisdiction):
    yesterday = factories.published_since(
        author, admin, hours=30, title="昨日的接种安排", category=Category.VACCINATION
    )
    pinned = factories.published_since(author, admin, hours=50, title="置顶：居家隔离须知", pinned=True)
    today = factories.approved(author, admin, title="今日核酸检测通告")
    factories.approved(author, admin, title="仅A街道", audience=[jurisdiction.street_a])
    factories.in_review(author, title="待审核的稿子")

    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert shows(html, "Epidemic announcements")
    assert html.index("置顶：居家隔离须知") < html.index("今日核酸检测通告") < html.index("昨日的接种安排")
    assert "仅A街道" not in html and "待审核的稿子" not in html
    assert f'data-pk="{today.pk}" data-pinned="0" data-today="1"' in html
    assert f'data-pk="{pinned.pk}" data-pinned="1"' in html
    assert f'data-pk="{yesterday.pk}" data-pinned="0" data-today="0"' in html
    assert shows(html, "Pinned") and shows(html, "Today")


def test_category_filter(client, author, admin):
    factories.approved(author, admin, title="核酸通告", category=Category.TESTING)
    factories.approved(author, admin, title="接种安排", category=Category.VACCINATION)
    html = client.get(LIST, {"category": "vaccination"}).content.decode()
    assert "接种安排" in html and "核酸通告" not in html
    assert 'aria-current="page" data-category="vaccination"' in html
    html = client.get(LIST, {"category": "nonsense"}).content.decode()
    assert "接种安排" in html and "核酸通告" in html


def test_signed_in_resident_also_sees_what_is_for_their_area(
    client, login_client, author, admin, users, jurisdiction
):
    mine = factories.approved(author, admin, title="A街道居民通知", audience=[jurisdiction.street_a])
    other = factories.approved(author, admin, title="B街道居民通知", audience=[jurisdiction.street_b])
    resident = login_client(users["resident"])
    html = resident.get(LIST).content.decode()
    assert "A街道居民通知" in html and "B街道居民通知" not in html
    assert resident.get(detail(mine)).status_code == 200
    assert resident.get(detail(other)).status_code == 404
    assert client.get(detail(mine)).status_code == 404  # anonymous
    resident_b = UserFactory(role=Role.RESIDENT, person=PersonFactory(grid=jurisdiction.grid_b))
    assert login_client(resident_b).get(detail(other)).status_code == 200


def test_detail_shows_the_sanitised_body_and_times_in_shanghai(client, author, admin):
    at = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    made = factories.approved(
        author,
        admin,
        now=at,
        title="第九版防控方案解读",
        body="<h2>要点</h2><p>隔离期调整为7天。</p>",
        summary="解读要点",
    )
    response = client.get(detail(made))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h2>要点</h2><p>隔离期调整为7天。</p>" in html
    assert at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in html
    assert shows(html, "Published") and not shows(html, "Updated")
    # A correction after publication: re-reviewed, and the page says when it changed.
    later = at + dt.timedelta(hours=1)
    service.announcement_update(
        actor=author,
        announcement=made,
        data=service.AnnouncementInput(
            title=made.title,
            category=made.category,
            body_html="<p>更正：隔离期为7天。</p>",
            summary="解读要点",
        ),
        now=later,
    )
    service.announcement_submit(actor=author, announcement=made, now=later)
    service.announcement_approve(actor=admin, announcement=made, now=later)
    html = client.get(detail(made)).content.decode()
    assert shows(html, "Updated") and later.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in html
    assert "更正：隔离期为7天。" in html


def test_what_is_not_public_is_404(client, login_client, author, admin, users):
    draft = factories.draft(author)
    review = factories.in_review(author, title="审核中")
    withdrawn = factories.approved(author, admin, title="已撤回")
    service.announcement_withdraw(actor=author, announcement=withdrawn)
    expired = factories.approved(
        author,
        admin,
        now=timezone.now() - dt.timedelta(days=5),
        expires_at=timezone.now() - dt.timedelta(days=1),
    )
    scheduled = factories.approved(author, admin, publish_at=timezone.now() + dt.timedelta(days=1))
    for made in (draft, review, withdrawn, expired, scheduled):
        assert client.get(detail(made)).status_code == 404
        assert login_client(users["district_admin"]).get(detail(made)).status_code == 404
    assert client.get(reverse("announcements:detail", args=[10**9])).status_code == 404


def test_files_with_their_headers_only_for_who_may_read(client, login_client, author, admin, jurisdiction):
    made = factories.draft(author)
    pdf = service.attachment_add(actor=author, announcement=made, name="采样点名单.pdf", data=factories.pdf())
    image = service.attachment_add(
        actor=author, announcement=made, name="流程.png", data=factories.png(), image=True
    )
    assert client.get(file_url(pdf)).status_code == 404  # not public yet
    assert login_client(author).get(file_url(image)).status_code == 200  # the editor's preview
    service.announcement_submit(actor=author, announcement=made)
    service.announcement_approve(actor=admin, announcement=made)

    response = client.get(file_url(pdf))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and "filename*=utf-8''" in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == factories.pdf()
    shown = client.get(file_url(image))
    assert shown["Content-Type"] == "image/jpeg" and shown["Content-Disposition"].startswith("inline;")
    assert shown.content[:3] == b"\xff\xd8\xff"

    html = client.get(detail(made)).content.decode()
    assert f'href="{file_url(pdf)}"' in html and "采样点名单.pdf" in html

    targeted = factories.draft(author, audience=[jurisdiction.street_b])
    hidden = service.attachment_add(actor=author, announcement=targeted, name="b.pdf", data=factories.pdf())
    service.announcement_submit(actor=author, announcement=targeted)
    service.announcement_approve(actor=admin, announcement=targeted)
    assert client.get(file_url(hidden)).status_code == 404
    assert client.get(reverse("announcements:file", args=[10**9])).status_code == 404


def test_list_works_at_a_phone_width_without_horizontal_scroll_markup(client, author, admin):
    factories.approved(author, admin)
    html = client.get(LIST).content.decode()
    assert 'name="viewport" content="width=device-width' in html
    assert "publicity/public.css" in html
    assert 'type="application/atom+xml"' in html
