"""The FAQ of the policy consultation: create, edit, publish, unpublish and order entries (publicity.edit).

An answer is HTML cleaned by ``publicity.sanitize`` (plain text typed into the form becomes paragraphs).
Every change rewrites the entry's search passage in the same transaction, so the search never answers
from an unpublished or outdated entry.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code
from epigrid.publicity.models import Category, Faq
from epigrid.publicity.sanitize import clean_html, html_text
from epigrid.publicity.search import passages_rebuild_for

QUESTION_MAX = 300
ANSWER_MAX = 10_000
POSITION_STEP = 10
_TAG = re.compile(r"<[a-zA-Z/][^>]*>")


def _require(actor: User | None, faq: Faq | None = None) -> None:
    """Editors of the publicity team; for an existing entry, one whose unit covers it. None is the system."""
    if actor is None:
        return
    if not has_perm(actor, Perm.PUBLICITY_EDIT):
        raise Forbidden(_("Your role may not do this."))
    if faq is not None and not in_scope_code(actor, faq.org_code):
        raise Forbidden(_("This FAQ entry belongs to another unit."))


def answer_html(answer: str) -> str:
    """The stored form of an answer: cleaned HTML; text without markup becomes paragraphs and line breaks."""
    answer = (answer or "").strip()
    if not _TAG.search(answer):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", answer) if p.strip()]
        answer = "".join(
            "<p>" + "<br>".join(html.escape(line.strip()) for line in p.splitlines()) + "</p>"
            for p in paragraphs
        )
    return clean_html(answer)


def _validated(question: str, answer: str, category: str) -> tuple[str, str, str]:
    question = " ".join((question or "").split())
    if not question:
        raise DomainError(_("Write the question."), field="question")
    if len(question) > QUESTION_MAX:
        raise DomainError(
            _("The question is longer than %(n)d characters.") % {"n": QUESTION_MAX}, field="question"
        )
    if category not in Category.values:
        raise DomainError(_("Choose a category."), field="category")
    if len(answer or "") > ANSWER_MAX:
        raise DomainError(
            _("The answer is longer than %(n)d characters.") % {"n": ANSWER_MAX}, field="answer"
        )
    cleaned = answer_html(answer)
    if not html_text(cleaned):
        raise DomainError(_("Write the answer."), field="answer")
    return question, cleaned, category


def _changed(actor: User | None, faq: Faq, action: str, detail: dict | None = None) -> None:
    audit_record(actor=actor, action=f"faq.{action}", obj=faq, org_code=faq.org_code, detail=detail or {})
    events.publish(
        "faq.changed",
        payload={"faq_id": faq.pk, "action": action, "published": faq.published},
        org_code=faq.org_code,
    )
    passages_rebuild_for(faq)


@transaction.atomic
def faq_create(
    *, actor: User | None, question: str, answer: str, category: str, published: bool = True
) -> Faq:
    """A new entry at the end of its category; published at once unless ``published`` is False."""
    _require(actor)
    question, cleaned, category = _validated(question, answer, category)
    org_code = actor.org_code if actor is not None and actor.org_code else district_code()
    last = Faq.objects.filter(category=category).order_by("-position").values_list("position", flat=True)
    faq = Faq.objects.create(
        question=question,
        answer_html=cleaned,
        category=category,
        published=published,
        position=(last.first() or 0) + POSITION_STEP,
        org_code=org_code,
    )
    _changed(actor, faq, "create", {"category": category, "published": published})
    return faq


@transaction.atomic
def faq_update(*, actor: User | None, faq: Faq, question: str, answer: str, category: str) -> Faq:
    """New wording (or category: the entry moves to the end of the new one)."""
    _require(actor, faq)
    question, cleaned, category = _validated(question, answer, category)
    changed = [
        name
        for name, new in (("question", question), ("answer", cleaned), ("category", category))
        if getattr(faq, "answer_html" if name == "answer" else name) != new
    ]
    if not changed:
        return faq
    if category != faq.category:
        last = Faq.objects.filter(category=category).order_by("-position").values_list("position", flat=True)
        faq.position = (last.first() or 0) + POSITION_STEP
    faq.question, faq.answer_html, faq.category = question, cleaned, category
    faq.save(update_fields=["question", "answer_html", "category", "position", "updated_at"])
    _changed(actor, faq, "update", {"fields": changed})
    return faq


def _set_published(actor: User | None, faq: Faq, published: bool) -> Faq:
    _require(actor, faq)
    if faq.published == published:
        return faq
    faq.published = published
    faq.save(update_fields=["published", "updated_at"])
    _changed(actor, faq, "publish" if published else "unpublish")
    return faq


@transaction.atomic
def faq_publish(*, actor: User | None, faq: Faq) -> Faq:
    """Show the entry on the consultation page and answer from it (again). Publishing twice changes nothing."""
    return _set_published(actor, faq, True)


@transaction.atomic
def faq_unpublish(*, actor: User | None, faq: Faq) -> Faq:
    """Take the entry off the page and out of the search; it stays for editing."""
    return _set_published(actor, faq, False)


@transaction.atomic
def faq_reorder(*, actor: User | None, category: str, faq_ids: Sequence[int]) -> list[Faq]:
    """Put the category's entries in the order of ``faq_ids`` (entries not listed follow in their old
    order). Every id must be an entry of that category the actor may edit."""
    _require(actor)
    if category not in Category.values:
        raise DomainError(_("Choose a category."), field="category")
    entries = list(Faq.objects.filter(category=category).order_by("position", "pk"))
    by_id = {faq.pk: faq for faq in entries}
    wanted = list(dict.fromkeys(int(pk) for pk in faq_ids))
    unknown = [pk for pk in wanted if pk not in by_id]
    if unknown:
        raise DomainError(
            _("These entries are not in this category: %(ids)s.") % {"ids": ", ".join(map(str, unknown))},
            field="faq_ids",
        )
    ordered = [by_id[pk] for pk in wanted] + [faq for faq in entries if faq.pk not in set(wanted)]
    moved = []
    for rank, faq in enumerate(ordered, start=1):
        position = rank * POSITION_STEP
        if faq.position != position:
            _require(actor, faq)
            faq.position = position
            moved.append(faq)
    if moved:
        Faq.objects.bulk_update(moved, ["position"])
        audit_record(
            actor=actor,
            action="faq.reorder",
            org_code=actor.org_code if actor is not None and actor.org_code else district_code(),
            detail={"category": category, "order": [faq.pk for faq in ordered][:200]},
        )
    return ordered


def faq_move(*, actor: User | None, faq: Faq, up: bool) -> list[Faq]:
    """One step up or down within its category (the order buttons of the FAQ page)."""
    ids = list(
        Faq.objects.filter(category=faq.category).order_by("position", "pk").values_list("pk", flat=True)
    )
    i = ids.index(faq.pk)
    j = i - 1 if up else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    return faq_reorder(actor=actor, category=faq.category, faq_ids=ids)
