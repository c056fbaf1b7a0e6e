"""``epigrid bench healthcode``: full recompute persons/s, and the latency of an incremental update.

Everything happens inside a transaction that is rolled back at the end, in a jurisdiction of its own
(district code :data:`BENCH_DISTRICT`, one grid), so the benchmark can run against a loaded demo database
and leave no trace. N persons (default 100,000) each get a facts row (vaccination doses), most a recent
negative test, and a realistic share are flagged: 5 % close or secondary contacts (half of them in
quarantine), 2 % fever, 3 % arrivals from medium- or high-risk regions, a few infections and overdue
declarations.

Metrics:

- ``full_recompute_persons_per_s``: ``engine.recompute()`` over everyone, no codes yet (every person gets a
  ``HealthCode`` row, flagged ones a change and an event); ``full_recompute_unchanged_persons_per_s``: the same
  again, where nothing changes. Baseline for both: the same rules person by person through the ORM (load the
  ``PersonFacts``, ``rules.evaluate``, ``update_or_create`` the ``HealthCode``) on a sample of 2,000,
  extrapolated per second. ``disagreements`` counts sampled persons whose colour differs between the two.
- ``incremental_1000_contacts_p50`` (and max): ``services.facts_update`` flagging 1,000 green persons as close
  contacts (facts written, colours recomputed, 1,000 changes and events), over 5 repetitions with fresh
  persons each time; baseline: 1,000 persons at the per-person rate.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from epigrid.core.models import OrgUnit, Person
from epigrid.healthcode import engine, rules, services
from epigrid.healthcode.models import HealthCode, PersonFacts
from epigrid.simulation.benchkit import bench_jurisdiction

BENCH_DISTRICT = "370696"
SAMPLE = 2_000
INCREMENTAL = 1_000
REPETITIONS = 5

Metric = dict[str, Any]


def _jurisdiction() -> OrgUnit:
    """District, street, community and one grid under BENCH_DISTRICT; returns the grid."""
    _district, (grid,) = bench_jurisdiction(BENCH_DISTRICT, "健康码基准区", lat=34.0, lng=117.0)
    return grid


def _persons(n: int, grid: OrgUnit) -> list[int]:
    """``n`` bare persons in the bench grid (registration itself is ``person_register``'s benchmark)."""
    tag = uuid.uuid4().hex[:8]
    rows = [
        Person(
            id_number=f"HC{i:08d}",
            id_number_index=f"hcbench-{tag}-{i}",
            id_number_masked="HC******",
            name=f"基准{i}",
            grid=grid,
            org_code=grid.code,
        )
        for i in range(n)
    ]
    Person.objects.bulk_create(rows, batch_size=2000)
    return list(Person.objects.filter(org_code=grid.code).order_by("pk").values_list("pk", flat=True))


def _facts(person_ids: list[int], grid: OrgUnit, now: dt.datetime, rng: np.random.Generator) -> np.ndarray:
    """A facts row for everyone; returns a mask of the persons left with no flag at all (green)."""
    n = len(person_ids)
    tested = rng.random(n) < 0.85
    kinds = rng.integers(0, 1000, n)
    offsets = rng.uniform(0, 1, n)

    def hours(i: int, low: float, high: float) -> dt.datetime:
        return now - dt.timedelta(hours=low + (high - low) * float(offsets[i]))

    plain = kinds >= 106
    rows = []
    for i, pid in enumerate(person_ids):
        facts = PersonFacts(person_id=pid, org_code=grid.code, vaccine_doses=i % 4)
        if tested[i]:  # routine testing: most have a recent negative test
            facts.last_test_result = "negative"
            facts.last_test_at = now - dt.timedelta(hours=2 + 68 * (1 - float(offsets[i])))
        kind = int(kinds[i])
        if 0 <= kind < 50:  # 5 % contacts, half of them in quarantine
            facts.contact_tier = "close" if kind < 40 else "secondary"
            facts.contact_at = hours(i, 12, 240)
            if kind % 2:
                facts.quarantine_until = now + dt.timedelta(hours=12 + 200 * float(offsets[i]))
        elif 50 <= kind < 70:  # 2 % fever, some tested since
            facts.fever_at = hours(i, 1, 60)
        elif 70 <= kind < 100:  # 3 % arrivals, a third from high-risk regions
            facts.arrival_level = "high" if kind < 80 else "medium"
            facts.arrival_at = hours(i, 3, 150)
        elif 100 <= kind < 101:  # 0.1 % infections
            facts.infection, facts.infection_at = "confirmed", hours(i, 24, 200)
        elif 101 <= kind < 106:  # 0.5 % overdue declarations
            facts.declaration_due = True
        rows.append(facts)
    PersonFacts.objects.bulk_create(rows, batch_size=2000)
    return plain


def _facts_dict(facts: PersonFacts) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in rules.ALL_FACTS}


def _per_person(sample: list[int], rule_set, now: dt.datetime) -> tuple[float, dict[int, str]]:
    """The naive path: one person at a time through the ORM. Returns (seconds, colour by person)."""
    rule_list = rule_set.rules if rule_set is not None else []
    colours = {}
    started = time.perf_counter()
    for pid in sample:
        facts = PersonFacts.objects.get(person_id=pid)
        outcome = rules.evaluate(rule_list, _facts_dict(facts), now)
        HealthCode.objects.update_or_create(
            person_id=pid,
            defaults={
                "org_code": facts.org_code,
                "colour": outcome.colour,
                "rule_id": outcome.rule_id,
                "reason": outcome.reason,
                "to_green": outcome.to_green,
                "since": now,
                "rule_set": rule_set,
                "computed_at": now,
            },
        )
        colours[pid] = outcome.colour
    return time.perf_counter() - started, colours


def bench_healthcode(*, scale: int | None) -> list[Metric]:
    """Health-code full recompute persons/s (first and unchanged pass) and 1,000-contact incremental update vs per-person ORM (N=100000)."""
    from epigrid.simulation.bench import _metric, _rolled_back

    n = scale or 100_000
    rng = np.random.default_rng(7)
    now = timezone.now()
    metrics: list[Metric] = []
    with _rolled_back():
        grid = _jurisdiction()
        started = time.perf_counter()
        person_ids = _persons(n, grid)
        plain = _facts(person_ids, grid, now, rng)
        setup_s = time.perf_counter() - started
        rule_set = engine.active_rule_set()
        sample = sorted(rng.choice(person_ids, size=min(SAMPLE, n), replace=False).tolist())

        with _rolled_back():  # the baseline leaves no codes behind for the measured passes
            baseline_s, baseline_colours = _per_person(sample, rule_set, now)
        per_person_rate = len(sample) / baseline_s

        started, cpu = time.perf_counter(), time.process_time()
        first = engine.recompute(now=now)
        first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        second = engine.recompute(now=now)
        second_s, second_cpu = time.perf_counter() - started, time.process_time() - cpu
        stored = dict(HealthCode.objects.filter(person_id__in=sample).values_list("person_id", "colour"))
        disagreements = sum(stored.get(pid) != colour for pid, colour in baseline_colours.items())

        candidates = np.asarray(person_ids)[plain]
        reps = min(REPETITIONS, len(candidates) // INCREMENTAL) or 1
        size = min(INCREMENTAL, len(candidates) // reps)
        chosen = rng.permutation(candidates)[: reps * size].reshape(reps, size)
        latencies, cpu_times, incremental_changed = [], [], 0
        for ids in chosen.tolist():
            started, cpu = time.perf_counter(), time.process_time()
            result = services.facts_update(
                actor=None, person_ids=ids, changes={"contact_tier": "close", "contact_at": timezone.now()}
            )
            latencies.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu)
            incremental_changed += result.changed if result else 0

    context = {"n": n, "database": connection.vendor}
    extra = {"evaluated": first.evaluated, "changed": first.changed, "by_colour": first.by_colour}
    metrics += [
        _metric(
            "full_recompute_persons_per_s",
            first.evaluated / first_s,
            "persons/s",
            baseline=per_person_rate,
            elapsed_s=round(first_s, 3),
            cpu_s=round(first_cpu, 3),
            **extra,
            **context,
        ),
        _metric(
            "full_recompute_unchanged_persons_per_s",
            second.evaluated / second_s,
            "persons/s",
            baseline=per_person_rate,
            elapsed_s=round(second_s, 3),
            cpu_s=round(second_cpu, 3),
            evaluated=second.evaluated,
            changed=second.changed,
            **context,
        ),
        _metric("disagreements", disagreements, "persons", sample=len(sample), **context),
        _metric(
            f"incremental_{size}_contacts_p50",
            float(np.median(latencies)) * 1000,
            "ms",
            baseline=size / per_person_rate * 1000,
            repetitions=reps,
            cpu_ms_p50=round(float(np.median(cpu_times)) * 1000, 3),
            changed=incremental_changed,
            **context,
        ),
        _metric(f"incremental_{size}_contacts_max", max(latencies) * 1000, "ms", repetitions=reps, **context),
        _metric("setup", setup_s, "s", **context),
    ]
    return metrics
