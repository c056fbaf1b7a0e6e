"""The closed loop: a positive single tube → a case → contacts with evidence → red health codes."""

from __future__ import annotations

import json
import uuid

import pytest

from epigrid.core.tests.factories import PersonFactory
from epigrid.healthcode.codes import personal_code
from epigrid.healthcode.models import HealthCode, PersonFacts
from epigrid.investigation.models import Case, CaseLink
from epigrid.investigation.tests.factories import local, old_venue, stay

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def test_a_positive_single_tube_opens_a_traced_case_and_turns_contacts_red(
    jurisdiction, users, api_client, person_a, django_capture_on_commit_callbacks
):
    sampler, lab = api_client(users["sampler"]), api_client(users["lab_technician"])
    epi = api_client(users["epidemiologist"])
    diner, colleague = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_b)
    restaurant = old_venue(jurisdiction.grid_a)
    stay(person_a, restaurant, local(-2, 18), 90)
    stay(diner, restaurant, local(-2, 18, 30), 90)
    stay(colleague, restaurant, local(-2, 20), 60)  # arrives as the diner, who stayed longest, leaves

    assert post(sampler, "/api/v1/testing/tubes", {"barcode": "E2E001", "pool_size": 1}).status_code == 201
    code, _expires = personal_code(person_a)
    added = post(
        sampler, "/api/v1/testing/tubes/E2E001/specimens", {"code": code, "client_id": str(uuid.uuid4())}
    )
    assert added.status_code == 201, added.content
    with django_capture_on_commit_callbacks(execute=True):
        rows = post(lab, "/api/v1/testing/results", [{"tube": "E2E001", "result": "positive"}])
    assert rows.json()[0]["ok"]

    cases = epi.get("/api/v1/cases").json()
    assert [(c["person"]["id"], c["classification"]) for c in cases] == [(person_a.pk, "asymptomatic")]
    case = Case.objects.get(person=person_a)
    assert case.origin == "specimen" and case.traced_at is not None
    contacts = epi.get(f"/api/v1/cases/{cases[0]['id']}/contacts").json()
    assert [(c["person"]["id"], c["tier"], c["venue"], c["overlap_minutes"]) for c in contacts] == [
        (diner.pk, "close", restaurant.name, 60)
    ]
    assert contacts[0]["status"] == "notified"
    assert HealthCode.objects.get(person=person_a).colour == "red"
    assert HealthCode.objects.get(person=diner).colour == "red"
    facts = PersonFacts.objects.get(person=diner)
    assert (facts.contact_tier, facts.contact_at) == ("close", local(-2, 19, 30))  # the end of the exposure
    assert not HealthCode.objects.filter(person=colleague, colour="red").exists()

    # The same positive reported twice opens nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        post(lab, "/api/v1/testing/results", [{"tube": "E2E001", "result": "positive"}])
    assert Case.objects.count() == 1

    # The contact tests positive later: a linked case, one more link in the chain.
    assert post(sampler, "/api/v1/testing/tubes", {"barcode": "E2E002", "pool_size": 1}).status_code == 201
    code, _expires = personal_code(diner)
    post(sampler, "/api/v1/testing/tubes/E2E002/specimens", {"code": code, "client_id": str(uuid.uuid4())})
    with django_capture_on_commit_callbacks(execute=True):
        post(lab, "/api/v1/testing/results", [{"tube": "E2E002", "result": "positive"}])
    second = Case.objects.get(person=diner)
    link = CaseLink.objects.get(target=second)
    assert (link.source_id, link.kind) == (case.pk, "contact")
    chains = epi.get("/api/v1/chains").json()
    assert [(c["size"], c["generations"]) for c in chains] == [(2, 2)]
