"""Scope cases of the announcements' models (see ``epigrid.core.testing``)."""

from __future__ import annotations

from epigrid.core.testing import scope_case
from epigrid.publicity.models import Category


@scope_case("publicity.announcement")
def make_announcement(grid, person):
    # Written by an editor of the grid, so it belongs to the grid. Staff pages need publicity.edit, which no
    # grid worker holds: no detail URL here (the public detail page is not scoped by author).
    from epigrid.publicity.tests.factories import draft, editor

    return draft(editor(grid), title="通知", category=Category.POLICY)


@scope_case("publicity.faq")
def make_faq(grid, person):
    # Written by an editor of the grid. The FAQ pages need publicity.edit, which no grid worker holds: no
    # detail URL (the public page shows published entries to everyone).
    from epigrid.publicity.tests.factories import editor, faq

    return faq(actor=editor(grid), question="问", answer="答", category=Category.POLICY)


@scope_case("publicity.hotlineticket")
def make_ticket(grid, person):
    # Asked by the person's resident account; it belongs to the person's area. The staff queue needs
    # hotline.answer and the resident's page refuses staff: no detail URL that both roles open.
    from epigrid.publicity.tests.factories import resident_of, ticket

    return ticket(resident_of(person), question="小区采样点周末开放吗？")
