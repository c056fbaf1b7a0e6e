"""``epigrid bench testing``: specimen registrations through HTTP, and a lab's results import at district scale.

Setup is committed (the server process must see it, and results propagate to persons and health codes only
once their batch commits) under district :data:`BENCH_DISTRICT` (one street, one community, four grids) and
deleted afterwards with plain ``DELETE`` statements; the audit log keeps the bench's entries (append-only).

Metrics:

- ``specimens_per_second`` and ``latency_p50`` / ``latency_p99``: ``epigrid serve`` in a child process (as in
  ``checkin``) driven by :mod:`epigrid.simulation.loadgen` with 32 keep-alive connections, each a sampler
  with their own API token; every request is ``POST /api/v1/testing/tubes/{barcode}/specimens`` with a typed
  person (a resident already in the register, as in a district-wide round) into a pre-registered 10-in-1
  tube, each connection filling its own tube until it seals itself, then the next. ``min(10,000, 2 N)``
  requests after ``min(1,000, N // 2)`` warm-up requests.
- ``results_import_s``: ``services.results_submit(actor=lab, rows=...)`` for N received tubes of 10 members
  (default N = 100,000: 1,000,000 specimens; 0.1 % positive, 0.05 % invalid), timed end to end including
  the propagation after each batch's commit: facts of every member, their health codes, recalls and events.
  Baseline in the same run: row by row through the ORM on a sample of ``min(500, N // 4)`` further tubes
  (per tube: save the result; per member: ``update_or_create`` the facts and ``engine.recompute`` that one
  person), extrapolated to N.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from epigrid.core import services as core_services
from epigrid.core.audit import audit_record
from epigrid.core.identity import IdType, compose_resident_id
from epigrid.core.models import ApiToken, AuditEntry, OrgUnit, Person, User
from epigrid.core.roles import Role
from epigrid.healthcode import engine
from epigrid.healthcode.models import HealthCode, PersonFacts
from epigrid.simulation import names
from epigrid.simulation.benchkit import bench_jurisdiction, delete_org_units
from epigrid.simulation.loadgen import post_json, run_load
from epigrid.testing import services
from epigrid.testing.models import Recall, Specimen, Tube, TubeResult, TubeStatus

BENCH_DISTRICT = "370695"
CONCURRENCY = 32
POOL = 10
GRIDS = 4
SAMPLE = 500
INSERT_CHUNK = 5_000

Metric = dict[str, Any]


def _jurisdiction() -> tuple[OrgUnit, list[OrgUnit]]:
    """District, street, community and GRIDS grids under BENCH_DISTRICT."""
    return bench_jurisdiction(BENCH_DISTRICT, "核酸基准区", lat=33.0, lng=116.0, grids=GRIDS)


def _staff(district: OrgUnit, role: str) -> User:
    # No password: PBKDF2 would cost ~0.3 s an account; the bench authenticates with API tokens.
    return User.objects.create(
        username=f"bench-{role}-{uuid.uuid4().hex[:10]}", role=role, org_unit=district, is_active=True
    )


def _cleanup() -> None:
    """Delete every row of the bench district with plain DELETEs (the ORM's cascade collector would load a
    million persons): the rows of every model with an org code under the district, whichever module made
    them (health codes, recalls, the grid tasks of recalls, events...), then accounts, persons, org units.
    One transaction: foreign keys are checked at its commit, so the order does not matter. The audit log
    keeps its entries (append-only)."""
    like = f"{BENCH_DISTRICT}%"
    quote = connection.ops.quote_name
    keep = {AuditEntry, Person, OrgUnit}
    scoped_models = [
        model
        for model in apps.get_models()
        if model not in keep
        and not model._meta.proxy
        and any(f.name == "org_code" for f in model._meta.concrete_fields)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for model in scoped_models:
            cursor.execute(
                f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote('org_code')} LIKE %s",  # noqa: S608
                [like],
            )
        # Staff of the district, and the resident accounts that recall notices made for its persons.
        users = User.objects.filter(
            Q(org_unit__code__startswith=BENCH_DISTRICT) | Q(person__org_code__startswith=BENCH_DISTRICT)
        )
        ApiToken.objects.filter(user__in=users).delete()
        users.delete()
        cursor.execute(
            f"DELETE FROM {quote(Person._meta.db_table)} WHERE {quote('org_code')} LIKE %s",  # noqa: S608
            [like],
        )
        delete_org_units(BENCH_DISTRICT)


def _insert(model, fields: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Bench setup: rows (already adapted to the database) through one prepared INSERT, in one transaction."""
    sql = engine._insert_sql(model, fields)
    with transaction.atomic(), connection.cursor() as cursor:
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= INSERT_CHUNK:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


# --- (a) specimen registrations through HTTP --------------------------------------------------------------


def _http_people(count: int, grids: list[OrgUnit]) -> list[dict[str, str]]:
    """``count`` residents registered in the bench grids; returns what a sampler types for each."""
    typed = []
    for i in range(count):
        birth = dt.date(1983, 1, 1) + dt.timedelta(days=i % 13_000)
        typed.append(
            {
                "id_number": compose_resident_id(names.BENCH_ADDRESS_CODE, birth, 500 + i // 13_000),
                "name": f"采样{i}",
            }
        )
    result = core_services.person_bulk_register(
        actor=None,
        rows=[
            core_services.PersonInput(id_number=t["id_number"], name=t["name"], grid_id=grids[i % GRIDS].pk)
            for i, t in enumerate(typed)
        ],
    )
    if result.created != count:
        raise RuntimeError(f"registered {result.created} of {count} bench residents: {result.errors[:3]}")
    return typed


def _open_tubes(count: int, district: OrgUnit, tag: str) -> list[str]:
    now = timezone.now()
    tubes = [
        Tube(
            barcode=f"HT{tag}{i:06d}",
            pool_size=POOL,
            status=TubeStatus.OPEN,
            org_code=district.code,
            created_at=now,
        )
        for i in range(count)
    ]
    Tube.objects.bulk_create(tubes, batch_size=1000)
    return [t.barcode for t in tubes]


def _http(district: OrgUnit, grids: list[OrgUnit], warm: int, total: int) -> list[Metric]:
    from epigrid.simulation.benchkit import free_port, start_server

    tag = uuid.uuid4().hex[:6]
    people = _http_people(warm + total, grids)
    # Each connection fills its own tube; a tube is left part-filled at most once per connection and phase.
    barcodes = _open_tubes((warm + total) // POOL + 2 * CONCURRENCY + 2, district, tag)
    samplers = [_staff(district, Role.SAMPLER) for _ in range(CONCURRENCY)]
    tokens = [core_services.api_token_for(user=user, days=1) for user in samplers]
    connection.close()  # SQLite: let the server's processes have the file without our open transaction

    port = free_port()
    host = f"127.0.0.1:{port}"
    next_tube = iter(barcodes)
    next_person = iter(people)
    filling: dict[int, list] = {}  # connection -> [barcode, specimens so far]

    def make(conn: int, n: int) -> bytes:
        # Runs in the load generator's one event-loop thread: no locking needed.
        current = filling.get(conn)
        if current is None or current[1] >= POOL:
            current = filling[conn] = [next(next_tube), 0]
        current[1] += 1
        body = json.dumps(
            {"person": next(next_person), "client_id": str(uuid.uuid4()), "method": "typed"}
        ).encode()
        return post_json(
            f"/api/v1/testing/tubes/{current[0]}/specimens",
            body,
            host=host,
            headers={"Authorization": f"Bearer {tokens[conn]}"},
        )

    workers = int(os.environ.get("EPIGRID_BENCH_WORKERS", "2"))
    server = start_server(port, workers)
    try:
        if warm:
            run_load(host="127.0.0.1", port=port, concurrency=CONCURRENCY, total=warm, make=make)
        filling.clear()  # the measured phase starts on fresh tubes
        result = run_load(host="127.0.0.1", port=port, concurrency=CONCURRENCY, total=total, make=make)
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored = Specimen.objects.filter(tube__barcode__startswith=f"HT{tag}").count()
    sealed = Tube.objects.filter(barcode__startswith=f"HT{tag}", status=TubeStatus.SEALED).count()
    errors = sum(count for status, count in result.statuses.items() if status != 201)
    context = {"n": total, "concurrency": CONCURRENCY, "workers": workers, "database": connection.vendor}
    return [
        {"metric": "specimens_per_second", "value": round(result.rate, 1), "unit": "specimens/s", **context},
        {"metric": "latency_p50", "value": round(result.percentile(50) * 1000, 2), "unit": "ms", **context},
        {"metric": "latency_p99", "value": round(result.percentile(99) * 1000, 2), "unit": "ms", **context},
        {"metric": "errors", "value": errors, "unit": "responses", "statuses": result.statuses, **context},
        {"metric": "specimens_stored", "value": stored, "unit": "rows", "tubes_sealed": sealed, **context},
    ]


# --- (b) results import -----------------------------------------------------------------------------------


def _pooled_tubes(
    tubes: int, grids: list[OrgUnit], tag: str, base: dt.datetime
) -> tuple[list[str], list[int]]:
    """``tubes`` received 10-in-1 tubes with their members (new persons), grid ``k % 4`` for tube k.

    Written with prepared INSERTs: ``bulk_create`` would spend ~80 µs a row compiling 1.1 M rows."""
    ops = connection.ops
    person = Person._meta
    secret = person.get_field("id_number").get_db_prep_save("TB-BENCH", connection)
    blank = person.get_field("phone").get_db_prep_save("", connection)
    at = ops.adapt_datetimefield_value(base)
    members = tubes * POOL
    _insert(
        Person,
        ("id_type", "id_number", "id_number_index", "id_number_masked", "name", "sex", "phone", "phone_index",
         "phone_masked", "address", "grid", "org_code", "created_at", "updated_at"),
        (
            (IdType.RESIDENT, secret, f"tb-{tag}-{i}", "TB******", f"受检{i}", "", blank, "", "", "",
             grids[(i // POOL) % GRIDS].pk, grids[(i // POOL) % GRIDS].code, at, at)
            for i in range(members)
        ),
    )  # fmt: skip
    person_ids = list(
        Person.objects.filter(id_number_index__startswith=f"tb-{tag}-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    barcodes = [f"TB{tag}{k:07d}" for k in range(tubes)]
    sealed = ops.adapt_datetimefield_value(base + dt.timedelta(hours=1))
    received = ops.adapt_datetimefield_value(base + dt.timedelta(hours=3))
    _insert(
        Tube,
        (
            "barcode",
            "pool_size",
            "status",
            "org_code",
            "created_at",
            "sealed_at",
            "received_at",
            "result",
            "pending_result",
        ),
        (
            (barcode, POOL, TubeStatus.RECEIVED, grids[k % GRIDS].code, at, sealed, received, "", "")
            for k, barcode in enumerate(barcodes)
        ),
    )
    tube_ids = list(
        Tube.objects.filter(barcode__startswith=f"TB{tag}").order_by("pk").values_list("pk", flat=True)
    )
    client = Specimen._meta.get_field("client_id")
    first = uuid.uuid4().int & ~((1 << 32) - 1)
    _insert(
        Specimen,
        ("tube", "person", "org_code", "client_id", "sampled_at", "method"),
        (
            (
                tube_ids[i // POOL],
                pid,
                grids[(i // POOL) % GRIDS].code,
                client.get_db_prep_value(uuid.UUID(int=first + i), connection),
                # everyone sampled at their own time, spread over one hour
                ops.adapt_datetimefield_value(base + dt.timedelta(microseconds=i * 3_600_000_000 // members)),
                "typed",
            )
            for i, pid in enumerate(person_ids)
        ),
    )
    return barcodes, person_ids


def _rows(barcodes: list[str]) -> list[dict[str, str]]:
    """One positive pool in 1,000 and one invalid in 2,000 (at small N one in N // 10 and N // 5), the rest
    negative."""
    step = min(1000, max(10, len(barcodes) // 10))
    rows = []
    for k, barcode in enumerate(barcodes):
        result = TubeResult.NEGATIVE
        if k % step == step - 1:
            result = TubeResult.POSITIVE
        elif k % (2 * step) == step // 2:
            result = TubeResult.INVALID
        rows.append({"tube": barcode, "result": str(result)})
    return rows


def _row_by_row(barcodes: list[str], lab: User) -> float:
    """The naive path on a sample: per tube its result through the ORM, per member its facts and a
    one-person recompute. Returns seconds."""
    started = time.perf_counter()
    for row in _rows(barcodes):
        with transaction.atomic():
            tube = Tube.objects.select_for_update().get(barcode=row["tube"])
            now = timezone.now()
            tube.status, tube.result, tube.tested_at, tube.resulted_at, tube.resulted_by = (
                TubeStatus.RESULTED,
                row["result"],
                now,
                now,
                lab,
            )
            tube.save(update_fields=["status", "result", "tested_at", "resulted_at", "resulted_by"])
            audit_record(actor=lab, action="tube.result", obj=tube, detail={"result": row["result"]})
            if row["result"] == TubeResult.INVALID:
                continue
            for specimen in tube.specimens.all():
                PersonFacts.objects.update_or_create(
                    person_id=specimen.person_id,
                    defaults={
                        "org_code": specimen.org_code,
                        "last_test_result": row["result"],
                        "last_test_at": specimen.sampled_at,
                    },
                )
                engine.recompute([specimen.person_id])
    return time.perf_counter() - started


def _import(grids: list[OrgUnit], district: OrgUnit, n: int) -> list[Metric]:
    tag = uuid.uuid4().hex[:6]
    lab = _staff(district, Role.LAB_TECHNICIAN)
    sample = min(SAMPLE, max(1, n // 4))
    base = timezone.now() - dt.timedelta(hours=8)
    started = time.perf_counter()
    barcodes, person_ids = _pooled_tubes(n + sample, grids, tag, base)
    if connection.vendor == "postgresql":
        # Statistics for the million rows just loaded, as autovacuum would gather them shortly after a bulk
        # load: with the old ones the planner takes 2,000 tubes for most of the specimens table.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE "
                + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (Person, Tube, Specimen))
            )
    setup_s = time.perf_counter() - started
    measured, sampled = barcodes[:n], barcodes[n:]

    baseline_s = _row_by_row(sampled, lab) * n / sample
    rows = _rows(measured)
    audits = AuditEntry.objects.count()
    started, cpu = time.perf_counter(), time.process_time()
    outcomes = services.results_submit(actor=lab, rows=rows)
    measured_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu

    recorded = sum(o.outcome == "recorded" for o in outcomes)
    if recorded != n:
        raise RuntimeError(f"recorded {recorded} of {n} tubes: {[o for o in outcomes if not o.ok][:3]}")
    # the members of the measured tubes: the first n * 10 persons inserted (the sample's come after)
    members = {"person_id__gte": person_ids[0], "person_id__lte": person_ids[n * POOL - 1]}
    tested = n * POOL - sum(r["result"] == TubeResult.INVALID for r in rows) * POOL
    facts = PersonFacts.objects.filter(
        **members, last_test_result__in=[TubeResult.NEGATIVE, TubeResult.POSITIVE]
    ).count()
    codes = HealthCode.objects.filter(**members).count()
    red = HealthCode.objects.filter(**members, colour="red").count()
    positives = sum(r["result"] == TubeResult.POSITIVE for r in rows) * POOL
    recalls = Recall.objects.filter(**members).count()
    if facts != tested or codes != tested or red != positives:
        raise RuntimeError(f"propagation incomplete: facts {facts}, codes {codes}, red {red} of {tested}")
    context = {"n": n, "specimens": n * POOL, "database": connection.vendor}
    return [
        {
            "metric": "results_import_s",
            "value": round(measured_s, 3),
            "unit": "s",
            "baseline": round(baseline_s, 3),
            "ratio": round(measured_s / baseline_s, 4),
            "cpu_s": round(cpu_s, 3),
            "baseline_sample_tubes": sample,
            **context,
        },
        {
            "metric": "results_tubes_per_s",
            "value": round(n / measured_s, 1),
            "unit": "tubes/s",
            "baseline": round(n / baseline_s, 1),
            "ratio": round(baseline_s / measured_s, 4),
            **context,
        },
        {
            "metric": "results_propagated",
            "value": facts,
            "unit": "persons",
            "health_codes": codes,
            "red": red,
            "recalls": recalls,
            "audit_entries": AuditEntry.objects.count() - audits,
            **context,
        },
        {"metric": "results_setup", "value": round(setup_s, 3), "unit": "s", **context},
    ]


def bench_testing(*, scale: int | None) -> list[Metric]:
    """Specimen registrations/s through HTTP (p50/p99) and a results import of N tubes of 10 propagated to
    persons and health codes vs row-by-row ORM (N=100000)."""
    n = scale or 100_000
    total = min(10_000, 2 * n)
    warm = min(1_000, n // 2)
    district, grids = _jurisdiction()
    try:
        metrics = _http(district, grids, warm, total)
        metrics += _import(grids, district, n)
    finally:
        _cleanup()
    return metrics
