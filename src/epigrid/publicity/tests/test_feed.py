"""The Atom feed: well-formed Atom 1.0 with the entries for everyone, in the list's order, at most 50."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.publicity.models import Category
from epigrid.publicity.services import announcements as service
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db
FEED = reverse("announcements:feed")
NS = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def author(jurisdiction):
    return factories.editor(jurisdiction.district, username="author")


def parse(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    return ET.fromstring(response.content)


def test_the_feed_holds_the_public_entries_in_order(client, author, users, jurisdiction, settings):
    settings.PUBLIC_URL = "https://epi.example.gov.cn"
    admin = users["district_admin"]
    older = factories.published_since(
        author,
        admin,
        hours=26,
        title="新冠疫苗加强免疫接种安排",
        category=Category.VACCINATION,
        summary="60岁以上优先",
    )
    pinned = factories.published_since(
        author, admin, hours=90, title="居家隔离医学观察须知 <重要> & 必读", pinned=True
    )
    newest = factories.approved(
        author, admin, title="关于开展区域核酸检测的通告", body="<p>今日<b>18时</b>前完成</p>"
    )
    factories.approved(author, admin, title="仅A街道", audience=[jurisdiction.street_a])
    factories.draft(author, title="草稿")
    factories.approved(author, admin, title="明天发布", publish_at=timezone.now() + dt.timedelta(days=1))

    feed = parse(client.get(FEED))
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.find("a:id", NS).text == "https://epi.example.gov.cn/announcements/"
    assert feed.find("a:updated", NS).text
    assert (
        feed.find("a:link[@rel='self']", NS).get("href")
        == "https://epi.example.gov.cn/announcements/feed.atom"
    )
    entries = feed.findall("a:entry", NS)
    assert [e.find("a:title", NS).text for e in entries] == [pinned.title, newest.title, older.title]
    first = entries[1]
    assert first.find("a:link", NS).get("href") == f"https://epi.example.gov.cn/announcements/{newest.pk}/"
    day = timezone.localdate(newest.published_at).isoformat()
    assert first.find("a:id", NS).text == f"tag:epi.example.gov.cn,{day}:announcement:{newest.pk}"
    assert first.find("a:category", NS).get("term") == "testing"
    assert first.find("a:summary", NS).text == "今日18时前完成"  # the text of the body when no summary
    assert entries[2].find("a:summary", NS).text == "60岁以上优先"
    for entry in entries:
        published = dt.datetime.fromisoformat(entry.find("a:published", NS).text)
        updated = dt.datetime.fromisoformat(entry.find("a:updated", NS).text)
        assert published.utcoffset() == dt.timedelta(hours=8) and updated >= published
    assert dt.datetime.fromisoformat(entries[2].find("a:published", NS).text) == older.published_at.replace(
        microsecond=0
    )


def test_an_edit_after_publication_moves_updated(client, author, users):
    admin = users["district_admin"]
    at = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)
    made = factories.approved(author, admin, now=at)
    later = at + dt.timedelta(days=1)
    service.announcement_update(
        actor=author,
        announcement=made,
        data=service.AnnouncementInput(
            title="更正后的标题", category=made.category, body_html=made.body_html
        ),
        now=later,
    )
    service.announcement_submit(actor=author, announcement=made, now=later)
    service.announcement_approve(actor=admin, announcement=made, now=later)
    [entry] = parse(client.get(FEED)).findall("a:entry", NS)
    assert dt.datetime.fromisoformat(entry.find("a:published", NS).text) == at
    assert dt.datetime.fromisoformat(entry.find("a:updated", NS).text) == later


def test_at_most_fifty_newest_and_the_request_host_without_public_url(client, author, users):
    admin = users["district_admin"]
    for hours in range(52):
        factories.published_since(author, admin, hours=hours + 1, title=f"通告{hours}")
    feed = parse(client.get(FEED))
    entries = feed.findall("a:entry", NS)
    assert len(entries) == 50
    assert entries[0].find("a:title", NS).text == "通告0" and entries[-1].find("a:title", NS).text == "通告49"
    assert entries[0].find("a:link", NS).get("href").startswith("http://testserver/announcements/")


def test_an_empty_feed_is_still_valid(client, jurisdiction):
    feed = parse(client.get(FEED))
    assert feed.findall("a:entry", NS) == [] and feed.find("a:updated", NS).text
