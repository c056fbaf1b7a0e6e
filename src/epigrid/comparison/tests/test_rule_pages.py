"""Comparison rule pages through the Django test client: who may read and run them, saving a rule with the
parameters of its kind (and the refusals), run now, editing, the action list (masked, filtered by grid, linked
to the dossier), one-click grid tasks (how many are new) and the Excel export (masked, formula-safe)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from epigrid.comparison.models import (
    Arrival,
    ComparisonHit,
    ComparisonKind,
    ComparisonRule,
    ComparisonRun,
)
from epigrid.comparison.services import archive, comparisons
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows, shows_start
from epigrid.core.tests.factories import PersonFactory
from epigrid.grids.models import Task, TaskType
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.services import RiskAreaInput
from epigrid.places.tests.factories import VenueFactory

pytestmark = pytest.mark.django_db

RULES = reverse("comparison:rules")
D = dt.timedelta(days=1)


def rule_url(rule: ComparisonRule) -> str:
    return reverse("comparison:rule_detail", args=[rule.pk])


def run_url(run: ComparisonRun) -> str:
    return reverse("comparison:run_detail", args=[run.pk])


def arrival(person, at: dt.datetime, *, origin: str = "上海市浦东新区") -> Arrival:
    """An arrival from 310115, a high-risk region (``world`` designates it)."""
    return archive.arrival_record(
        actor=None,
        person=person,
        data=archive.ArrivalInput(origin=origin, arrived_at=at, origin_region_code="310115"),
    )


@pytest.fixture
def world(users, jurisdiction):
    """Two untested arrivals from a high-risk area (grids A and B) and a district rule run over them."""
    now = timezone.now()
    healthcode_services.risk_area_designate(
        actor=users["district_admin"],
        data=RiskAreaInput(
            name="上海市浦东新区",
            level="high",
            kind="region",
            region_code="310115",
            effective_from=now - 30 * D,
        ),
    )
    a, b = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_b)
    arrival(a, now - 3 * D)
    arrival(b, now - 4 * D, origin='=HYPERLINK("http://x")')
    admin = users["district_admin"]
    rule = comparisons.rule_create(actor=admin, name="抵达未检", kind=ComparisonKind.NOT_TESTED)
    run = comparisons.rule_run(actor=admin, rule=rule)
    return type("World", (), {"a": a, "b": b, "rule": rule, "run": run})


# Messages with plural forms are looked up by their singular (the catalogue's key; zh-Hans has one form).


def hit_people(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-testid="hit-row" data-person="(\d+)"', html)}


def sheet_rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True))


# --- access -----------------------------------------------------------------------------------------------


def test_pages_per_role(world, users, login_client, client):
    district_wide = {Role.DISTRICT_ADMIN, Role.COMMANDER, Role.EPIDEMIOLOGIST}
    for role in Role:
        browser = login_client(users[role.value])
        viewer = may(role.value, Perm.COMPARISON_VIEW)
        assert browser.get(RULES).status_code == (200 if viewer else 403), role
        # The district's rule and run: read by the district-wide viewers; 404 for those of a smaller area.
        expected = (200 if role in district_wide else 404) if viewer else 403
        for url in (
            rule_url(world.rule),
            run_url(world.run),
            reverse("comparison:run_export", args=[world.run.pk]),
        ):
            assert browser.get(url).status_code == expected, (role, url)
    for url in (RULES, rule_url(world.rule), run_url(world.run)):
        assert client.get(url).status_code == 302  # anonymous: to the login page


def test_the_rule_list_shows_each_rule_with_its_last_run(world, users, login_client):
    html = login_client(users["commander"]).get(RULES).content.decode()
    row = re.search(rf'data-testid="rule-row" data-rule="{world.rule.pk}".*?</tr>', html, re.S).group(0)
    assert "抵达未检" in row and 'data-hits="2"' in row and run_url(world.run) in row
    assert 'data-testid="rule-create"' in html  # the commander may run comparisons
    officer = login_client(users["community_officer"]).get(RULES).content.decode()
    assert f'data-rule="{world.rule.pk}"' not in officer  # the district's rule is not in the community's list
    worker = login_client(users["grid_worker"]).get(RULES).content.decode()
    assert 'data-testid="rule-create"' not in worker  # comparison.view only


# --- saving rules -----------------------------------------------------------------------------------------


def test_save_a_rule_with_the_parameters_of_its_kind(users, login_client, jurisdiction):
    browser = login_client(users["community_officer"])
    response = browser.post(
        RULES,
        {
            "name": "抵达24小时未检",
            "kind": "not_tested",
            "schedule": "hourly",
            "hours": "24",
            "window_days": "7",
            "levels": ["high"],
            "need": "booster",  # another kind's parameter: ignored
        },
    )
    rule = ComparisonRule.objects.get(name="抵达24小时未检")
    assert response.status_code == 302 and response["Location"] == rule_url(rule)
    assert rule.params == {"hours": 24, "window_days": 7, "levels": ["high"]}
    assert (rule.schedule, rule.org_code) == ("hourly", jurisdiction.community_a.code)
    html = browser.get(rule_url(rule)).content.decode()
    assert 'data-testid="rule-params"' in html and shows(html, "Tested within %(n)d hour of arrival", n=24)

    # No level ticked: every arrival.
    browser.post(RULES, {"name": "全部来返", "kind": "not_screened", "schedule": "manual", "window_days": ""})
    assert ComparisonRule.objects.get(name="全部来返").params == {"window_days": 14, "levels": []}


def test_save_a_venue_rule(users, login_client, jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a, name="金街火锅店")
    browser = login_client(users["district_admin"])
    response = browser.post(
        RULES,
        {
            "name": "火锅店到访",
            "kind": "venue_visitors",
            "schedule": "manual",
            "venue_id": str(venue.pk),
            "from": "2026-01-05T18:00",
            "to": "2026-01-05T22:00",
            "window_days": "30",
        },
    )
    assert response.status_code == 302
    rule = ComparisonRule.objects.get(name="火锅店到访")
    assert rule.params["venue_id"] == venue.pk and rule.params["window_days"] == 30
    start = timezone.make_aware(dt.datetime(2026, 1, 5, 18, 0))
    assert rule.params["from"] == start.isoformat()
    html = browser.get(rule_url(rule)).content.decode()
    assert "金街火锅店" in html and "2026-01-05 18:00" in html
    # The venue search of the form answers with the select of matching venues.
    found = browser.get(RULES, {"venue_q": "火锅"}, headers={"HX-Request": "true"}).content.decode()
    assert f'value="{venue.pk}"' in found and "<html" not in found


def test_bad_rules_are_refused_with_the_reason(users, login_client, jurisdiction):
    browser = login_client(users["district_admin"])
    response = browser.post(RULES, {"name": "x", "kind": "not_tested", "schedule": "manual", "hours": "0"})
    assert response.status_code == 400 and not ComparisonRule.objects.exists()
    response = browser.post(
        RULES, {"name": "y", "kind": "venue_visitors", "schedule": "manual", "from": "2026-01-05T18:00"}
    )
    assert response.status_code == 400 and not ComparisonRule.objects.exists()
    assert shows(response.content.decode(), "Choose a venue.")
    venue = VenueFactory(grid=jurisdiction.grid_a)
    response = browser.post(
        RULES,
        {
            "name": "z",
            "kind": "venue_visitors",
            "schedule": "manual",
            "venue_id": str(venue.pk),
            "from": "2026-01-05T18:00",
            "to": "2026-01-05T17:00",
        },
    )
    assert response.status_code == 400 and not ComparisonRule.objects.exists()
    assert shows(response.content.decode(), "The end of the period must come after its start.")
    worker = login_client(users["grid_worker"])
    assert worker.post(RULES, {"name": "w", "kind": "no_grid", "schedule": "manual"}).status_code == 403


def test_run_now_and_edit(world, users, login_client):
    browser = login_client(users["district_admin"])
    response = browser.post(rule_url(world.rule), {"action": "run"})
    run = ComparisonRun.objects.exclude(pk=world.run.pk).get()
    assert response.status_code == 302 and response["Location"] == run_url(run)
    assert run.hits == 2 and run.run_by == users["district_admin"]

    response = browser.post(
        rule_url(world.rule),
        {
            "action": "update",
            "name": "抵达72小时未检",
            "schedule": "daily",
            "hours": "72",
            "window_days": "14",
            "levels": ["high", "medium"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    world.rule.refresh_from_db()
    assert (world.rule.name, world.rule.schedule, world.rule.params["hours"]) == (
        "抵达72小时未检",
        "daily",
        72,
    )
    response = browser.post(rule_url(world.rule), {"action": "update", "name": "", "schedule": "daily"})
    assert response.status_code == 400
    html = browser.get(rule_url(world.rule)).content.decode()
    assert html.count('data-testid="run-row"') == 2
    # Reading is not running.
    worker = login_client(users["epidemiologist"])
    assert worker.post(rule_url(world.rule), {"action": "run"}).status_code == 302  # comparison.run
    assert (
        login_client(users["commander"]).post(rule_url(world.rule), {"action": "nothing"}).status_code == 400
    )


# --- the action list --------------------------------------------------------------------------------------


def test_the_action_list_is_masked_filtered_and_linked_to_the_dossier(
    world, users, login_client, jurisdiction
):
    browser = login_client(users["district_admin"])
    html = browser.get(run_url(world.run)).content.decode()
    assert hit_people(html) == {world.a.pk, world.b.pk}
    for person in (world.a, world.b):
        assert person.name_masked in html and person.id_number_masked in html
        assert person.name not in html and person.id_number not in html
    assert reverse("comparison:dossier", args=[world.a.pk]) in html
    assert shows_start(
        html, "Arrived %(since)d hour ago, not tested since (the rule: within %(hours)d hours)"
    )
    html = browser.get(run_url(world.run), {"grid": jurisdiction.grid_b.code}).content.decode()
    assert hit_people(html) == {world.b.pk}
    # A unit outside the reader's area is 404, like a missing one.
    officer = login_client(users["community_officer"])
    assert officer.get(run_url(world.run)).status_code == 404
    assert browser.get(run_url(world.run), {"grid": "999999"}).status_code == 404
    # Pages of the list come as HTMX partials.
    partial = browser.get(run_url(world.run), headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="hit-count"' in partial and "<html" not in partial


def test_grid_tasks_for_the_list_say_how_many_are_new(world, users, login_client, jurisdiction):
    browser = login_client(users["district_admin"])
    url = reverse("comparison:run_tasks", args=[world.run.pk])
    response = browser.post(url, {"grid": jurisdiction.grid_a.code}, follow=True)
    assert [t.subject_person_id for t in Task.objects.all()] == [world.a.pk]
    assert shows(response.content.decode(), "%(n)d new grid task, sent to the person's grid.", n=1)
    response = browser.post(url, {"grid": ""}, follow=True)
    html = response.content.decode()
    tasks = Task.objects.filter(type=TaskType.ARRIVAL_TEST)
    assert {(t.subject_person_id, t.grid_id) for t in tasks} == {
        (world.a.pk, jurisdiction.grid_a.pk),
        (world.b.pk, jurisdiction.grid_b.pk),
    }
    assert shows(html, "%(n)d new grid task, sent to the person's grid.", n=1)
    assert shows(html, "%(n)d person on the list has such a task already and got no second.", n=1)
    assert html.count('data-task="true"') == 2
    response = browser.post(url, follow=True)
    assert tasks.count() == 2
    assert shows(
        response.content.decode(), "%(n)d person on the list has such a task already and got no second.", n=2
    )


def test_grid_tasks_need_dispatch_rights(world, users, login_client):
    url = reverse("comparison:run_tasks", args=[world.run.pk])
    epi = login_client(users["epidemiologist"])  # comparison.run without task.dispatch
    assert 'data-testid="run-tasks"' not in epi.get(run_url(world.run)).content.decode()
    assert epi.post(url).status_code == 403
    assert login_client(users["grid_worker"]).post(url).status_code == 403
    assert login_client(users["community_officer"]).post(url).status_code == 404  # a district run
    assert login_client(users["commander"]).get(url).status_code == 405
    assert not Task.objects.exists()
    assert not ComparisonHit.objects.filter(task_created=True).exists()


def test_the_export_is_masked_and_formula_safe(world, users, login_client, jurisdiction):
    response = login_client(users["commander"]).get(reverse("comparison:run_export", args=[world.run.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"comparison-{world.run.pk}-" in response["Content-Disposition"]
    rows = sheet_rows(response.content)
    masked = {world.a.id_number_masked, world.b.id_number_masked}
    header, body = rows[0], [r for r in rows[1:] if r and r[1] in masked]
    assert len(header) == 9 and len(body) == 2
    cells = [str(c) for row in rows for c in row if c is not None]
    for person in (world.a, world.b):
        assert person.name_masked in cells and person.id_number_masked in cells
        assert not any(person.name in c or person.id_number in c or person.phone in c for c in cells)
    b = next(r for r in body if r[1] == world.b.id_number_masked)
    assert b[2] == jurisdiction.grid_b.code and b[5] == '\'=HYPERLINK("http://x")'
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    # The grid filter applies to the file as to the page.
    filtered = login_client(users["commander"]).get(
        reverse("comparison:run_export", args=[world.run.pk]), {"grid": jurisdiction.grid_a.code}
    )
    assert [r[1] for r in sheet_rows(filtered.content)[1:] if r and r[1] in masked] == [
        world.a.id_number_masked
    ]
