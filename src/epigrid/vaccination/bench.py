"""``epigrid bench booking``: concurrent vaccination bookings through the real HTTP server, and whether any slot
was overbooked.

Setup (committed: the server process must see it) under district :data:`BENCH_DISTRICT`: one street, one
community, 10 grids with a site each (through the catalogue services), one vaccine, N slots of capacity 20
(default N = 1,000: 10 sites x 100 half-hour slots from tomorrow, 20,000 places) and 1.2 persons per place
(24,000 adults, no doses yet), each with a resident account and an API token (written in bulk: one service
call per account would cost minutes).

``epigrid serve`` runs in a child process (as in ``checkin``) and 64 keep-alive connections in this process
book: each takes the next person waiting and posts ``POST /api/v1/vaccination/bookings`` {slot_id,
vaccine_id, client_id} with that resident's token (a resident booking for themselves), choosing at random
among the 16 earliest slots it does not know to be full, as people crowd the first free times when booking
opens. A 409 (slot full) marks that slot full for every connection and puts the person back in the queue
to try another slot; the run ends when every slot is known to be full. So every slot fills under
contention: dozens of requests race for its last places.

Metrics: bookings per second (201 answers over the wall time), p50/p99 latency of all booking requests,
the full-slot answers (409), errors (anything else: must be 0), and ``overbooked_slots`` computed from the
database afterwards: slots whose ``booked`` exceeds their capacity or differs from the number of open
bookings in them (must be 0). Baseline in the same run: an authenticated trivial GET
(``/api/v1/vaccination/vaccines``, one small query) at the same concurrency, which bounds what any API
request can reach on this machine.

Everything the bench made is deleted afterwards; the audit log keeps the setup's and the bookings' entries
(it is append-only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from epigrid.core import crypto
from epigrid.core import services as core_services
from epigrid.core.identity import compose_resident_id
from epigrid.core.models import ApiToken, DiseaseProfile, Event, OrgUnit, Person, User
from epigrid.core.roles import Role
from epigrid.simulation import names
from epigrid.simulation.benchkit import bench_jurisdiction, delete_org_units, free_port, start_server
from epigrid.simulation.loadgen import post_json, run_load
from epigrid.vaccination.models import (
    Booking,
    BookingStatus,
    SiteClosure,
    Slot,
    VaccinationSite,
    VaccinationStatus,
    Vaccine,
)
from epigrid.vaccination.services import catalogue

BENCH_DISTRICT = "370689"
CONCURRENCY = 64
CAPACITY = 20
SITES = 10
SLOTS = 1_000
PERSONS_PER_PLACE = 1.2
WINDOW = 16  # a connection picks among the earliest slots it does not know to be full
SLOTS_PER_DAY = 20  # 08:00-18:00 in half-hour slots
BOOKING_PATH = "/api/v1/vaccination/bookings"
BASELINE_PATH = "/api/v1/vaccination/vaccines"

Metric = dict[str, Any]


@dataclass
class Setup:
    vaccine_id: int
    slot_ids: list[int]  # in booking order: by start time, then site
    tokens: list[str]  # one resident each, in queue order
    seconds: float = 0.0


def _every_day(start: str, end: str) -> list[dict[str, Any]]:
    return [{"weekday": d, "start": start, "end": end} for d in range(7)]


def _accounts(person_ids: list[int], tag: str) -> list[str]:
    """A resident account and a one-day API token for each person, written in bulk (no password: the bench
    authenticates with the tokens)."""
    User.objects.bulk_create(
        [
            User(username=f"bench-vacc-{tag}-{i}", role=Role.RESIDENT, person_id=pid, password="!")
            for i, pid in enumerate(person_ids)
        ],
        batch_size=1000,
    )
    users = dict(
        User.objects.filter(username__startswith=f"bench-vacc-{tag}-").values_list("person_id", "pk")
    )
    expires = timezone.now() + dt.timedelta(days=1)
    tokens = [secrets.token_urlsafe(32) for _ in person_ids]
    ApiToken.objects.bulk_create(
        [
            ApiToken(user_id=users[pid], digest=crypto.token_digest(token), expires_at=expires)
            for pid, token in zip(person_ids, tokens, strict=True)
        ],
        batch_size=1000,
    )
    return tokens


def _setup(slots: int, persons: int, tag: str) -> Setup:
    started = time.perf_counter()
    sites = max(1, min(SITES, slots // 10))
    _district, grids = bench_jurisdiction(BENCH_DISTRICT, "接种基准区", lat=34.0, lng=117.0, grids=sites)
    vaccine = catalogue.vaccine_create(
        actor=None,
        data=catalogue.VaccineInput(
            disease=DiseaseProfile.objects.get(code="covid19"),
            code=f"bench-{tag}",
            name="基准灭活疫苗",
            manufacturer="基准生物",
            kind="inactivated",
            doses_in_series=2,
            min_interval_days=21,
            booster_interval_days=180,
            max_boosters=1,
        ),
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    slot_ids: list[tuple[dt.datetime, int, int]] = []
    for k, grid in enumerate(grids):
        per_site = slots // sites + (1 if k < slots % sites else 0)
        site = catalogue.site_create(
            actor=None,
            data=catalogue.SiteInput(
                name=f"基准接种点{k + 1}",
                grid=grid,
                address=f"基准路{k + 1}号",
                opening_hours=_every_day("08:00", "18:00"),
                slot_minutes=30,
                capacity_per_slot=CAPACITY,
                vaccines=[vaccine],
            ),
        )
        catalogue.slots_generate(
            actor=None, site=site, start=tomorrow, days=math.ceil(per_site / SLOTS_PER_DAY)
        )
        made = list(Slot.objects.filter(site=site).order_by("starts_at").values_list("starts_at", "pk"))
        Slot.objects.filter(pk__in=[pk for _at, pk in made[per_site:]]).delete()
        slot_ids += [(at, k, pk) for at, pk in made[:per_site]]
    typed = [
        core_services.PersonInput(
            id_number=compose_resident_id(
                names.BENCH_ADDRESS_CODE,
                dt.date(1970, 1, 1) + dt.timedelta(days=i % 13_000),
                700 + i // 13_000,
            ),
            name=f"接种{i}",
            grid_id=grids[i % sites].pk,
        )
        for i in range(persons)
    ]
    result = core_services.person_bulk_register(actor=None, rows=typed)
    if result.created != persons:
        raise RuntimeError(f"registered {result.created} of {persons} bench persons: {result.errors[:3]}")
    person_ids = list(
        Person.objects.filter(org_code__startswith=BENCH_DISTRICT).order_by("pk").values_list("pk", flat=True)
    )
    tokens = _accounts(person_ids, tag)
    return Setup(vaccine.pk, [pk for _at, _k, pk in sorted(slot_ids)], tokens, time.perf_counter() - started)


def _cleanup(tag: str) -> None:
    """Delete what the bench made: bookings, slots, closures, sites, the vaccine, events, accounts, persons
    and org units. Bookings and events go with plain DELETEs (tens of thousands of rows the ORM's collector
    would load first); foreign keys are checked at commit, so the order inside the transaction is free."""
    like = f"{BENCH_DISTRICT}%"
    quote = connection.ops.quote_name
    with transaction.atomic():
        with connection.cursor() as cursor:
            for model in (Booking, Slot, Event, VaccinationStatus):
                cursor.execute(
                    f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote('org_code')} LIKE %s",  # noqa: S608
                    [like],
                )
        sites = VaccinationSite.objects.filter(org_code__startswith=BENCH_DISTRICT)
        SiteClosure.objects.filter(site__in=sites).delete()
        VaccinationSite.vaccines.through.objects.filter(vaccinationsite__in=sites).delete()
        sites.delete()
        Vaccine.objects.filter(code=f"bench-{tag}").delete()
        users = User.objects.filter(username__startswith=f"bench-vacc-{tag}-")
        ApiToken.objects.filter(user__in=users).delete()
        users.delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quote(Person._meta.db_table)} WHERE {quote('org_code')} LIKE %s",  # noqa: S608
                [like],
            )
        delete_org_units(BENCH_DISTRICT)


# --- the load ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What the booking clients saw."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    first_error: str = ""

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


class _Board:
    """What the clients know together: who still waits for a place, which slots are known to be full."""

    def __init__(self, setup: Setup, seed: int = 9) -> None:
        self.queue = list(range(len(setup.tokens)))
        self.queue.reverse()  # pop() takes the first person
        self.open = list(setup.slot_ids)
        self.rng = random.Random(seed)

    def next(self) -> tuple[int, int] | None:
        if not self.queue or not self.open:
            return None
        return self.queue.pop(), self.rng.choice(self.open[:WINDOW])

    def full(self, slot_id: int, person: int) -> None:
        if slot_id in self.open:
            self.open.remove(slot_id)
        self.queue.insert(0, person)  # tries again later, with another slot


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return int(head[9:12]), (await reader.readexactly(length) if length else b"")


async def _client(port: int, setup: Setup, board: _Board, run: Run) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    host = f"127.0.0.1:{port}"
    try:
        while (turn := board.next()) is not None:
            person, slot_id = turn
            body = json.dumps(
                {"slot_id": slot_id, "vaccine_id": setup.vaccine_id, "client_id": str(uuid.uuid4())}
            ).encode()
            request = post_json(
                BOOKING_PATH,
                body,
                host=host,
                headers={"Authorization": f"Bearer {setup.tokens[person]}", "Accept-Language": "en"},
            )
            started = time.perf_counter()
            writer.write(request)
            status, answer = await _response(reader)
            run.latencies.append(time.perf_counter() - started)
            run.statuses[status] = run.statuses.get(status, 0) + 1
            if status == 409:
                board.full(slot_id, person)
            elif status != 201 and not run.first_error:
                run.first_error = f"{status} {answer[:300].decode(errors='replace')}"
    finally:
        writer.close()


def _book(port: int, setup: Setup) -> Run:
    run = Run()
    board = _Board(setup)

    async def main() -> None:
        started = time.perf_counter()
        await asyncio.gather(*(_client(port, setup, board, run) for _ in range(CONCURRENCY)))
        run.seconds = time.perf_counter() - started

    runner = threading.Thread(target=asyncio.run, args=(main(),), name="booking-load")
    runner.start()
    runner.join()
    return run


def _baseline(port: int, tokens: list[str], total: int) -> tuple[float, int]:
    """Requests per second of an authenticated trivial GET at the same concurrency; and its non-200s."""
    host = f"127.0.0.1:{port}"

    def make(conn: int, _n: int) -> bytes:
        return (
            f"GET {BASELINE_PATH} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {tokens[conn % len(tokens)]}\r\n\r\n"
        ).encode()

    run_load(host="127.0.0.1", port=port, concurrency=CONCURRENCY, total=min(1000, total), make=make)
    result = run_load(host="127.0.0.1", port=port, concurrency=CONCURRENCY, total=total, make=make)
    return result.rate, sum(n for status, n in result.statuses.items() if status != 200)


def _check(setup: Setup) -> dict[str, int]:
    """Slot counters against the bookings they hold, from the database."""
    slots = Slot.objects.filter(pk__in=setup.slot_ids).annotate(
        held=Count("bookings", filter=Q(bookings__status=BookingStatus.BOOKED))
    )
    rows = list(slots.values_list("booked", "capacity", "held"))
    return {
        "overbooked": sum(1 for booked, cap, held in rows if booked > cap or booked != held),
        "full": sum(1 for booked, cap, _held in rows if booked == cap),
        "stored": Booking.objects.filter(slot_id__in=setup.slot_ids, status=BookingStatus.BOOKED).count(),
        "people_twice": Booking.objects.filter(slot_id__in=setup.slot_ids, status=BookingStatus.BOOKED)
        .values("person_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count(),
    }


def bench_booking(*, scale: int | None) -> list[Metric]:
    """Vaccination bookings/s through HTTP at concurrency 64 racing for N slots of 20 places, p50/p99, 409s, overbooked slots (must be 0) vs an authenticated trivial GET (N=1000)."""
    if OrgUnit.objects.filter(code__startswith=BENCH_DISTRICT).exists():
        raise RuntimeError(
            f"org units under {BENCH_DISTRICT} exist already (an earlier run died?); remove them"
        )
    slots = scale or SLOTS
    places = slots * CAPACITY
    persons = math.ceil(places * PERSONS_PER_PLACE)
    workers = int(os.environ.get("EPIGRID_BENCH_WORKERS", "2"))
    tag = uuid.uuid4().hex[:8]
    try:
        setup = _setup(slots, persons, tag)
        connection.close()  # SQLite: let the server's processes have the file without our open transaction
        port = free_port()
        server = start_server(port, workers)
        try:
            baseline, baseline_errors = _baseline(port, setup.tokens[:CONCURRENCY], min(5_000, persons))
            run = _book(port, setup)
        finally:
            server.terminate()
            server.wait(timeout=30)
        check = _check(setup)
    finally:
        _cleanup(tag)
    booked = run.statuses.get(201, 0)
    answers = sum(run.statuses.values())
    errors = answers - booked - run.statuses.get(409, 0)
    rate = booked / run.seconds if run.seconds else 0.0
    context = {
        "n": slots,
        "places": places,
        "persons": persons,
        "concurrency": CONCURRENCY,
        "workers": workers,
        "database": connection.vendor,
    }
    errors_extra = {"statuses": run.statuses, "baseline_errors": baseline_errors}
    if run.first_error:
        errors_extra["first_error"] = run.first_error
    return [
        {
            "metric": "bookings_per_second",
            "value": round(rate, 1),
            "unit": "bookings/s",
            "baseline": round(baseline, 1),
            "ratio": round(rate / baseline, 4) if baseline else None,
            "requests": answers,
            "requests_per_second": round(answers / run.seconds, 1) if run.seconds else 0.0,
            "elapsed_s": round(run.seconds, 2),
            **context,
        },
        {"metric": "latency_p50", "value": round(run.percentile(50) * 1000, 2), "unit": "ms", **context},
        {"metric": "latency_p99", "value": round(run.percentile(99) * 1000, 2), "unit": "ms", **context},
        {
            "metric": "full_slot_answers",
            "value": run.statuses.get(409, 0),
            "unit": "responses",
            "share": round(run.statuses.get(409, 0) / answers, 4) if answers else 0.0,
            **context,
        },
        {"metric": "errors", "value": errors, "unit": "responses", **errors_extra, **context},
        {
            "metric": "overbooked_slots",
            "value": check["overbooked"],
            "unit": "slots",
            "slots_full": check["full"],
            "bookings_stored": check["stored"],
            "bookings_answered": booked,
            "persons_booked_twice": check["people_twice"],
            **context,
        },
        {"metric": "setup", "value": round(setup.seconds, 1), "unit": "s", **context},
    ]
