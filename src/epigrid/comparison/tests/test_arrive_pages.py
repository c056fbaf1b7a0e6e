"""The public arrival self-report (来返报备) through HTTP: no account, the happy path, each error with nothing
half-written, a replayed form stored once, the result page, and the rate limit."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from epigrid.comparison.models import Arrival, ArrivalSource
from epigrid.comparison.views.arrive import RATE_PER_IP
from epigrid.core import health
from epigrid.core.identity import parse_resident_id
from epigrid.core.models import AuditEntry, Person
from epigrid.grids.models import Task, TaskType
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.models import PersonFacts
from epigrid.healthcode.services import RiskAreaInput

ID = "360426199101010071"
GOOD = {
    "name": "赵敏",
    "id_type": "ric",
    "id_number": ID,
    "phone": "13912345678",
    "origin": "310101 上海市黄浦区",
    "travel_mode": "train",
    "travel_number": "g1234",
    "address": "幸福路1号3单元",
    "consent": "on",
}


def local_input(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    from django.core.cache import cache

    cache.clear()  # the limits count per IP in the cache; each test starts afresh


@pytest.fixture
def phone(jurisdiction) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def shanghai_high(users):
    return healthcode_services.risk_area_designate(
        actor=users["epidemiologist"],
        data=RiskAreaInput(
            name="上海市",
            level="high",
            kind="region",
            region_code="310000",
            effective_from=timezone.now() - dt.timedelta(days=2),
        ),
    )


def report(client: Client, **overrides) -> object:
    data = {
        **GOOD,
        "arrived_at": local_input(timezone.now() - dt.timedelta(hours=3)),
        "client_id": str(uuid.uuid4()),
        **overrides,
    }
    return client.post("/arrive/", {k: v for k, v in data.items() if v is not None})


def test_the_form_asks_everything_without_an_account(phone, shanghai_high):
    html = phone.get("/arrive/").content.decode()
    for field in ("name", "id_type", "id_number", "phone", "origin", "travel_mode", "travel_number"):
        assert f'name="{field}"' in html
    assert 'name="arrived_at"' in html and 'type="datetime-local"' in html
    assert 'name="consent"' in html and 'name="client_id"' in html
    assert '<option value="310000 上海市">' in html  # the region picker's known regions
    assert 'list="regions"' in html
    assert "Provisional" not in html  # people pick a real document


def test_a_new_person_reports_from_a_risk_area(
    phone, jurisdiction, shanghai_high, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = report(phone)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/arrive/done/")
    for secret in (ID, "13912345678", "赵敏"):
        assert secret not in location
    person = Person.objects.get(name="赵敏")
    assert person.grid_id is None and person.org_code == jurisdiction.district.code
    arrival = Arrival.objects.get()
    assert (arrival.person, arrival.source, arrival.risk_level) == (person, ArrivalSource.SELF_REPORT, "high")
    assert (arrival.origin, arrival.origin_region_code) == ("上海市黄浦区", "310101")
    assert arrival.travel_mode == "train G1234" and arrival.address == "幸福路1号3单元"
    assert arrival.client_id is not None
    facts = PersonFacts.objects.get(person=person)
    assert facts.arrival_level == "high" and not facts.declaration_due
    assert health.colour_for(person.pk).colour == "red"
    task = Task.objects.get(type=TaskType.SCREEN_ARRIVAL, subject_person=person)
    assert task.params["source"] == "self_report"
    assert AuditEntry.objects.filter(action="arrival.self_report", object_id=str(arrival.pk)).count() == 1

    done = phone.get(location)
    html = done.content.decode()
    assert done.status_code == 200
    assert f"A{arrival.pk:08d}" in html
    assert 'data-risky="true"' in html
    assert "Get a nucleic-acid test within 24 hours" in html
    assert "the grid will contact you" in html
    assert person.name_masked in html and "赵敏" not in html and ID not in html


def test_a_new_person_is_placed_in_the_grid_of_their_address(phone, jurisdiction):
    from epigrid.core.tests.factories import PersonFactory

    PersonFactory(
        grid=jurisdiction.grid_b, address="光明路8号3单元101室"
    )  # the address table knows the building
    assert report(phone, address="B街道光明路8号3单元502室").status_code == 302
    person = Person.objects.get(name="赵敏")
    assert person.grid == jurisdiction.grid_b and person.org_code == jurisdiction.grid_b.code
    assert Arrival.objects.get().org_code == jurisdiction.grid_b.code


def test_a_known_person_is_found_by_document_number(phone, person_a):
    response = report(
        phone,
        name=person_a.name,
        id_number=person_a.id_number,
        phone="",
        origin="北京朝阳",
        travel_mode="car",
    )
    assert response.status_code == 400  # a phone is needed to reach them
    response = report(
        phone, name=person_a.name, id_number=person_a.id_number, origin="北京朝阳", travel_mode="car"
    )
    assert response.status_code == 302
    arrival = Arrival.objects.get()
    assert arrival.person == person_a and arrival.org_code == person_a.org_code
    assert (arrival.origin, arrival.origin_region_code, arrival.risk_level) == ("北京朝阳", "", "")
    assert Person.objects.count() == 1
    html = phone.get(response["Location"]).content.decode()
    assert 'data-risky="false"' in html and "Get a nucleic-acid test" not in html


def test_a_known_region_typed_by_name_gets_its_code(phone, shanghai_high):
    assert report(phone, origin="上海市").status_code == 302
    arrival = Arrival.objects.get()
    assert (arrival.origin, arrival.origin_region_code, arrival.risk_level) == ("上海市", "310000", "high")


def test_an_old_15_digit_number_is_converted(phone):
    old = "360426910101007"
    assert report(phone, id_number=old).status_code == 302
    person = Person.objects.get(name="赵敏")
    assert person.id_number == parse_resident_id(old).number
    assert len(person.id_number) == 18


def _nothing_stored() -> None:
    assert not Person.objects.filter(name="赵敏").exists()
    assert not Arrival.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="arrival.").exists()


def _error(response, field: str, text: str) -> str:
    html = response.content.decode()
    assert response.status_code == 400, html
    found = re.findall(rf'<p class="error" data-field="{field}">([^<]*)</p>', html)
    assert found and text in found[0], (field, found)
    return html


def test_a_bad_id_number_says_why(phone):
    _error(report(phone, id_number="360426199101010072"), "id_number", "check character")
    _error(report(phone, id_number="12345"), "id_number", "18 characters")
    _nothing_stored()


def test_an_arrival_in_the_future_is_refused(phone):
    _error(
        report(phone, arrived_at=local_input(timezone.now() + dt.timedelta(hours=2))), "arrived_at", "future"
    )
    _error(report(phone, arrived_at="gestern"), "arrived_at", "valid date")
    _nothing_stored()


def test_consent_is_required(phone):
    html = _error(report(phone, consent=None), "consent", "Please agree")
    assert 'value="赵敏"' in html  # what was typed stays in the form
    _nothing_stored()


def test_other_errors_keep_nothing(phone, person_a):
    _error(report(phone, phone="12345"), "phone", "11 digits")
    _error(report(phone, origin=""), "origin", "required")
    # Someone else's ID number: the name must match the registration, and nothing is written.
    _error(report(phone, id_number=person_a.id_number, name="冒名"), "name", "does not match")
    _nothing_stored()


def test_a_replayed_form_is_stored_once(phone, shanghai_high, django_capture_on_commit_callbacks):
    client_id = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        first = report(phone, client_id=client_id)
        second = report(phone, client_id=client_id)
    assert first.status_code == second.status_code == 302
    assert Arrival.objects.count() == 1 and Person.objects.filter(name="赵敏").count() == 1
    assert AuditEntry.objects.filter(action="arrival.self_report").count() == 1
    assert Task.objects.filter(type=TaskType.SCREEN_ARRIVAL).count() == 1
    # The same client id with another person's details is refused, not merged.
    third = report(phone, client_id=client_id, name="周芷若", id_number="120103198806018241")
    assert third.status_code == 409
    assert not Person.objects.filter(name="周芷若").exists()
    # A second form (new client id) for the same arrival does not make a second record either.
    assert report(phone).status_code == 302
    assert Arrival.objects.count() == 1


def test_the_result_link_cannot_be_forged(phone):
    assert phone.get("/arrive/done/abc:def/").status_code == 404
    assert phone.get("/arrive/done/1/").status_code == 404


def test_rate_limit_per_ip(phone, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "arrive-rl-test"}
    }
    statuses = [phone.get("/arrive/").status_code for _ in range(RATE_PER_IP)]
    assert statuses == [200] * RATE_PER_IP
    blocked = report(phone)
    assert blocked.status_code == 429
    assert 'data-reason="rate_limited"' in blocked.content.decode()
    assert not Arrival.objects.exists()
    other = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.0.0.9")
    assert other.get("/arrive/").status_code == 200
