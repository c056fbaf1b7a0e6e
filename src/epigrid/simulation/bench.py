"""Benchmarks behind ``epigrid bench NAME [--scale N]``.

Each benchmark returns its metrics; :func:`run` prints one JSON object per metric per line:
``{"bench", "metric", "value", "unit"}`` plus ``"baseline"`` and ``"ratio"`` (value / baseline) where a
baseline is measured in the same run, and ``"n"`` and ``"database"`` for context.

Benchmarks that write do so inside a transaction that is rolled back at the end, in a jurisdiction of their
own (district code :data:`BENCH_DISTRICT`), so they can run against a loaded demo database and leave no
trace: no rows, no audit entries, no sequence gaps in the audit chain.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.db import connection, transaction
from shapely.geometry import Polygon, box

from epigrid.core import geo, services
from epigrid.core.identity import IdentityError, IdType, compose_resident_id, parse_resident_id
from epigrid.core.masking import mask_document, mask_phone
from epigrid.core.models import OrgLevel, OrgUnit, Person
from epigrid.core.services import PersonInput
from epigrid.simulation import geometry, names

BENCH_DISTRICT = "370698"
BENCH_ORIGIN = (36.0, 119.0)  # lat, lng of the bench jurisdiction: far from the demo district

Metric = dict[str, Any]


def _metric(metric: str, value: float, unit: str, *, baseline: float | None = None, **extra: Any) -> Metric:
    out: Metric = {"metric": metric, "value": round(value, 3), "unit": unit}
    if baseline is not None:
        out["baseline"] = round(baseline, 3)
        out["ratio"] = round(value / baseline, 4) if baseline else None
    out.update(extra)
    return out


class _Rollback(Exception):
    pass


@contextmanager
def _rolled_back():
    """Run the body in a transaction (a savepoint inside an outer one) and undo everything it wrote."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass
    finally:
        _forget_grid_index()


def _forget_grid_index() -> None:
    # The rolled-back bench grids may share pks with grids created later; make geo rebuild its index.
    geo.invalidate()


# --- person_register ----------------------------------------------------------------------------------


def _bench_jurisdiction() -> list[tuple[int, str, Polygon]]:
    """A small district (1 street, 2 communities, 4 grids each) far from the demo; returns its grids."""
    if OrgUnit.objects.filter(code__startswith=BENCH_DISTRICT).exists():
        raise RuntimeError(
            f"org units under {BENCH_DISTRICT} exist already; the benchmark needs that code free"
        )
    lat, lng = BENCH_ORIGIN
    outline = box(lng, lat, lng + 0.1, lat + 0.1)
    rng = np.random.default_rng(1)
    district = services.orgunit_create(
        actor=None,
        code=BENCH_DISTRICT,
        level=OrgLevel.DISTRICT,
        name="基准测试区",
        boundary=geometry.geojson(outline),
    )
    street = services.orgunit_create(
        actor=None,
        code=f"{BENCH_DISTRICT}001",
        level=OrgLevel.STREET,
        name="基准街道",
        parent=district,
        boundary=geometry.geojson(outline),
    )
    grids = []
    for c, community_poly in enumerate(geometry.partition(outline, 2, rng), start=1):
        community = services.orgunit_create(
            actor=None,
            code=f"{street.code}{c:03d}",
            level=OrgLevel.COMMUNITY,
            name=f"基准{c}社区",
            parent=street,
            boundary=geometry.geojson(community_poly),
        )
        for g, grid_poly in enumerate(geometry.partition(community_poly, 4, rng), start=1):
            grid = services.orgunit_create(
                actor=None,
                code=f"{community.code}{g:03d}",
                level=OrgLevel.GRID,
                name=f"第{g}网格",
                parent=community,
                boundary=geometry.geojson(grid_poly),
            )
            grids.append((grid.pk, grid.code, grid_poly))
    return grids


def _bench_people(n: int, grids: list[tuple[int, str, Polygon]]) -> list[tuple[PersonInput, int, str]]:
    """``n`` valid, distinct people at random homes inside the bench grids, with their true grid."""
    rng = np.random.default_rng(2)
    per_grid = np.full(len(grids), n // len(grids))
    per_grid[: n % len(grids)] += 1
    people = []
    i = 0
    for (grid_id, grid_code, poly), count in zip(grids, per_grid, strict=True):
        homes = geometry.random_points_in(geometry.inner_area(poly, 2e-5), int(count), rng).round(6)
        for lng, lat in homes:
            birth = dt.date(1983, 1, 1) + dt.timedelta(days=i % 13_000)
            number = compose_resident_id(names.BENCH_ADDRESS_CODE, birth, i // 13_000)
            data = PersonInput(
                id_number=number,
                name=f"基准{i}",
                phone=f"13{i % 10}{i:08d}",
                address="基准测试地址",
                lat=float(lat),
                lng=float(lng),
            )
            people.append((data, grid_id, grid_code))
            i += 1
    return people


def _prebuilt(data: PersonInput, grid_id: int, grid_code: str) -> Person:
    """The row person_bulk_register would write, every derived value computed in advance.

    The two encrypted fields still hold plaintext: EncryptedTextField encrypts while saving, and smuggling
    ready ciphertext past it (as a ``Value`` expression) measured 10-20 % slower than letting AES-GCM run,
    so the plain objects are the faster, stricter baseline.
    """
    parsed = parse_resident_id(data.id_number)
    return Person(
        id_type=IdType.RESIDENT,
        id_number=parsed.number,
        id_number_index=services.person_document_index(IdType.RESIDENT, parsed.number),
        id_number_masked=mask_document(parsed.number),
        name=data.name,
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        phone=data.phone,
        phone_index=services.phone_index(data.phone),
        phone_masked=mask_phone(data.phone),
        address=data.address,
        grid_id=grid_id,
        org_code=grid_code,
        lat=data.lat,
        lng=data.lng,
    )


def bench_person_register(*, scale: int | None) -> list[Metric]:
    """Persons registered per second through services.person_bulk_register vs raw bulk_create (N=20000)."""
    n = scale or 20_000
    with _rolled_back():
        grids = _bench_jurisdiction()
        people = _bench_people(n, grids)

        with _rolled_back():
            _forget_grid_index()
            started = time.perf_counter()
            result = services.person_bulk_register(actor=None, rows=[data for data, _g, _c in people])
            measured_s = time.perf_counter() - started
            if result.created != n or result.errors:
                raise RuntimeError(f"registered {result.created} of {n}; first errors: {result.errors[:3]}")
            misplaced = Person.objects.filter(org_code__startswith=BENCH_DISTRICT).exclude(
                grid_id__in=[g for g, _c, _p in grids]
            )
            if misplaced.exists():
                raise RuntimeError("person_bulk_register put bench persons outside the bench grids")

        rows = [_prebuilt(*person) for person in people]
        with _rolled_back():
            started = time.perf_counter()
            # The same transaction shape as the service: one transaction per 2,000 rows.
            for i in range(0, n, 2000):
                with transaction.atomic():
                    Person.objects.bulk_create(rows[i : i + 2000], batch_size=1000)
            baseline_s = time.perf_counter() - started
    context = {"n": n, "database": connection.vendor}
    return [
        _metric("persons_per_s", n / measured_s, "persons/s", baseline=n / baseline_s, **context),
        _metric("elapsed", measured_s, "s", baseline=baseline_s, **context),
    ]


# --- id_validate --------------------------------------------------------------------------------------


def _id_inputs(n: int) -> list[str]:
    """``n`` resident ID numbers like the demo's (every tenth with a wrong check character)."""
    rng = np.random.default_rng(3)
    days = rng.integers(0, 36_500, n)
    seqs = rng.integers(0, 1000, n)
    out = []
    for i, (day, seq) in enumerate(zip(days.tolist(), seqs.tolist(), strict=True)):
        birth = dt.date(1922, 1, 1) + dt.timedelta(days=day)
        codes, _weights = names.address_codes_for_year(birth.year)
        number = compose_resident_id(codes[i % len(codes)], birth, seq)
        if i % 10 == 9:
            wrong = "0123456789X".replace(number[-1], "")[i % 10]
            number = number[:-1] + wrong
        out.append(number)
    return out


def bench_id_validate(*, scale: int | None) -> list[Metric]:
    """Resident ID numbers validated per second (parse_resident_id) vs stdnum.cn.ric.is_valid (N=200000)."""
    from stdnum.cn import ric

    n = scale or 200_000
    inputs = _id_inputs(n)

    started = time.perf_counter()
    ours = []
    for number in inputs:
        try:
            parse_resident_id(number)
            ours.append(True)
        except IdentityError:
            ours.append(False)
    measured_s = time.perf_counter() - started

    started = time.perf_counter()
    theirs = [ric.is_valid(number) for number in inputs]
    baseline_s = time.perf_counter() - started

    disagreements = sum(a != b for a, b in zip(ours, theirs, strict=True))
    return [
        _metric("ids_per_s", n / measured_s, "ids/s", baseline=n / baseline_s, n=n),
        _metric("disagreements", disagreements, "ids", n=n),
    ]


def _checkin(*, scale: int | None) -> list[Metric]:
    """Check-ins per second through the real HTTP server, concurrency 32, p50/p99 (N=10000)."""
    from epigrid.checkins.bench import bench_checkin

    return bench_checkin(scale=scale)


def _healthcode(*, scale: int | None) -> list[Metric]:
    """Health-code full recompute persons/s and a 1,000-contact incremental update vs per-person ORM (N=100000)."""
    from epigrid.healthcode.bench import bench_healthcode

    return bench_healthcode(scale=scale)


def _ocr(*, scale: int | None) -> list[Metric]:
    """ID-card OCR median/p90 ms per image on one core and field accuracy over generated cards (N=100)."""
    from epigrid.testing.bench_ocr import bench_ocr

    return bench_ocr(scale=scale)


def _testing(*, scale: int | None) -> list[Metric]:
    """Specimen registrations/s through HTTP, and a results import of N tubes of 10 propagated to persons and health codes vs row-by-row ORM (N=100000)."""
    from epigrid.testing.bench import bench_testing

    return bench_testing(scale=scale)


def _tracing(*, scale: int | None) -> list[Metric]:
    """Contact tracing p50/p99 per case (engine; close+secondary and close only), a 1,000-case DuckDB batch, recall/precision vs the reference, pandas baseline (N=100000 residents, 28 days)."""
    from epigrid.simulation.bench_tracing import bench_tracing

    return bench_tracing(scale=scale)


def _quarantine(*, scale: int | None) -> list[Metric]:
    """Placement of N contacts at once vs one by one (households together, target < 10 s), line lists at 4N in quarantine p50/p99 (N=5000)."""
    from epigrid.quarantine.bench import bench_quarantine

    return bench_quarantine(scale=scale)


def _tasks(*, scale: int | None) -> list[Metric]:
    """Grid tasks: N created and routed from an event burst (target < 20 s for 50,000) vs one by one; the worker's list at 500 open tasks, selector and HTTP p50/p99 (target p50 < 100 ms) (N=50000)."""
    from epigrid.grids.bench import bench_tasks

    return bench_tasks(scale=scale)


def _command(*, scale: int | None) -> list[Metric]:
    """Command center: map (all layers) and situation server time p50/p90 at district scale (target map p50 < 300 ms) vs a query-per-object baseline (N=200000 residents)."""
    from epigrid.command.bench import bench_command

    return bench_command(scale=scale)


def _booking(*, scale: int | None) -> list[Metric]:
    """Vaccination bookings/s through HTTP, 64 clients racing for N slots of 20 places: p50/p99, full-slot answers, overbooked slots (must be 0) vs an authenticated trivial GET (N=1000)."""
    from epigrid.vaccination.bench import bench_booking

    return bench_booking(scale=scale)


def _linkage(*, scale: int | None) -> list[Metric]:
    """Record linkage of N/10 arrivals against N persons: precision, recall, F1 vs the generator's truth (target F1 >= 0.97), wall time (target < 5 min), Splink comparisons/s per core; exact ID comparison of N rows (target < 10 s) vs one query per row (N=1000000)."""
    from epigrid.comparison.bench import bench_linkage

    return bench_linkage(scale=scale)


def _waste(*, scale: int | None) -> list[Metric]:
    """Medical-waste alarm evaluation over N custody records (target < 10 s) vs per-bag Python, and the open-bags page at N/10 open bags over HTTP (target p50 < 300 ms) vs an authenticated trivial GET (N=1000000)."""
    from epigrid.medwaste.bench import bench_waste

    return bench_waste(scale=scale)


BENCHMARKS: dict[str, Callable[..., list[Metric]]] = {
    "person_register": bench_person_register,
    "id_validate": bench_id_validate,
    "checkin": _checkin,
    "healthcode": _healthcode,
    "ocr": _ocr,
    "testing": _testing,
    "tracing": _tracing,
    "tasks": _tasks,
    "quarantine": _quarantine,
    "command": _command,
    "booking": _booking,
    "linkage": _linkage,
    "waste": _waste,
}


def run(name: str, *, scale: int | None) -> int:
    """Run benchmark ``name`` and print its metrics as JSON lines; 2 for an unknown name."""
    func = BENCHMARKS.get(name)
    if func is None:
        print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for metric in func(scale=scale):
        print(json.dumps({"bench": name, **metric}, ensure_ascii=False), flush=True)
    return 0
