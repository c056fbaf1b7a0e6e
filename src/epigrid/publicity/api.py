"""Public announcements API (no login): ``GET /api/v1/announcements`` per contracts.md and one announcement
with its sanitised text. Both show only what is for everyone (no audience), whoever asks."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from epigrid.core.schemas import ErrorOut
from epigrid.publicity import selectors
from epigrid.publicity.feed import updated_of
from epigrid.publicity.models import Announcement
from epigrid.publicity.sanitize import clean_html
from epigrid.publicity.views.public import base_url

router = Router(tags=["announcements"])


class AnnouncementOut(Schema):
    id: int
    title: str
    category: str
    published_at: dt.datetime
    url: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class AnnouncementDetailOut(AnnouncementOut):
    summary: str
    body_html: str
    pinned: bool
    updated_at: dt.datetime
    expires_at: dt.datetime | None
    attachments: list[AttachmentOut]


def _item(request: HttpRequest, announcement: Announcement) -> dict:
    return {
        "id": announcement.pk,
        "title": announcement.title,
        "category": announcement.category,
        "published_at": announcement.shown_at,
        "url": f"{base_url(request)}/announcements/{announcement.pk}/",
    }


@router.get("announcements", response=list[AnnouncementOut], auth=None)
def announcement_list(request: HttpRequest):
    """Published, unexpired announcements for the public: pinned first, then newest."""
    return [_item(request, a) for a in selectors.public_announcements(viewer=None).defer("body_html")]


@router.get(
    "announcements/{announcement_id}", response={200: AnnouncementDetailOut, 404: ErrorOut}, auth=None
)
def announcement_detail(request: HttpRequest, announcement_id: int):
    announcement = selectors.public_announcement_get(viewer=None, pk=announcement_id)  # 404 otherwise
    base = base_url(request)
    return {
        **_item(request, announcement),
        "summary": announcement.summary,
        "body_html": clean_html(announcement.body_html),
        "pinned": announcement.pinned,
        "updated_at": updated_of(announcement),
        "expires_at": announcement.expires_at,
        "attachments": [
            {
                "id": f.pk,
                "name": f.name,
                "content_type": f.content_type,
                "size": f.size,
                "url": f"{base}/announcements/files/{f.pk}",
            }
            for f in selectors.attachments_of(announcement)
        ],
    }
