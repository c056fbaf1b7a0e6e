"""Hotline tickets: a resident asks the publicity team a question; the answer reaches their inbox.

``ticket_ask`` is for signed-in residents with a registered person (the ticket belongs to their area for
scope), limited to five questions an hour per account and idempotent by the form's ``client_id`` (a double tap or a retried
request returns the ticket made the first time and does not count against the limit). ``ticket_answer``
(hotline.answer, in scope) stores the answer and sends it to the asker's inbox with a link to the question;
a corrected answer is sent again. ``ticket_close`` ends a ticket: staff, or the asker who needs no answer.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Person, User
from epigrid.core.notices import notice_send_templated
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.publicity.models import Category, HotlineTicket, TicketStatus

QUESTION_MIN, QUESTION_MAX = 4, 1000
ANSWER_MAX = 4000
ASKS_PER_HOUR = 5  # per account: the hotline is people answering by hand
CLIENT_ID_MAX = 64


class TooManyQuestions(DomainError):
    """The account asked too often in the last hour. API: 429."""

    status = 429


def ticket_url(ticket: HotlineTicket) -> str:
    """The asker's page of the question and its answer."""
    return reverse("announcements:ticket", args=[ticket.pk])


def _asker_person(actor: User | None) -> Person:
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.is_active
        or is_staff_role(actor.role)
        or not actor.person_id
    ):
        raise Forbidden(_("Only a signed-in resident may ask the hotline."))
    person = Person.objects.filter(pk=actor.person_id).first()
    if person is None:
        raise Forbidden(_("Only a signed-in resident may ask the hotline."))
    return person


def _client_id(value: str | uuid.UUID | None) -> str | None:
    value = str(value).strip() if value is not None else ""
    if not value:
        return None
    if len(value) > CLIENT_ID_MAX:
        raise DomainError(_("The submission id is too long."), field="client_id")
    return value


def _replay(client_id: str | None, actor: User) -> HotlineTicket | None:
    if client_id is None:
        return None
    earlier = HotlineTicket.objects.filter(client_id=client_id).first()
    if earlier is not None and earlier.asked_by_id != actor.pk:
        raise Conflict(_("This submission belongs to another question."), field="client_id")
    return earlier


def ticket_ask(
    *, actor: User, question: str, category: str = "", client_id: str | uuid.UUID | None = None
) -> HotlineTicket:
    """A resident's question to the hotline. A replay of ``client_id`` returns the first ticket."""
    person = _asker_person(actor)
    client_id = _client_id(client_id)
    earlier = _replay(client_id, actor)
    if earlier is not None:
        return earlier
    question = (question or "").strip()
    if len(question) < QUESTION_MIN:
        raise DomainError(
            _("Write your question (at least %(n)d characters).") % {"n": QUESTION_MIN}, field="question"
        )
    if len(question) > QUESTION_MAX:
        raise DomainError(
            _("The question is longer than %(n)d characters.") % {"n": QUESTION_MAX}, field="question"
        )
    category = (category or "").strip()
    if category and category not in Category.values:
        raise DomainError(_("Choose a category from the list."), field="category")
    # Counted from the tickets themselves rather than in core.ratelimit's cache: exact per account in every
    # server process (the cache is per process without Redis) and across restarts, and a replay above never
    # counts. Two questions racing at the limit may both pass; the hotline survives one extra question.
    now = timezone.now()
    recent = HotlineTicket.objects.filter(asked_by=actor, created_at__gt=now - dt.timedelta(hours=1))
    if recent.count() >= ASKS_PER_HOUR:
        raise TooManyQuestions(
            _(
                "You have asked %(n)d questions within the hour; please wait for the answers or call the hotline."
            )
            % {"n": ASKS_PER_HOUR}
        )
    try:
        with transaction.atomic():
            ticket = HotlineTicket.objects.create(
                asked_by=actor,
                person=person,
                question=question,
                category=category,
                created_at=now,
                client_id=client_id,
                org_code=person.org_code,
            )
            audit_record(actor=actor, action="hotline.ask", obj=ticket, org_code=ticket.org_code)
            events.publish(
                "hotline.asked",
                payload={"ticket_id": ticket.pk, "category": category},
                org_code=ticket.org_code,
            )
    except IntegrityError:
        if client_id is not None:  # the same submission won a race with itself
            earlier = _replay(client_id, actor)
            if earlier is not None:
                return earlier
        raise
    return ticket


def _require_answerer(actor: User | None, ticket: HotlineTicket) -> None:
    if actor is None:
        return
    if not has_perm(actor, Perm.HOTLINE_ANSWER):
        raise Forbidden(_("Your role may not do this."))
    if not in_scope_code(actor, ticket.org_code):
        raise Forbidden(_("This question comes from outside your area."))


@transaction.atomic
def ticket_answer(*, actor: User | None, ticket: HotlineTicket, answer: str) -> HotlineTicket:
    """Answer (or correct the answer to) an open or answered question; the asker gets it in their inbox."""
    _require_answerer(actor, ticket)
    answer = (answer or "").strip()
    if not answer:
        raise DomainError(_("Write the answer."), field="answer")
    if len(answer) > ANSWER_MAX:
        raise DomainError(
            _("The answer is longer than %(n)d characters.") % {"n": ANSWER_MAX}, field="answer"
        )
    ticket = HotlineTicket.objects.select_for_update().select_related("asked_by").get(pk=ticket.pk)
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict(_("This question is closed."))
    if ticket.status == TicketStatus.ANSWERED and ticket.answer == answer:
        return ticket  # the same answer sent twice (a double click): nothing new to tell
    corrected = ticket.status == TicketStatus.ANSWERED
    ticket.status = TicketStatus.ANSWERED
    ticket.answer = answer
    ticket.answered_by = actor if actor is not None and actor.pk else None
    ticket.answered_at = timezone.now()
    ticket.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    audit_record(
        actor=actor,
        action="hotline.answer",
        obj=ticket,
        org_code=ticket.org_code,
        detail={"again": corrected},
    )
    events.publish("hotline.answered", payload={"ticket_id": ticket.pk}, org_code=ticket.org_code)
    # The template (core.notice_templates) writes it in the asker's own language; the body is the answer.
    notice_send_templated(
        actor=actor,
        users=[ticket.asked_by],
        kind="hotline_answer",
        params={"answer": answer},
        url=ticket_url(ticket),
    )
    return ticket


@transaction.atomic
def ticket_close(*, actor: User | None, ticket: HotlineTicket) -> HotlineTicket:
    """Close a question: hotline staff (answered or not), or the asker. Closing twice changes nothing."""
    if actor is None or actor.pk != ticket.asked_by_id:
        _require_answerer(actor, ticket)
    ticket = HotlineTicket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == TicketStatus.CLOSED:
        return ticket
    was = ticket.status
    ticket.status = TicketStatus.CLOSED
    ticket.save(update_fields=["status"])
    audit_record(
        actor=actor, action="hotline.close", obj=ticket, org_code=ticket.org_code, detail={"was": was}
    )
    events.publish("hotline.closed", payload={"ticket_id": ticket.pk}, org_code=ticket.org_code)
    return ticket
