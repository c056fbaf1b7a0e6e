"""Scope cases of the announcements' models (see ``epigrid.core.testing``)."""

from __future__ import annotations

from django.utils import timezone

from epigrid.core.testing import scope_case
from epigrid.core.tests.factories import UserFactory
from epigrid.publicity.models import Category, Faq, HotlineTicket


@scope_case("publicity.announcement")
def make_announcement(grid, person):
    # Written by an editor of the grid, so it belongs to the grid. Staff pages need publicity.edit, which no
    # grid worker holds: no detail URL here (the public detail page is not scoped by author).
    from epigrid.publicity.tests.factories import draft, editor

    return draft(editor(grid), title="通知", category=Category.POLICY)


@scope_case("publicity.faq")
def make_faq(grid, person):
    return Faq.objects.create(
        question="问", answer_html="<p>答</p>", category=Category.POLICY, org_code=grid.code
    )


@scope_case("publicity.hotlineticket")
def make_ticket(grid, person):
    asker = getattr(person, "account", None) or UserFactory(role="resident", person=person)
    return HotlineTicket.objects.create(
        asked_by=asker, person=person, question="问题", created_at=timezone.now(), org_code=person.org_code
    )
