"""The demo's policy consultation: the FAQ through the services, the hotline questions (one answered into
resident1's inbox), and the search answering from the demo announcements as well as the FAQ."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from epigrid.core.models import Notice, OrgLevel
from epigrid.publicity import search
from epigrid.publicity.models import Faq, HotlineTicket, SearchPassage, TicketStatus
from epigrid.simulation import district
from epigrid.simulation.faq_demo import FAQ, TICKETS
from epigrid.simulation.plan import plan_district
from epigrid.testing import services as testing

SEED = 5
PREREQUISITES = ("org_units", "households", "residents", "accounts")


@pytest.fixture
def loaded(db):
    cache.clear()
    ctx = district.DemoContext(plan=plan_district("tiny", SEED))
    steps = dict(district.STEPS)
    for name in PREREQUISITES:
        steps[name](ctx)
    grid = min((u for u in ctx.units.values() if u.level == OrgLevel.GRID), key=lambda u: u.code)
    testing.sampling_point_create(actor=None, name="第一网格核酸采样点", kind="fixed", grid=grid)
    steps["publicity"](ctx)
    # The handlers of the announcements' events have not run yet (the load commits at its end): the FAQ
    # step builds their passages itself.
    steps["faq"](ctx)
    yield ctx
    cache.clear()


def test_the_step_runs_after_the_announcements():
    names = [name for name, _step in district.STEPS]
    assert names.index("faq") > names.index("publicity")


def test_the_faq_and_the_hotline(loaded):
    editor = loaded.users["publicity"]
    assert Faq.objects.filter(published=True).count() == len(FAQ) >= 25
    assert SearchPassage.objects.filter(faq__isnull=False).count() == len(FAQ)
    asked = HotlineTicket.objects.all()
    assert asked.count() == len(TICKETS)
    answered = asked.get(status=TicketStatus.ANSWERED)
    assert answered.asked_by == loaded.users["resident1"] and answered.answered_by == editor
    assert Notice.objects.filter(user=loaded.users["resident1"], kind="hotline_answer").count() == 1
    assert asked.filter(status=TicketStatus.OPEN).count() == len(TICKETS) - 1


def test_the_search_answers_from_the_demo_announcements_too(loaded):
    assert SearchPassage.objects.filter(announcement__isnull=False).exists()
    sources = {hit.source for hit in search.search("核酸检测采样点", limit=10).hits}
    assert sources == {"faq", "announcement"}
    assert search.search("黄码怎么变绿码").hits[0].title == "黄码怎么转绿码？"
