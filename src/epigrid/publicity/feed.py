"""The Atom 1.0 feed of public announcements (RFC 4287), built with ElementTree so that it is always
well-formed XML whatever an editor typed. Entry ids are tag URIs (RFC 4151) of the site's host and the day
the announcement first went public: stable across edits, unique per installation."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.utils import timezone

from epigrid.publicity.models import Announcement, Category
from epigrid.publicity.sanitize import html_text

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
SUMMARY_CHARS = 300


def _stamp(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def updated_of(announcement: Announcement) -> dt.datetime:
    """When it last changed for a reader: its latest saved version, but never before it went public."""
    shown = announcement.shown_at
    last = getattr(announcement, "last_edit", None)
    return max(shown, last) if last is not None else shown


def entry_id(host: str, announcement: Announcement) -> str:
    day = timezone.localdate(announcement.shown_at).isoformat()
    return f"tag:{host},{day}:announcement:{announcement.pk}"


def atom_feed(
    announcements: Iterable[Announcement], *, base_url: str, title: str, language: str = "zh-CN"
) -> bytes:
    """The feed document. ``announcements`` carry the public selectors' ``shown_at`` and ``last_edit``;
    ``base_url`` is the site's absolute address (``https://host``) without a trailing slash."""
    ET.register_namespace("", ATOM)
    host = urlsplit(base_url).hostname or "localhost"
    items = list(announcements)[:FEED_SIZE]
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": language})
    _sub(feed, "id", f"{base_url}/announcements/")
    _sub(feed, "title", title)
    newest = max((updated_of(a) for a in items), default=timezone.now())
    _sub(feed, "updated", _stamp(newest))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base_url}/announcements/feed.atom")
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{base_url}/announcements/")
    author = _sub(feed, "author")
    _sub(author, "name", title)
    labels = dict(Category.choices)
    for announcement in items:
        entry = _sub(feed, "entry")
        url = f"{base_url}/announcements/{announcement.pk}/"
        _sub(entry, "id", entry_id(host, announcement))
        _sub(entry, "title", announcement.title)
        _sub(entry, "link", rel="alternate", type="text/html", href=url)
        _sub(entry, "published", _stamp(announcement.shown_at))
        _sub(entry, "updated", _stamp(updated_of(announcement)))
        _sub(entry, "category", term=announcement.category, label=str(labels.get(announcement.category, "")))
        summary = announcement.summary or html_text(announcement.body_html)[:SUMMARY_CHARS]
        _sub(entry, "summary", summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
