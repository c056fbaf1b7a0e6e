"""The generic scope suite: every model registered in core.scope, every kind of actor.

For each model: an instance in grid A (with person A) and one in grid B (with person B). A grid worker of
grid A and a community officer of community A see the first and not the second; the district sees both; a
resident (person A) sees only their own records; an inactive account or an anonymous one sees nothing.
Detail URLs answer 404 out of scope, exactly like a missing object.
"""

from __future__ import annotations

import importlib
import importlib.util

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser

from epigrid.core import scope
from epigrid.core.testing import DETAIL_URLS, SCOPE_CASES
from epigrid.core.tests.factories import PersonFactory

for app in apps.get_app_configs():
    # Each app keeps its cases in tests/scope_cases.py; importing it registers them.
    tests_package = f"{app.name}.tests"
    if (
        app.name.startswith("epigrid.")
        and importlib.util.find_spec(tests_package)
        and importlib.util.find_spec(f"{tests_package}.scope_cases")
    ):
        importlib.import_module(f"{tests_package}.scope_cases")

LABELS = sorted(entry.model._meta.label_lower for entry in scope.registered())


def test_every_scoped_model_has_a_scope_case():
    missing = [label for label in LABELS if label not in SCOPE_CASES]
    assert not missing, f"add scope cases for {missing} (see epigrid.core.testing)"


@pytest.fixture
def pair(jurisdiction, users, person_a, person_b, request):
    label = request.param
    make = SCOPE_CASES[label]
    inside = make(jurisdiction.grid_a, person_a)
    outside = make(jurisdiction.grid_b, person_b)
    model = apps.get_model(label)
    return model, inside, outside


def _visible(model, actor) -> set[int]:
    return set(scope.scoped(model.objects.all(), actor).values_list("pk", flat=True))


@pytest.mark.parametrize("pair", LABELS, indirect=True)
@pytest.mark.parametrize("role", ["grid_worker", "grid_leader", "community_officer"])
def test_local_staff_see_their_own_area_only(pair, users, role):
    model, inside, outside = pair
    visible = _visible(model, users[role])
    assert inside.pk in visible
    assert outside.pk not in visible


@pytest.mark.parametrize("pair", LABELS, indirect=True)
def test_district_staff_see_everything(pair, users):
    model, inside, outside = pair
    assert {inside.pk, outside.pk} <= _visible(model, users["epidemiologist"])


@pytest.mark.parametrize("pair", LABELS, indirect=True)
def test_resident_sees_only_own_records(pair, users):
    model, inside, outside = pair
    visible = _visible(model, users["resident"])
    assert outside.pk not in visible
    entry = next(e for e in scope.registered() if e.model is model)
    if entry.person_field is None:
        assert visible == set()
    else:
        assert visible == {inside.pk}


@pytest.mark.parametrize("pair", LABELS, indirect=True)
def test_inactive_and_anonymous_see_nothing(pair, users):
    model, _, _ = pair
    worker = users["grid_worker"]
    worker.is_active = False
    assert _visible(model, worker) == set()
    assert _visible(model, AnonymousUser()) == set()


DETAIL_CASES = [(label, url) for label in sorted(DETAIL_URLS) for url in DETAIL_URLS[label]]


@pytest.mark.parametrize(("pair", "url"), DETAIL_CASES, indirect=["pair"])
@pytest.mark.parametrize("role", ["grid_worker", "resident"])
def test_detail_out_of_scope_is_404_like_missing(pair, url, role, users, api_client, login_client):
    model, inside, outside = pair
    client = api_client(users[role]) if url.startswith("/api/") else login_client(users[role])
    entry = next(e for e in scope.registered() if e.model is model)
    resident_blind = role == "resident" and entry.person_field is None
    assert client.get(url.format(pk=inside.pk)).status_code == (404 if resident_blind else 200)
    out = client.get(url.format(pk=outside.pk))
    missing = client.get(url.format(pk=10**9))
    assert out.status_code == missing.status_code == 404


def test_a_person_registered_later_in_grid_b_stays_invisible_to_grid_a(jurisdiction, users, api_client):
    newcomer = PersonFactory(grid=jurisdiction.grid_b)
    body = api_client(users["grid_worker"]).get("/api/v1/persons?limit=1000").json()
    assert newcomer.pk not in {item["id"] for item in body["items"]}
