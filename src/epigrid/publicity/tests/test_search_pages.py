"""The search through HTTP: the consultation page (whole page and HTMX answers), GET /api/v1/policy-search,
audience per viewer, empty questions, the per-address limit."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from epigrid.core.testing import shows
from epigrid.publicity.models import Category
from epigrid.publicity.tests import factories
from epigrid.publicity.tests.test_search import POLICY_BODY, POLICY_TITLE, UNIQUE_BODY

pytestmark = pytest.mark.django_db
API = "/api/v1/policy-search"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def corpus(jurisdiction, django_capture_on_commit_callbacks):
    booster = factories.faq(
        question="加强针和第二针间隔多久？",
        answer="完成全程接种满3个月的18岁以上人员可以接种加强针。",
        category=Category.VACCINATION,
    )
    yellow = factories.faq(
        question="黄码怎么转绿码？",
        answer="核酸检测阴性结果回传后黄码自动转为绿码。",
        category=Category.POLICY,
    )
    with django_capture_on_commit_callbacks(execute=True):
        policy = factories.approved(
            None, None, title=POLICY_TITLE, body=POLICY_BODY, category=Category.POLICY
        )
        targeted = factories.approved(
            None, None, title="海鲜市场临时封闭", body=UNIQUE_BODY, audience=[jurisdiction.grid_a]
        )
    return {"booster": booster, "yellow": yellow, "policy": policy, "targeted": targeted}


def test_the_page_answers_with_the_right_passage_first_and_marks_the_words(client, corpus):
    html = client.get(reverse("announcements:ask"), {"q": "加强针间隔多久"}).content.decode()
    first = html.index('data-testid="answer"')
    assert f'data-source-id="{corpus["booster"].pk}" data-rank="1"' in html[first : first + 200]
    assert "<mark>加强针</mark>" in html
    assert f'href="{reverse("announcements:ask")}#faq-{corpus["booster"].pk}"' in html


def test_htmx_gets_only_the_answers(client, corpus):
    response = client.get(
        reverse("announcements:ask"), {"q": "黄码怎么变绿码"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert 'data-testid="answers"' in html and "<html" not in html
    assert f'data-source-id="{corpus["yellow"].pk}"' in html


def test_an_unanswerable_question_says_so(client, corpus):
    html = client.get(reverse("announcements:ask"), {"q": "？？？"}).content.decode()
    assert 'data-testid="no-answer"' in html
    assert shows(html, "The question has no words to search for; ask in words.")


def test_a_targeted_announcement_answers_its_residents_only(client, login_client, users, corpus):
    question = {"q": "海鲜市场冷链食品"}
    assert 'data-testid="answer"' not in client.get(reverse("announcements:ask"), question).content.decode()
    html = login_client(users["resident"]).get(reverse("announcements:ask"), question).content.decode()
    assert f'data-source-id="{corpus["targeted"].pk}"' in html


def test_the_api_answers_the_top_passages_as_plain_text(client, corpus):
    body = client.get(API, {"q": "密接要隔离几天"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["query"] == "密接要隔离几天" and body["message"] == ""
    top = body["items"][0]
    assert (top["source_type"], top["source_id"]) == ("announcement", corpus["policy"].pk)
    assert top["title"] == POLICY_TITLE and top["heading"] == "二、密切接触者和次密切接触者管理"
    assert "<mark>" not in top["snippet"] and "密切接触者" in top["snippet"]
    assert top["url"] == reverse("announcements:detail", args=[corpus["policy"].pk])
    assert len(body["items"]) <= 5 and top["score"] > 0


def test_the_api_with_nothing_to_search_is_an_empty_list_with_a_message(client, corpus):
    for q in ("", "的了吗"):
        response = client.get(API, {"q": q}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert response.json()["items"] == [] and response.json()["message"]
    body = client.get(API, {"q": "海鲜市场冷链食品"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["items"] == []  # targeted at grid A: not for the public
    assert body["message"] == "No published policy or FAQ answers this; try other words or ask the hotline."


def test_searches_are_limited_per_address(client, corpus, settings, monkeypatch):
    from types import SimpleNamespace

    from epigrid.core import ratelimit
    from epigrid.publicity import search_api

    # A cache of this test's own, and one fixed minute: the limit counts per calendar minute, and 61
    # searches may straddle its end on a slow machine.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "search-limit"}
    }
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    for _ in range(search_api.PER_MINUTE):
        assert client.get(API, {"q": "加强针"}).status_code == 200
    response = client.get(API, {"q": "加强针"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert response.json() == {"detail": "Too many searches from your network; wait a minute."}
    assert client.get(reverse("announcements:ask"), {"q": "加强针"}).status_code == 429
