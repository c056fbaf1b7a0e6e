"""FHIR R4 Immunization export and import: the export validates and carries no personal data but a patient
reference; a round trip into another person gives the same vaccines, days, lots and dose numbers; an invalid
document is a 400 that stores nothing; an unknown vaccine code (or a dose not given) refuses that entry only;
a repeated import stores nothing new; scope (404), permissions (403) and a resident's own record."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
from types import SimpleNamespace

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from PIL import Image

from epigrid.core.tests.factories import UserFactory
from epigrid.vaccination import fhir
from epigrid.vaccination.models import Dose
from epigrid.vaccination.services import doses
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db


def url(person) -> str:
    return f"/api/v1/vaccination/persons/{person.pk}/immunizations"


def send(client, person, body, content_type: str = "application/fhir+json"):
    """POST a document; messages in English (the site's default language is zh-Hans)."""
    if isinstance(body, dict):
        body = json.dumps(body)
    return client.post(url(person), data=body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="en")


def ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def record(person) -> list[tuple]:
    """What a person's doses say, in date order: vaccine, day, lot, number, kind."""
    return [
        (d.vaccine.code, d.given_on, d.lot_number, d.dose_number, d.kind)
        for d in Dose.objects.filter(person=person).select_related("vaccine").order_by("given_at")
    ]


@pytest.fixture
def vaccinated(jurisdiction, users):
    """A person of grid A with two doses recorded at a site (60 and 30 days ago) and, found out later, a
    verified self-report of a dose 250 days ago: numbered 1 (self-report), 2, 3 (a booster)."""
    vaccine = factories.vaccine()
    site = factories.site(jurisdiction.grid_a, vaccine, name="A社区接种点")
    batch = factories.batch(vaccine, lot="LOT-A1")
    person = factories.person_born(jurisdiction.grid_a, dt.date(1985, 3, 4))
    for days in (60, 30):
        doses.dose_record(
            actor=users["vaccinator"],
            person=person,
            vaccine=vaccine,
            batch=batch,
            site=site,
            given_at=ago(days),
        )
    report = doses.self_report_submit(
        actor=None,
        person=person,
        vaccine=vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=250),
        place="外省某医院",
        lot_number="sr-77",
        photo=photo(),
    )
    doses.self_report_verify(actor=users["vaccinator"], report=report)
    other = factories.person_born(jurisdiction.grid_b, dt.date(1990, 6, 7))
    return SimpleNamespace(vaccine=vaccine, site=site, batch=batch, person=person, other=other)


def export(client, person) -> dict:
    response = client.get(url(person))
    assert response.status_code == 200, response.content
    return response.json()


# --- export ---------------------------------------------------------------------------------------------------


def test_export_is_a_valid_r4_bundle_of_immunizations_without_personal_data(vaccinated, users, api_client):
    person = vaccinated.person
    response = api_client(users["commander"]).get(url(person))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    text = response.content.decode()
    bundle = Bundle.model_validate_json(text)
    assert bundle.type == "collection" and len(bundle.entry) == 3
    # No name, ID number or phone: the patient is a reference.
    for secret in (person.name, person.id_number, person.id_number_masked, person.phone):
        assert secret not in text
    resources = [e.resource for e in bundle.entry]
    assert {r.patient.reference for r in resources} == {f"Patient/{person.pk}"}
    assert [r.protocolApplied[0].doseNumberPositiveInt for r in resources] == [1, 2, 3]
    assert {r.protocolApplied[0].seriesDosesPositiveInt for r in resources} == {2}
    assert {r.status for r in resources} == {"completed"}
    coding = resources[1].vaccineCode.coding[0]
    assert (coding.system, coding.code, coding.display) == (
        "urn:epigrid:vaccine",
        vaccinated.vaccine.code,
        vaccinated.vaccine.name,
    )
    stored = list(Dose.objects.filter(person=person).order_by("given_at"))
    assert [r.identifier[0].value for r in resources] == [str(d.pk) for d in stored]
    assert {r.identifier[0].system for r in resources} == {"urn:epigrid:dose"}
    # The self-reported dose is not ours: primarySource false, and its origin said.
    self_reported, at_site = resources[0], resources[1]
    assert self_reported.primarySource is False and self_reported.reportOrigin.coding[0].code == "record"
    assert self_reported.location.display == "外省某医院" and self_reported.lotNumber == "SR-77"
    assert at_site.primarySource is True and at_site.reportOrigin is None
    assert at_site.location.display == "A社区接种点" and at_site.lotNumber == "LOT-A1"
    assert at_site.performer is None  # who vaccinated stays here
    raw = json.loads(text)["entry"][1]["resource"]["occurrenceDateTime"]
    assert re.search(r"T\d\d:\d\d:\d\d[+-]\d\d:\d\d$", raw), raw  # a time with its offset


def test_round_trip_into_another_person_gives_the_same_record(vaccinated, users, api_client):
    body = api_client(users["commander"]).get(url(vaccinated.person)).content
    assert record(vaccinated.other) == []
    response = send(api_client(users["vaccinator"]), vaccinated.other, body)
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 3 and response.json()["refused"] == []
    assert record(vaccinated.other) == record(vaccinated.person)
    imported = list(Dose.objects.filter(person=vaccinated.other).order_by("given_at"))
    assert [d.place for d in imported] == ["外省某医院", "A社区接种点", "A社区接种点"]
    assert {d.source for d in imported} == {"import"}
    assert imported[0].external_id  # the sender's id of the Immunization
    status = vaccinated.other.vaccination_status.get()
    assert (status.doses, status.series_complete, status.boosters) == (3, True, 1)
    # And the re-export of the copy says the same as the original.
    copy_again = export(api_client(users["commander"]), vaccinated.other)
    first = export(api_client(users["commander"]), vaccinated.person)

    def essence(bundle: dict) -> list[tuple]:
        return [
            (
                e["resource"]["vaccineCode"]["coding"][0]["code"],
                e["resource"]["occurrenceDateTime"][:10],
                e["resource"].get("lotNumber"),
                e["resource"]["protocolApplied"][0]["doseNumberPositiveInt"],
            )
            for e in bundle["entry"]
        ]

    assert essence(copy_again) == essence(first)


def test_importing_the_same_document_again_stores_nothing_new(vaccinated, users, api_client):
    body = api_client(users["commander"]).get(url(vaccinated.person)).content
    recorder = api_client(users["vaccinator"])
    assert send(recorder, vaccinated.other, body).json()["stored"] == 3
    for target in (vaccinated.other, vaccinated.person):  # again, and back into the person it came from
        before = record(target)
        answer = send(recorder, target, body).json()
        assert answer["stored"] == 0
        assert [r["index"] for r in answer["refused"]] == [0, 1, 2]
        assert all("already recorded" in r["detail"] for r in answer["refused"])
        assert record(target) == before


# --- import: what is refused ----------------------------------------------------------------------------------


def test_an_unknown_vaccine_code_refuses_that_entry_and_keeps_the_others(vaccinated, users, api_client):
    document = export(api_client(users["commander"]), vaccinated.person)
    entries = document["entry"]
    entries[1]["resource"]["vaccineCode"]["coding"][0]["code"] = "no-such-vaccine"
    not_given = copy.deepcopy(entries[2]["resource"])
    not_given["status"] = "not-done"
    not_given["occurrenceDateTime"] = (timezone.localdate() - dt.timedelta(days=5)).isoformat()
    day_only = copy.deepcopy(entries[2]["resource"])
    day_only["occurrenceDateTime"] = (timezone.localdate() - dt.timedelta(days=100)).isoformat()
    month_only = copy.deepcopy(entries[2]["resource"])
    month_only["occurrenceDateTime"] = "2021-05"
    entries += [
        {"resource": not_given},
        {"resource": day_only},
        {"resource": month_only},
        {"resource": {"resourceType": "Patient", "id": "x"}},
    ]
    answer = send(api_client(users["vaccinator"]), vaccinated.other, document).json()
    assert answer["stored"] == 3  # entries 0, 2 and the whole day
    refused = {r["index"]: r["detail"] for r in answer["refused"]}
    assert set(refused) == {1, 3, 5, 6}
    assert "no-such-vaccine" in refused[1]
    assert "not-done" in refused[3]
    assert "day" in refused[5]
    assert "Patient" in refused[6]
    stored = [o for o in answer["outcomes"] if o["stored"]]
    assert [o["index"] for o in stored] == [0, 2, 4] and all(o["dose_id"] for o in stored)
    whole_day = Dose.objects.get(pk=stored[2]["dose_id"])
    assert whole_day.given_on == timezone.localdate() - dt.timedelta(days=100)
    assert timezone.localtime(whole_day.given_at).hour == 12  # a day without a time: local noon


def test_a_single_immunization_is_accepted(vaccinated, users, api_client):
    document = export(api_client(users["commander"]), vaccinated.person)
    one = document["entry"][1]["resource"]
    answer = send(api_client(users["vaccinator"]), vaccinated.other, one, "application/json").json()
    assert answer["stored"] == 1 and answer["refused"] == []
    assert record(vaccinated.other)[0][3] == 1  # the first dose of this person, whatever it was elsewhere


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "JSON"),
        (b"[]", "Bundle"),
        (json.dumps({"resourceType": "Patient", "id": "1"}).encode(), "Bundle"),
        (json.dumps({"resourceType": "Bundle"}).encode(), "type"),
        (
            json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": {"resourceType": "Nope"}}],
                }
            ).encode(),
            "Nope",
        ),
    ],
)
def test_an_invalid_document_is_a_400_with_a_message(vaccinated, users, api_client, body, words):
    response = send(api_client(users["vaccinator"]), vaccinated.other, body)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert record(vaccinated.other) == []


def test_a_schema_error_names_where_and_stores_nothing_of_the_document(vaccinated, users, api_client):
    document = export(api_client(users["commander"]), vaccinated.person)
    document["entry"][2]["resource"]["occurrenceDateTime"] = "2024-13-45"
    document["entry"][0]["resource"]["protocolApplied"][0]["doseNumberPositiveInt"] = 0
    response = send(api_client(users["vaccinator"]), vaccinated.other, document)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "entry[2].resource.occurrenceDateTime" in detail
    assert "entry[0].resource.protocolApplied[0].doseNumberPositiveInt" in detail
    assert record(vaccinated.other) == []


def test_parse_keeps_the_entries_in_order():
    resources = fhir.parse(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{}, {}]}))
    assert resources == [None, None]


# --- who may ------------------------------------------------------------------------------------------------


def test_scope_and_permissions(vaccinated, jurisdiction, users, api_client):
    person, other = vaccinated.person, vaccinated.other  # grid A, grid B
    assert api_client(None).get(url(person)).status_code == 401
    assert api_client(users["grid_worker"]).get(url(person)).status_code == 200
    assert api_client(users["grid_worker"]).get(url(other)).status_code == 404
    assert api_client(users["community_officer"]).get(url(other)).status_code == 404
    assert api_client(users["sampler"]).get(url(person)).status_code == 403  # no vaccination.view
    assert (
        api_client(users["commander"]).get("/api/v1/vaccination/persons/999999/immunizations").status_code
        == 404
    )

    body = api_client(users["commander"]).get(url(person)).content
    grid_vaccinator = UserFactory(role="vaccinator", org_unit=jurisdiction.grid_a)
    assert send(api_client(grid_vaccinator), other, body).status_code == 404
    assert send(api_client(users["grid_worker"]), person, body).status_code == 403  # may see, not record
    assert send(api_client(users["commander"]), other, body).status_code == 403
    assert record(other) == []


def test_a_resident_may_export_their_own_record_only(vaccinated, person_a, users, api_client):
    doses.doses_import(
        actor=None,
        person=person_a,
        items=[doses.ImportedDose(vaccine=vaccinated.vaccine, given_at=ago(10), lot_number="L-OWN")],
    )
    resident = api_client(users["resident"])
    response = resident.get(url(person_a))
    assert response.status_code == 200
    bundle = Bundle.model_validate_json(response.content)
    assert [e.resource.lotNumber for e in bundle.entry] == ["L-OWN"]
    assert bundle.entry[0].resource.primarySource is False
    assert resident.get(url(vaccinated.person)).status_code == 404
    own = send(resident, person_a, response.content)
    assert own.status_code == 403
