"""The bulk paths of the health code on whichever database the suite runs on (SQLite, or PostgreSQL with
``EPIGRID_DATABASE_URL``): ``facts_update_each`` and the engine's reads and writes give what the ORM gives."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epigrid.core.tests.factories import PersonFactory
from epigrid.healthcode import engine, rules, services
from epigrid.healthcode.models import HealthCode, HealthCodeChange, Override, PersonFacts


@pytest.fixture
def people(jurisdiction):
    return [PersonFactory(grid=jurisdiction.grid_a if i % 2 else jurisdiction.grid_b) for i in range(12)]


def test_facts_update_each_writes_new_and_existing_rows_field_by_field(people):
    now = timezone.now().replace(microsecond=123457)
    # half of them have facts already, with something the update must keep
    services.facts_update(
        actor=None, person_ids=[p.pk for p in people[:6]], changes={"vaccine_doses": 2}, recompute=False
    )
    values = {
        p.pk: (
            {"last_test_result": "negative", "last_test_at": now - dt.timedelta(minutes=i)}
            if i % 3
            else {"contact_tier": "close", "contact_at": now, "declaration_due": True}
        )
        for i, p in enumerate(people)
    }
    values[10**9] = {"last_test_result": "negative"}  # no such person: skipped, as ever
    services.facts_update_each(actor=None, values=values)

    facts = {f.person_id: f for f in PersonFacts.objects.filter(person_id__in=[p.pk for p in people])}
    assert set(facts) == {p.pk for p in people} and not PersonFacts.objects.filter(person_id=10**9).exists()
    for i, person in enumerate(people):
        f = facts[person.pk]
        assert f.org_code == person.org_code
        assert f.vaccine_doses == (2 if i < 6 else 0)  # kept where it was, the default where new
        if i % 3:
            assert (f.last_test_result, f.last_test_at) == ("negative", now - dt.timedelta(minutes=i))
            assert (f.contact_tier, f.contact_at, f.declaration_due) == ("", None, False)
        else:
            assert (f.contact_tier, f.contact_at, f.declaration_due) == ("close", now, True)
            assert (f.last_test_result, f.last_test_at) == ("", None)
    codes = dict(HealthCode.objects.filter(person_id__in=facts).values_list("person_id", "colour"))
    assert {pid for pid, c in codes.items() if c == "red"} == {
        p.pk for i, p in enumerate(people) if i % 3 == 0
    }


def test_facts_columns_give_the_timestamps_of_the_stored_times(people):
    base = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    odd = [base + dt.timedelta(microseconds=k * 1_234_567 + 1) for k in range(len(people))]
    services.facts_update_each(
        actor=None,
        values={
            p.pk: {"fever_at": at, "vaccine_doses": k}
            for k, (p, at) in enumerate(zip(people, odd, strict=True))
        },
    )
    ids = sorted(p.pk for p in people)
    cols = engine._facts_columns(ids)
    assert cols["person_id"].tolist() == ids
    stored = dict(PersonFacts.objects.filter(person_id__in=ids).values_list("person_id", "fever_at"))
    assert cols["fever_at"].tolist() == [stored[pid].timestamp() for pid in ids]
    assert all(v != v for v in cols["arrival_at"].tolist())  # NULL is NaN
    assert sorted(cols["vaccine_doses"].tolist()) == list(range(len(people)))
    assert set(rules.ALL_FACTS) <= set(cols)
    everyone = engine._facts_columns(None)
    assert everyone["person_id"].tolist() == sorted(everyone["person_id"].tolist())


def test_recompute_writes_changes_and_honours_many_and_few_overrides(people, users, monkeypatch):
    now = timezone.now()
    ids = [p.pk for p in people]
    services.facts_update_each(
        actor=None, values={pid: {"contact_tier": "close", "contact_at": now} for pid in ids}
    )
    assert set(HealthCode.objects.filter(person_id__in=ids).values_list("colour", flat=True)) == {"red"}
    override = Override.objects.create(
        person=people[0],
        org_code=people[0].org_code,
        colour="green",
        reason="核实为误判",
        expires_at=now + dt.timedelta(days=1),
        created_by=users["epidemiologist"],
    )
    for by_id in (1_000, 1):  # the overrides of few people asked for, of many read all at once
        monkeypatch.setattr(engine, "_OVERRIDES_BY_ID", by_id)
        result = engine.recompute(ids)
        code = HealthCode.objects.get(person_id=people[0].pk)
        assert (code.colour, code.rule_id) == ("green", f"override:{override.pk}")
        assert result.by_colour["red"] == len(ids) - 1
    # the second pass changed nothing more: one change for the override, none for the others
    assert HealthCodeChange.objects.filter(person_id=people[0].pk, to_colour="green").count() == 1
    # clearing the contact: everyone else back to green, and the writes are seen by query capture
    with CaptureQueriesContext(connection) as queries:
        services.facts_update_each(actor=None, values={pid: {"contact_tier": ""} for pid in ids[1:]})
    assert any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) for q in queries)
    assert set(HealthCode.objects.filter(person_id__in=ids[1:]).values_list("colour", flat=True)) == {"green"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's lateral look-up")
def test_select_each_finds_every_existing_key_in_chunks_and_skips_missing_ones(people):
    ids = [p.pk for p in people]
    wanted = [*ids, 10**9, ids[0]]  # a key of no row, and one asked twice
    rows = engine.select_each('"id", "org_code"', '"core_person"', '"id"', wanted, per_query=5)
    assert sorted(rows) == sorted([(p.pk, p.org_code) for p in people] + [(people[0].pk, people[0].org_code)])
    assert engine.select_each('"id"', '"core_person"', '"id"', []) == []
