"""Switching the emergency response level from the command center: a reason is required, the change is
broadcast (``response_level.changed``) and selects the rule set of the new level; the panel is a partial any
page can include."""

from __future__ import annotations

from django.template import Context, Template
from django.test import RequestFactory

from epigrid.core.models import Event, ResponseLevel, ResponseLevelChange
from epigrid.core.selectors import response_level_current

HTMX = {"HTTP_HX_REQUEST": "true"}


def _panel(user) -> str:
    request = RequestFactory().get("/command/")
    request.user = user
    return Template('{% include "command/_response_level.html" %}').render(
        Context({"request": request, "user": user})
    )


def test_the_panel_shows_the_level_and_the_form_only_to_those_who_may_switch(users):
    for_commander = _panel(users["commander"])
    assert 'data-testid="current-level" data-level="normal"' in for_commander
    assert 'data-testid="level-form"' in for_commander
    for_officer = _panel(users["community_officer"])
    assert 'data-level="normal"' in for_officer and 'data-testid="level-form"' not in for_officer


def test_switching_needs_a_reason(users, login_client):
    client = login_client(users["commander"])
    response = client.post("/command/level/", {"level": "II", "reason": "  "}, **HTMX)
    assert response.status_code == 400
    assert 'data-testid="level-form"' in response.content.decode()
    assert response_level_current() == ResponseLevel.NORMAL
    assert not ResponseLevelChange.objects.exists()


def test_switching_through_htmx_answers_with_the_panel_and_broadcasts(
    users, login_client, django_capture_on_commit_callbacks
):
    client = login_client(users["commander"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/command/level/", {"level": "II", "reason": "本区新增聚集性疫情"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="current-level" data-level="II"' in html and "本区新增聚集性疫情" in html
    assert response_level_current() == "II"
    change = ResponseLevelChange.objects.get()
    assert change.set_by == users["commander"] and change.reason == "本区新增聚集性疫情"
    event = Event.objects.get(type="response_level.changed")
    assert event.payload["level"] == "II"


def test_switching_without_javascript_goes_back_where_it_came_from(users, login_client):
    client = login_client(users["commander"])
    response = client.post(
        "/command/level/", {"level": "IV", "reason": "演练前", "next": "/command/cameras/"}
    )
    assert response.status_code == 302 and response["Location"] == "/command/cameras/"
    response = client.post(
        "/command/level/", {"level": "normal", "reason": "解除", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/command/"
    assert client.post("/command/level/", {"level": "I", "reason": ""}).status_code == 400


def test_only_those_with_the_permission_switch(users, login_client):
    assert (
        login_client(users["community_officer"])
        .post("/command/level/", {"level": "I", "reason": "x"})
        .status_code
        == 403
    )
    assert (
        login_client(users["grid_worker"]).post("/command/level/", {"level": "I", "reason": "x"}).status_code
        == 403
    )
    assert response_level_current() == ResponseLevel.NORMAL


def test_the_new_level_selects_its_rule_set(users, login_client, django_capture_on_commit_callbacks):
    from epigrid.healthcode import engine

    assert "normal" in engine.active_rule_set().response_levels  # the seeded peacetime set
    client = login_client(users["commander"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/command/level/", {"level": "I", "reason": "一级响应"}, **HTMX)
    assert "I" in engine.active_rule_set().response_levels  # the emergency set is in force now
