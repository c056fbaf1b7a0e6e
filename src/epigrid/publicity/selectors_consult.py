"""Reads of the policy consultation: what the search may answer from, the FAQ, hotline tickets.

Staff see FAQ entries and tickets through ``core.scope`` (a ticket belongs to the asker's area); a resident
sees their own tickets only; the public sees published FAQ entries and public announcements.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.http import Http404

from epigrid.core.models import User
from epigrid.core.roles import is_staff_role
from epigrid.core.scope import scoped
from epigrid.publicity.models import Category, Faq, HotlineTicket, TicketStatus
from epigrid.publicity.selectors import public_announcements


def searchable_announcements(*, viewer: User | None = None, now: dt.datetime | None = None) -> QuerySet:
    """The announcements the search may answer from for ``viewer`` (None: the public): exactly those the
    announcement pages show them now (``publicity.selectors.public_announcements``: approved, publish time
    reached, not expired, for everyone or for a unit of theirs)."""
    return public_announcements(viewer=viewer, now=now)


# --- FAQ --------------------------------------------------------------------------------------------------------


def faqs_public(*, category: str = "") -> QuerySet[Faq]:
    """Published FAQ entries in their order (by category, position)."""
    qs = Faq.objects.filter(published=True)
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("category", "position", "pk")


def faqs_by_category(faqs: list[Faq]) -> list[tuple[str, str, list[Faq]]]:
    """(category value, label, entries) in the categories' declared order, empty categories left out."""
    out = []
    for value, label in Category.choices:
        entries = [f for f in faqs if f.category == value]
        if entries:
            out.append((value, label, entries))
    return out


def faq_list(*, actor: User, category: str = "", published: bool | None = None) -> QuerySet[Faq]:
    """FAQ entries the staff actor may see (their unit's and below)."""
    qs = scoped(Faq.objects.all(), actor)
    if category:
        qs = qs.filter(category=category)
    if published is not None:
        qs = qs.filter(published=published)
    return qs.order_by("category", "position", "pk")


def faq_get(*, actor: User, pk: int) -> Faq:
    faq = faq_list(actor=actor).filter(pk=pk).first()
    if faq is None:
        raise Http404
    return faq


# --- hotline tickets --------------------------------------------------------------------------------------------


def ticket_list(*, actor: User, status: str = "", category: str = "", search: str = "") -> QuerySet:
    """Tickets of residents in the actor's area (a resident: their own), oldest waiting first when filtered
    to open ones, else newest first."""
    qs = scoped(HotlineTicket.objects.select_related("asked_by", "answered_by", "person"), actor)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(question__icontains=search) | Q(answer__icontains=search))
    if status == TicketStatus.OPEN:
        return qs.order_by("created_at", "pk")
    return qs.order_by("-created_at", "-pk")


def ticket_get(*, actor: User, pk: int) -> HotlineTicket:
    ticket = ticket_list(actor=actor).filter(pk=pk).first()
    if ticket is None:
        raise Http404
    return ticket


def my_tickets(*, user: User) -> QuerySet[HotlineTicket]:
    """The questions this account asked, newest first (nothing for staff or anonymous)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or is_staff_role(user.role):
        return HotlineTicket.objects.none()
    return HotlineTicket.objects.filter(asked_by=user).order_by("-created_at", "-pk")


def my_ticket_get(*, user: User, pk: int) -> HotlineTicket:
    ticket = my_tickets(user=user).filter(pk=pk).first()
    if ticket is None:
        raise Http404
    return ticket


def open_ticket_count(*, actor: User) -> int:
    return ticket_list(actor=actor, status=TicketStatus.OPEN).count()
