"""The investigation API: contracts.md's two endpoints and the epidemiologist's writes, with bad input."""

from __future__ import annotations

import json

import pytest

from epigrid.core.models import AuditEntry, Event
from epigrid.core.roles import Role
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.investigation.models import Case, CaseLink, Contact
from epigrid.investigation.tests.factories import local, old_venue, stay

pytestmark = pytest.mark.django_db


def call(client, method: str, path: str, body=None):
    return getattr(client, method)(
        path, json.dumps(body or {}, default=str), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


@pytest.fixture
def epi(users, api_client):
    return api_client(users["epidemiologist"])


@pytest.fixture
def scene(jurisdiction):
    """A case person who had lunch with a neighbour in grid A and dinner with someone from grid B."""
    people = {name: PersonFactory(grid=jurisdiction.grid_a) for name in ("case", "lunch")}
    people["dinner"] = PersonFactory(grid=jurisdiction.grid_b)
    canteen, restaurant = old_venue(jurisdiction.grid_a), old_venue(jurisdiction.grid_b)
    stay(people["case"], canteen, local(-2, 12), 60)
    stay(people["lunch"], canteen, local(-2, 12, 10), 40)
    stay(people["case"], restaurant, local(-2, 18), 90)
    stay(people["dinner"], restaurant, local(-2, 18), 120)
    return people, canteen, restaurant


def create(client, person, **extra):
    return call(
        client, "post", "/api/v1/cases", {"person_id": person.pk, "first_positive_at": local(-1, 9), **extra}
    )


def test_cases_and_contacts_as_contracts_md_says(epi, scene):
    people, canteen, restaurant = scene
    made = create(epi, people["case"])
    assert made.status_code == 201, made.content
    case_id = made.json()["id"]
    older = create(epi, PersonFactory(grid=people["lunch"].grid)).json()["id"]

    listed = epi.get("/api/v1/cases").json()
    assert [item["id"] for item in listed] == [older, case_id]  # newest first
    item = listed[1]
    assert set(item) >= {"id", "person", "classification", "created_at"}
    assert item["classification"] == "confirmed"
    assert item["person"]["id_number"] == people["case"].id_number_masked
    assert people["case"].id_number not in json.dumps(listed)

    contacts = epi.get(f"/api/v1/cases/{case_id}/contacts").json()
    rows = {row["person"]["id"]: row for row in contacts}
    assert set(rows) == {people["lunch"].pk, people["dinner"].pk}
    lunch = rows[people["lunch"].pk]
    assert {k: lunch[k] for k in ("tier", "venue", "overlap_minutes", "source")} == {
        "tier": "close",
        "venue": canteen.name,
        "overlap_minutes": 40,
        "source": "venue",
    }
    assert rows[people["dinner"].pk]["overlap_minutes"] == 90
    assert rows[people["dinner"].pk]["evidence"][0]["venue_id"] == restaurant.pk
    assert contacts[0]["person"]["id"] == people["dinner"].pk  # strongest first
    assert people["dinner"].phone not in json.dumps(contacts)


def test_roles_without_case_access_see_no_cases_and_out_of_scope_is_404(
    epi, scene, users, api_client, jurisdiction
):
    people, _canteen, _restaurant = scene
    case_id = create(epi, people["case"]).json()["id"]
    for role in ("grid_worker", "sampler", "resident", "venue_operator"):
        client = api_client(users[role])
        assert client.get("/api/v1/cases").json() == []
        assert client.get(f"/api/v1/cases/{case_id}/contacts").status_code == 404
    elsewhere = UserFactory(role=Role.EPIDEMIOLOGIST, org_unit=jurisdiction.community_b)
    client = api_client(elsewhere)
    assert client.get("/api/v1/cases").json() == []
    assert client.get(f"/api/v1/cases/{case_id}/contacts").status_code == 404
    assert client.get("/api/v1/cases/999999/contacts").status_code == 404
    # Opening a case needs case.edit and the person in scope.
    assert create(api_client(users["commander"]), people["lunch"]).status_code == 403
    assert create(client, people["lunch"]).status_code == 404


def test_bad_input_gets_a_clear_error_and_stores_nothing(epi, scene):
    people, _canteen, _restaurant = scene
    before = Case.objects.count()
    bad = create(epi, people["case"], classification="maybe")
    assert (bad.status_code, bad.json()["detail"]) == (400, "Unknown classification.")
    future = create(epi, people["case"], onset_date=local(3, 0).date())
    assert (future.status_code, future.json()["field"]) == (400, "onset_date")
    assert create(epi, people["case"], first_positive_at="yesterday").status_code == 422
    assert Case.objects.count() == before
    case_id = create(epi, people["case"]).json()["id"]
    again = create(epi, people["case"])
    assert again.status_code == 409
    assert f"#{case_id}" in again.json()["detail"]
    assert Case.objects.count() == before + 1

    entry = call(
        epi,
        "post",
        f"/api/v1/cases/{case_id}/trajectory",
        {"start": local(-2, 9), "end": local(-2, 8), "place": "菜场"},
    )
    assert (entry.status_code, entry.json()["field"]) == (400, "end")
    nameless = call(
        epi, "post", f"/api/v1/cases/{case_id}/trajectory", {"start": local(-2, 8), "end": local(-2, 9)}
    )
    assert (nameless.status_code, nameless.json()["field"]) == (400, "place")
    patch = call(epi, "patch", f"/api/v1/cases/{case_id}", {"outcome": "gone"})
    assert patch.status_code == 400
    assert call(epi, "post", f"/api/v1/cases/{case_id}/merge", {"other_case_id": case_id}).status_code == 400


def test_an_interview_place_at_a_venue_finds_more_contacts(epi, scene, jurisdiction):
    people, _canteen, _restaurant = scene
    case_id = create(epi, people["case"]).json()["id"]
    market = old_venue(jurisdiction.grid_a)
    shopper = PersonFactory(grid=jurisdiction.grid_a)
    stay(shopper, market, local(-3, 7), 60)
    added = call(
        epi,
        "post",
        f"/api/v1/cases/{case_id}/trajectory",
        {"start": local(-3, 7, 15), "end": local(-3, 8), "venue_id": market.pk, "note": "没有扫码"},
    )
    assert added.status_code == 201, added.content
    assert added.json()["source"] == "interview"
    trajectory = epi.get(f"/api/v1/cases/{case_id}/trajectory").json()
    assert [row["source"] for row in trajectory] == ["interview", "checkin", "checkin"]
    contact = Contact.objects.get(case_id=case_id, person=shopper)
    assert (contact.overlap_minutes, contact.venue_id) == (45, market.pk)


def test_reclassifying_publishes_what_the_health_code_needs(epi, scene):
    people, _canteen, _restaurant = scene
    case_id = create(epi, people["case"], classification="suspected").json()["id"]
    assert not Event.objects.filter(type="case.confirmed").exists()
    assert (
        call(epi, "patch", f"/api/v1/cases/{case_id}", {"classification": "asymptomatic"}).status_code == 200
    )
    assert Event.objects.get(type="case.confirmed").payload["classification"] == "asymptomatic"
    assert call(epi, "patch", f"/api/v1/cases/{case_id}", {"classification": "excluded"}).status_code == 200
    assert Event.objects.filter(type="case.excluded", payload__person_id=people["case"].pk).exists()
    assert call(epi, "post", f"/api/v1/cases/{case_id}/trace").json()["close"] == 0  # excluded: no contacts
    detail = call(epi, "patch", f"/api/v1/cases/{case_id}", {"outcome": "recovered", "status": "done"}).json()
    assert (detail["outcome"], detail["status"]) == ("recovered", "done")
    assert Event.objects.filter(type="case.recovered").count() == 1
    assert AuditEntry.objects.filter(action="case.update", object_id=str(case_id)).count() == 3


def test_dispatch_sends_contacts_to_quarantine_and_one_task_event_per_grid(epi, scene, jurisdiction):
    people, _canteen, _restaurant = scene
    case_id = create(epi, people["case"]).json()["id"]
    sent = call(
        epi, "post", f"/api/v1/cases/{case_id}/contacts/dispatch", {"quarantine": True, "grid_tasks": True}
    )
    assert sent.json() == {"count": 2}
    quarantine = Event.objects.get(type="contacts.quarantine_requested")
    assert {p["person_id"] for p in quarantine.payload["people"]} == {people["lunch"].pk, people["dinner"].pk}
    tasks = {e.org_code: e.payload for e in Event.objects.filter(type="contacts.grid_task_requested")}
    assert set(tasks) == {jurisdiction.grid_a.code, jurisdiction.grid_b.code}
    assert [p["person_id"] for p in tasks[jurisdiction.grid_b.code]["people"]] == [people["dinner"].pk]
    assert set(Contact.objects.filter(case_id=case_id).values_list("status", flat=True)) == {"actioned"}
    again = call(epi, "post", f"/api/v1/cases/{case_id}/contacts/dispatch", {})
    assert again.json() == {"count": 0}  # nothing new: a double click sends nothing twice
    neither = call(
        epi, "post", f"/api/v1/cases/{case_id}/contacts/dispatch", {"quarantine": False, "grid_tasks": False}
    )
    assert neither.status_code == 400


def test_merge_moves_contacts_and_traces_both_person_records(epi, scene, jurisdiction):
    people, canteen, _restaurant = scene
    # The same woman registered again with her passport: a second case, a check-in under that record.
    twin = PersonFactory(grid=jurisdiction.grid_a)
    late = PersonFactory(grid=jurisdiction.grid_a)
    stay(twin, canteen, local(-3, 12), 60)
    stay(late, canteen, local(-3, 12), 30)
    keep = create(epi, people["case"]).json()["id"]
    drop = create(epi, twin).json()["id"]
    merged = call(epi, "post", f"/api/v1/cases/{keep}/merge", {"other_case_id": drop})
    assert merged.status_code == 200, merged.content
    found = set(Contact.objects.filter(case_id=keep).values_list("person_id", flat=True))
    assert found == {people["lunch"].pk, people["dinner"].pk, late.pk}
    assert not Contact.objects.filter(case_id=drop).exists()
    assert Case.objects.get(pk=drop).merged_into_id == keep
    assert [c["id"] for c in epi.get("/api/v1/cases").json()] == [keep]
    assert call(epi, "post", f"/api/v1/cases/{drop}/trace").status_code == 409


def test_a_named_source_links_cases_into_a_chain(epi, scene, jurisdiction):
    people, _canteen, _restaurant = scene
    first = create(epi, people["case"]).json()["id"]
    stranger = create(epi, PersonFactory(grid=jurisdiction.grid_b)).json()["id"]
    linked = call(
        epi, "post", f"/api/v1/cases/{stranger}/links", {"source_case_id": first, "note": "同乘出租车"}
    )
    assert linked.status_code == 201
    assert CaseLink.objects.get(target_id=stranger).kind == "named"
    chains = epi.get("/api/v1/chains").json()
    assert chains[0]["case_ids"] == [first, stranger]  # in order of infection
    assert (chains[0]["size"], chains[0]["generations"], chains[0]["active"]) == (2, 2, True)
    self_link = call(epi, "post", f"/api/v1/cases/{first}/links", {"source_case_id": first})
    assert self_link.status_code == 400


def test_contacts_endpoint_lists_close_and_secondary_companions_only_when_asked(epi, jurisdiction):
    """contracts.md names the tiers close and secondary: companions (found on request) stay out of the
    default list and come with ``?tier=companion``."""
    shop = old_venue(jurisdiction.grid_a)
    office = old_venue(jurisdiction.grid_a, lat=shop.lat + 0.0005, lng=shop.lng)
    case_person, regular = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_a)
    stay(case_person, shop, local(-2, 9), 20)
    for day in range(-8, -1):
        stay(regular, office, local(day, 8, 50), 8 * 60)
    case_id = create(epi, case_person).json()["id"]
    assert call(epi, "post", f"/api/v1/cases/{case_id}/trace?companions=true").json()["companions"] == 1
    assert epi.get(f"/api/v1/cases/{case_id}/contacts").json() == []
    companions = epi.get(f"/api/v1/cases/{case_id}/contacts?tier=companion").json()
    assert [(c["person"]["id"], c["tier"]) for c in companions] == [(regular.pk, "companion")]
