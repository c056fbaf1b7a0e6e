"""Personal data at rest: encrypted, looked up by blind index, revealed only with permission and audit."""

from __future__ import annotations

import pytest
from django.db import connection

from epigrid.core import selectors, services
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import AuditEntry, Person
from epigrid.core.services import PersonInput
from epigrid.core.tests.factories import PersonFactory


def _all_database_text() -> str:
    """Every row of every table as text: what someone with a copy of the database file would read."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_database_holds_no_id_number_or_phone_in_clear(jurisdiction):
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(5)]
    dump = _all_database_text()
    assert people[0].name in dump  # the dump really contains the person rows
    for person in people:
        assert person.id_number not in dump
        assert person.phone not in dump
        # not even the birth-date middle part next to the area code
        assert person.id_number[:14] not in dump


def test_encrypted_values_round_trip_and_look_up_by_index(jurisdiction):
    person = PersonFactory(grid=jurisdiction.grid_a, phone="+86 139 0000 1111")
    fresh = Person.objects.get(pk=person.pk)
    assert fresh.phone == "13900001111"
    assert fresh.phone_masked == "139****1111"
    assert services.person_find_by_document(id_type="ric", id_number=person.id_number.lower()) == fresh


def test_duplicate_document_is_a_conflict_and_writes_nothing(jurisdiction, person_a):
    before = Person.objects.count()
    with pytest.raises(Conflict):
        services.person_register(actor=None, data=PersonInput(id_number=person_a.id_number, name="重复"))
    assert Person.objects.count() == before


def test_find_or_register_returns_the_existing_person(person_a):
    found, created = services.person_find_or_register(
        actor=None, data=PersonInput(id_number=person_a.id_number, name=person_a.name)
    )
    assert (found, created) == (person_a, False)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (PersonInput(id_number="360426199101010072", name="王五"), "id_number", "check character"),
        (PersonInput(id_number="360426199101010071", name=" "), "name", "name is missing"),
        (PersonInput(id_number="360426199101010071", name="王五", phone="12345"), "phone", "11 digits"),
        (PersonInput(id_number="360426199101010071", name="王五", sex="F"), "sex", "does not match"),
    ],
)
def test_bad_person_data_is_refused_with_the_field_named(db, data, field, message):
    with pytest.raises(DomainError, match=message) as info:
        services.person_register(actor=None, data=data)
    assert info.value.field == field
    assert Person.objects.count() == 0


def test_bulk_register_keeps_good_rows_and_reports_bad_ones(jurisdiction, person_a):
    rows = [
        PersonInput(id_number="360426199101010071", name="好一", grid_id=jurisdiction.grid_a.pk),
        PersonInput(id_number="360426199101010072", name="坏一"),
        PersonInput(id_number=person_a.id_number, name="已有"),
        PersonInput(id_number="120103198806018241", name="好二", lat=37.56, lng=121.21),
        PersonInput(id_number="120103198806018241", name="重复"),
    ]
    result = services.person_bulk_register(actor=None, rows=rows)
    assert result.created == 2
    assert sorted(row for row, _ in result.errors) == [2, 3, 5]
    assert {p.name for p in Person.objects.all()} == {person_a.name, "好一", "好二"}
    # coordinates inside grid B's square put the person into grid B
    assert Person.objects.get(name="好二").org_code == jurisdiction.grid_b.code


def test_reveal_needs_permission_and_writes_one_audit_entry(users, person_a):
    before = AuditEntry.objects.count()
    with pytest.raises(Forbidden):
        services.person_reveal(actor=users["grid_worker"], person=person_a)
    assert AuditEntry.objects.count() == before

    values = services.person_reveal(actor=users["epidemiologist"], person=person_a)
    assert values == {"id_number": person_a.id_number, "phone": person_a.phone}
    entries = AuditEntry.objects.filter(seq__gt=before)
    assert entries.count() == 1
    entry = entries.get()
    assert (entry.action, entry.actor_username, entry.object_id) == (
        "person.reveal",
        "epidemiologist",
        str(person_a.pk),
    )
    assert entry.revealed_fields == ["id_number", "phone"]


def test_reveal_through_the_api_is_scoped_and_audited(users, person_a, person_b, api_client):
    client = api_client(users["community_officer"])  # community A only
    response = client.post(
        f"/api/v1/persons/{person_a.pk}/reveal", {"fields": ["id_number"]}, "application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"id_number": person_a.id_number}
    assert client.post(f"/api/v1/persons/{person_b.pk}/reveal", {}, "application/json").status_code == 404
    assert AuditEntry.objects.filter(action="person.reveal").count() == 1


def test_lists_show_masked_values_only(users, person_a, api_client):
    body = api_client(users["district_admin"]).get("/api/v1/persons").content.decode()
    assert person_a.id_number_masked in body and person_a.id_number not in body
    assert person_a.phone not in body and person_a.name not in body


def test_search_by_full_id_number_or_phone_finds_exactly_that_person(users, person_a, person_b):
    admin = users["district_admin"]
    assert list(selectors.person_list(actor=admin, search=person_b.id_number)) == [person_b]
    assert list(selectors.person_list(actor=admin, search=person_a.phone)) == [person_a]
    # a grid worker of grid A cannot find grid B's person even with the exact number
    assert list(selectors.person_list(actor=users["grid_worker"], search=person_b.id_number)) == []
