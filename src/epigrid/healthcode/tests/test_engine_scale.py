"""The full recompute at scale: the same colours as the per-person evaluator, nothing written twice, and
``epigrid bench healthcode`` leaving nothing behind."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epigrid.core.audit import audit_verify_chain
from epigrid.core.models import AuditEntry, Event, OrgUnit, Person
from epigrid.healthcode import bench as hc_bench
from epigrid.healthcode import engine, rules, services
from epigrid.healthcode.models import HealthCode, HealthCodeChange, PersonFacts, RuleSet
from epigrid.simulation import bench

N = 3000


@pytest.fixture
def crowd(db):
    """N bench persons with the benchmark's mix of facts, plus ties the float columns must get right."""
    now = timezone.now().replace(microsecond=654321)
    grid = hc_bench._jurisdiction()
    ids = hc_bench._persons(N, grid)
    hc_bench._facts(ids, grid, now, np.random.default_rng(5))
    tick = dt.timedelta(microseconds=1)
    ties = {
        ids[0]: {"fever_at": now - dt.timedelta(hours=5), "last_test_at": now - dt.timedelta(hours=5)},
        ids[1]: {"fever_at": now - dt.timedelta(hours=5) + tick, "last_test_at": now - dt.timedelta(hours=5)},
        # exactly 7 days, and a microsecond more
        ids[2]: {"arrival_level": "medium", "arrival_at": now - dt.timedelta(days=7), "last_test_at": None},
        ids[3]: {
            "arrival_level": "medium",
            "arrival_at": now - dt.timedelta(days=7) - tick,
            "last_test_at": None,
        },
        ids[4]: {"quarantine_until": now, "contact_tier": "close", "contact_at": now - dt.timedelta(days=2)},
        ids[5]: {"quarantine_until": now + tick},
        ids[6]: {
            "contact_tier": "close",
            "contact_at": now.replace(microsecond=0),
        },  # stored without fraction
    }
    for pid, values in ties.items():
        PersonFacts.objects.filter(person_id=pid).update(**values)
    return now, ids


def _expected(rule_list: list[dict], ids: list[int], now: dt.datetime) -> dict[int, tuple[str, str]]:
    out = {}
    for facts in PersonFacts.objects.filter(person_id__in=ids):
        outcome = rules.evaluate(rule_list, {f: getattr(facts, f) for f in rules.ALL_FACTS}, now)
        out[facts.person_id] = (outcome.colour, outcome.rule_id)
    return out


def _stored(ids: list[int]) -> dict[int, tuple[str, str]]:
    codes = HealthCode.objects.filter(person_id__in=ids).values_list("person_id", "colour", "rule_id")
    return {pid: (colour, rule_id) for pid, colour, rule_id in codes}


@pytest.mark.parametrize("level", ["normal", "III"])
def test_full_recompute_gives_the_per_person_colours(crowd, level):
    now, ids = crowd
    rule_set = engine.active_rule_set(level)
    result = engine.recompute(now=now, rule_set=rule_set)
    assert result.evaluated == N
    expected = _expected(rule_set.rules, ids, now)
    assert _stored(ids) == expected
    colours = [c for c, _r in expected.values()]
    assert result.by_colour == {c: colours.count(c) for c in ("green", "yellow", "red")}
    # The mix reaches several rules, and the ties land where the per-person evaluator puts them.
    assert len({r for _c, r in expected.values()}) >= 5
    assert expected[ids[0]][1] == "" and expected[ids[1]][1] == "fever"
    if level == "normal":
        assert expected[ids[2]] == ("yellow", "medium_arrival") and expected[ids[3]] == ("green", "")
    assert expected[ids[4]][1] == "contact" and expected[ids[5]][1] == "in_quarantine"
    assert expected[ids[6]][1] == "contact"
    non_green = sum(c != "green" for c in colours)
    assert result.changed == non_green == HealthCodeChange.objects.count()
    assert Event.objects.filter(type="healthcode.changed").count() == non_green


def test_a_second_recompute_writes_nothing(crowd):
    now, _ids = crowd
    first = engine.recompute(now=now)
    assert first.changed > 0
    before = (
        list(HealthCode.objects.order_by("person_id").values_list()),
        HealthCodeChange.objects.count(),
        Event.objects.count(),
    )
    with CaptureQueriesContext(connection) as queries:
        second = engine.recompute(now=now)
    assert second.changed == 0 and second.evaluated == first.evaluated
    assert second.by_colour == first.by_colour
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    after = (
        list(HealthCode.objects.order_by("person_id").values_list()),
        HealthCodeChange.objects.count(),
        Event.objects.count(),
    )
    assert after == before


def test_a_new_rule_of_the_same_colour_keeps_since_and_records_no_change(crowd):
    now, ids = crowd
    pid = ids[0]  # fever tested on the same instant: green
    PersonFacts.objects.filter(person_id=pid).update(fever_at=now - dt.timedelta(hours=1))
    engine.recompute([pid], now=now)
    code = HealthCode.objects.get(person_id=pid)
    assert (code.colour, code.rule_id) == ("yellow", "fever")
    PersonFacts.objects.filter(person_id=pid).update(
        arrival_level="medium", arrival_at=now - dt.timedelta(minutes=30)
    )
    result = engine.recompute([pid], now=now + dt.timedelta(hours=2))
    again = HealthCode.objects.get(person_id=pid)
    assert (again.colour, again.rule_id, again.since) == ("yellow", "medium_arrival", code.since)
    assert again.computed_at == now + dt.timedelta(hours=2) and result.changed == 0
    assert HealthCodeChange.objects.filter(person_id=pid).count() == 1


def test_incremental_update_flags_a_thousand_contacts_red(crowd):
    now, ids = crowd
    engine.recompute(now=now)
    green = list(
        HealthCode.objects.filter(person_id__in=ids, colour="green").values_list("person_id", flat=True)[
            :1000
        ]
    )
    result = services.facts_update(
        actor=None, person_ids=green, changes={"contact_tier": "close", "contact_at": timezone.now()}
    )
    assert result.changed == len(green) == 1000
    assert set(HealthCode.objects.filter(person_id__in=green).values_list("colour", "rule_id")) == {
        ("red", "contact")
    }
    changes = HealthCodeChange.objects.filter(person_id__in=green)
    assert set(changes.values_list("from_colour", "to_colour")) == {("green", "red")}
    events = Event.objects.filter(type="healthcode.changed").order_by("-pk")[:1000]
    assert {e.payload["person_id"] for e in events} == set(green)


def test_bench_prints_json_lines_and_leaves_no_rows(db, capsys):
    state = lambda: (  # noqa: E731
        OrgUnit.objects.count(),
        Person.objects.count(),
        PersonFacts.objects.count(),
        HealthCode.objects.count(),
        HealthCodeChange.objects.count(),
        AuditEntry.objects.count(),
        Event.objects.count(),
        RuleSet.objects.count(),
    )
    before = state()
    assert bench.run("healthcode", scale=500) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    metrics = {r["metric"]: r for r in rows}
    for row in rows:
        assert row["bench"] == "healthcode" and {"metric", "value", "unit"} <= set(row)
        assert isinstance(row["value"], int | float) and row["n"] == 500
    full = metrics["full_recompute_persons_per_s"]
    assert full["value"] > 0 and full["baseline"] > 0 and full["evaluated"] == 500
    assert full["ratio"] == pytest.approx(full["value"] / full["baseline"], rel=1e-2)
    assert metrics["full_recompute_unchanged_persons_per_s"]["changed"] == 0
    assert metrics["disagreements"]["value"] == 0
    incremental = next(r for name, r in metrics.items() if name.startswith("incremental_") and "p50" in name)
    assert incremental["unit"] == "ms" and incremental["value"] > 0
    assert incremental["changed"] == incremental["repetitions"] * int(incremental["metric"].split("_")[1])
    assert state() == before
    assert not OrgUnit.objects.filter(code__startswith=hc_bench.BENCH_DISTRICT).exists()
    assert audit_verify_chain().ok
