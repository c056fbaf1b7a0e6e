"""Publicity test data, made through the services: editors, announcements in each state, files."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from django.utils import timezone
from PIL import Image

from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Role
from epigrid.core.tests.factories import UserFactory
from epigrid.publicity.models import Announcement, Category
from epigrid.publicity.services import announcements as service
from epigrid.publicity.services.announcements import AnnouncementInput

BODY = "<h2>一、检测范围</h2><p>全区居民请于今日18时前到就近采样点完成核酸检测。</p>"


def editor(unit: OrgUnit, **overrides) -> User:
    return UserFactory(role=Role.PUBLICITY_EDITOR, org_unit=unit, **overrides)


def reviewer(unit: OrgUnit, **overrides) -> User:
    return UserFactory(role=Role.DISTRICT_ADMIN, org_unit=unit, **overrides)


def draft(
    author: User | None,
    *,
    title: str = "关于开展区域核酸检测的通告",
    category: str = Category.TESTING,
    body: str = BODY,
    summary: str = "",
    audience: list[OrgUnit] | None = None,
    publish_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    pinned: bool = False,
    push: bool = False,
    now: dt.datetime | None = None,
) -> Announcement:
    return service.announcement_create(
        actor=author,
        data=AnnouncementInput(
            title=title,
            category=category,
            body_html=body,
            summary=summary,
            audience=audience or [],
            publish_at=publish_at,
            expires_at=expires_at,
            pinned=pinned,
            push=push,
        ),
        now=now,
    )


def in_review(author: User | None, **kwargs) -> Announcement:
    made = draft(author, **kwargs)
    return service.announcement_submit(actor=author, announcement=made, now=kwargs.get("now"))


def approved(author: User | None, approver: User | None, **kwargs) -> Announcement:
    """Written by ``author``, approved by ``approver``; public at once unless ``publish_at`` is later."""
    made = in_review(author, **kwargs)
    return service.announcement_approve(actor=approver, announcement=made, now=kwargs.get("now"))


def published_since(author: User | None, approver: User | None, *, hours: float, **kwargs) -> Announcement:
    """Approved and public since ``hours`` ago (placed in time through the services' ``now``)."""
    at = timezone.now() - dt.timedelta(hours=hours)
    return approved(author, approver, now=at, **kwargs)


# --- files ------------------------------------------------------------------------------------------------------


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _package(entries: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for name, text in entries.items():
            package.writestr(name, text)
    return out.getvalue()


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["采样点", "地址"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx() -> bytes:
    return _package({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})


def plain_zip() -> bytes:
    return _package({"readme.txt": "not an office file"})


# --- policy consultation: FAQ entries and hotline questions -----------------------------------------------------


def faq(
    *,
    question: str = "核酸检测多久做一次？",
    answer: str = "常态化防控期间，其他居民按社区通知参加区域核酸检测。",
    category: str = Category.TESTING,
    published: bool = True,
    actor: User | None = None,
):
    from epigrid.publicity.services import faq as faq_services

    return faq_services.faq_create(
        actor=actor, question=question, answer=answer, category=category, published=published
    )


def resident_of(person) -> User:
    """The person's resident account (made on first need, as a code sign-in would)."""
    from epigrid.core.services import resident_account_ensure

    return resident_account_ensure(person=person)


def ticket(
    asker: User,
    *,
    question: str = "小区里的核酸采样点周末开放吗？",
    category: str = Category.TESTING,
    **kwargs,
):
    from epigrid.publicity.services import tickets

    return tickets.ticket_ask(actor=asker, question=question, category=category, **kwargs)


def answered_ticket(asker: User, answerer: User | None, *, answer: str = "周末上午8点至12点开放。", **kwargs):
    from epigrid.publicity.services import tickets

    return tickets.ticket_answer(actor=answerer, ticket=ticket(asker, **kwargs), answer=answer)
