"""The public announcements API: the contract's fields and order, no login, only what is for everyone, and
one announcement with its sanitised text; errors as {"detail"}."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from epigrid.publicity.services import announcements as service
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def author(jurisdiction):
    return factories.editor(jurisdiction.district, username="author")


def test_list_contract_fields_and_order(author, users, jurisdiction, settings):
    settings.PUBLIC_URL = "https://epi.example.gov.cn"
    admin = users["district_admin"]
    older = factories.published_since(author, admin, hours=10, title="较早")
    pinned = factories.published_since(author, admin, hours=40, title="置顶", pinned=True)
    newest = factories.published_since(author, admin, hours=1, title="最新", category="risk_areas")
    factories.approved(author, admin, title="定向", audience=[jurisdiction.grid_a])
    factories.in_review(author, title="审核中")
    factories.approved(
        author,
        admin,
        now=timezone.now() - dt.timedelta(days=3),
        expires_at=timezone.now() - dt.timedelta(hours=1),
    )

    response = Client().get("/api/v1/announcements", **EN)
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body] == [pinned.pk, newest.pk, older.pk]
    assert all(set(item) == {"id", "title", "category", "published_at", "url"} for item in body)
    item = body[1]
    assert (item["title"], item["category"]) == ("最新", "risk_areas")
    assert item["url"] == f"https://epi.example.gov.cn/announcements/{newest.pk}/"
    sent = dt.datetime.fromisoformat(item["published_at"].replace("Z", "+00:00"))
    assert abs(sent - newest.published_at) < dt.timedelta(milliseconds=1)  # the JSON carries milliseconds


def test_a_signed_in_resident_gets_the_same_public_list(
    author, users, jurisdiction, api_client, login_client
):
    admin = users["district_admin"]
    public = factories.approved(author, admin)
    factories.approved(author, admin, title="定向", audience=[jurisdiction.grid_a])
    for client in (api_client(users["resident"]), login_client(users["resident"])):
        assert [item["id"] for item in client.get("/api/v1/announcements", **EN).json()] == [public.pk]


def test_detail_with_the_sanitised_body_and_attachments(author, users):
    admin = users["district_admin"]
    made = factories.draft(author, body='<p onclick="x()">正文<script>alert(1)</script></p>', summary="摘要")
    pdf = service.attachment_add(actor=author, announcement=made, name="名单.pdf", data=factories.pdf())
    service.announcement_submit(actor=author, announcement=made)
    service.announcement_approve(actor=admin, announcement=made)
    body = Client().get(f"/api/v1/announcements/{made.pk}", **EN).json()
    assert body["body_html"] == "<p>正文</p>" and body["summary"] == "摘要"
    assert body["attachments"] == [
        {
            "id": pdf.pk,
            "name": "名单.pdf",
            "content_type": "application/pdf",
            "size": pdf.size,
            "url": f"http://testserver/announcements/files/{pdf.pk}",
        }
    ]


def test_detail_of_what_is_not_for_the_public_is_404(author, users, jurisdiction, api_client):
    admin = users["district_admin"]
    targeted = factories.approved(author, admin, audience=[jurisdiction.grid_a])
    draft = factories.draft(author)
    for pk in (targeted.pk, draft.pk, 10**9):
        response = api_client(users["resident"]).get(f"/api/v1/announcements/{pk}", **EN)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}
