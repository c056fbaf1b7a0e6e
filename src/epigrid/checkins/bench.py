"""``epigrid bench checkin``: check-ins per second through the real HTTP server.

The server is ``epigrid serve`` (gunicorn, 2 threaded workers) in a child process against the configured
database; the load generator (``simulation.loadgen``) runs in this process on the same machine, with 32
keep-alive connections, each a resident with their own API token checking in at one venue. Baseline in the
same run: raw ``bulk_create`` of the same rows into the same table (1,000 per transaction).

Setup is committed (the server process must see it) under district :data:`BENCH_DISTRICT` and deleted
afterwards. The accounts and venue are made through the services, so the audit log keeps a few
``bench`` entries: it is append-only by design.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from epigrid.checkins.models import CheckIn, Colour, Method
from epigrid.core import services
from epigrid.core.identity import compose_resident_id
from epigrid.core.models import ApiToken, Person, User
from epigrid.core.roles import Role
from epigrid.places import services as place_services
from epigrid.places.codes import venue_code_url
from epigrid.places.models import Venue
from epigrid.simulation.benchkit import bench_jurisdiction, delete_org_units, free_port, start_server
from epigrid.simulation.loadgen import post_json, run_load

BENCH_DISTRICT = "370697"
CONCURRENCY = 32


def _setup(accounts: int) -> tuple[Venue, list[str], list[int]]:
    district, (grid,) = bench_jurisdiction(BENCH_DISTRICT, "压测区", lat=35.0, lng=118.0)
    admin = services.user_create(
        actor=None,
        username=f"bench-admin-{uuid.uuid4().hex[:8]}",
        password=uuid.uuid4().hex,
        role=Role.DISTRICT_ADMIN,
        org_unit=district,
    )
    venue = place_services.venue_apply(
        actor=admin,
        data=place_services.VenueInput(
            name="压测餐厅", type="restaurant", address="压测路1号", lat=35.01, lng=118.01
        ),
    )
    venue = place_services.venue_approve(actor=admin, venue=venue)
    tokens, person_ids = [], []
    for i in range(accounts):
        person = services.person_register(
            actor=None,
            data=services.PersonInput(
                id_number=compose_resident_id("370602", dt.date(1990, 1, 1) + dt.timedelta(days=i), 901),
                name=f"压测{i}",
                grid_id=grid.pk,
            ),
        )
        user = User.objects.create(
            username=f"bench-resident-{uuid.uuid4().hex[:10]}", role=Role.RESIDENT, person=person
        )
        tokens.append(services.api_token_for(user=user, days=1))
        person_ids.append(person.pk)
    return venue, tokens, person_ids


def _cleanup() -> None:
    with transaction.atomic():
        venues = Venue.objects.filter(org_code__startswith=BENCH_DISTRICT)
        CheckIn.objects.filter(venue__in=venues).delete()
        people = Person.objects.filter(org_code__startswith=BENCH_DISTRICT)
        users = User.objects.filter(person__in=people) | User.objects.filter(
            org_unit__code__startswith=BENCH_DISTRICT
        )
        ApiToken.objects.filter(user__in=users).delete()
        venues.delete()
        users.delete()
        people.delete()
        delete_org_units(BENCH_DISTRICT)


def _baseline(venue: Venue, person_ids: list[int], n: int) -> float:
    """Rows per second of raw bulk_create of the same check-in rows, 1,000 per transaction."""
    now = timezone.now()
    rows = [
        CheckIn(
            client_id=uuid.uuid4(),
            person_id=person_ids[i % len(person_ids)],
            venue=venue,
            org_code=venue.org_code,
            scanned_at=now,
            leave_at=now + dt.timedelta(minutes=90),
            method=Method.SELF,
            colour=Colour.GREEN,
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    for start in range(0, n, 1000):
        with transaction.atomic():
            CheckIn.objects.bulk_create(rows[start : start + 1000])
    return n / (time.perf_counter() - started)


def bench_checkin(*, scale: int | None) -> list[dict[str, Any]]:
    """Check-ins per second through the real HTTP server, concurrency 32, p50/p99 vs raw bulk insert (N=10000)."""
    total = scale or 10_000
    workers = int(os.environ.get("EPIGRID_BENCH_WORKERS", "2"))
    venue, tokens, person_ids = _setup(CONCURRENCY)
    connection.close()  # SQLite: let the server's processes have the file without our open transaction
    port = free_port()
    code = venue_code_url(venue)
    host = f"127.0.0.1:{port}"

    def make(conn: int, n: int) -> bytes:
        body = json.dumps({"venue_code": code, "client_id": str(uuid.uuid4())}).encode()
        return post_json(
            "/api/v1/checkins", body, host=host, headers={"Authorization": f"Bearer {tokens[conn]}"}
        )

    server = start_server(port, workers)
    try:
        run_load(
            host="127.0.0.1", port=port, concurrency=CONCURRENCY, total=min(1000, total), make=make
        )  # warm-up
        result = run_load(host="127.0.0.1", port=port, concurrency=CONCURRENCY, total=total, make=make)
    finally:
        server.terminate()
        server.wait(timeout=30)
    try:
        stored = CheckIn.objects.filter(venue=venue).count()
        baseline = _baseline(venue, person_ids, total)
    finally:
        _cleanup()
    errors = sum(count for status, count in result.statuses.items() if status != 201)
    context = {"n": total, "concurrency": CONCURRENCY, "workers": workers, "database": connection.vendor}
    return [
        {
            "metric": "checkins_per_second",
            "value": round(result.rate, 1),
            "unit": "checkins/s",
            "baseline": round(baseline, 1),
            "ratio": round(result.rate / baseline, 4),
            **context,
        },
        {"metric": "latency_p50", "value": round(result.percentile(50) * 1000, 2), "unit": "ms", **context},
        {"metric": "latency_p99", "value": round(result.percentile(99) * 1000, 2), "unit": "ms", **context},
        {"metric": "errors", "value": errors, "unit": "responses", "statuses": result.statuses, **context},
        {"metric": "rows_stored", "value": stored, "unit": "rows", **context},
    ]
