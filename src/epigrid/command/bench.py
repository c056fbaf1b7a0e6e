"""``epigrid bench command``: the command center at district scale.

Part 1 (:func:`map_and_situation`, here): the server time of the map's data — every layer, as
``GET /api/v1/command/map`` serves it — and of the situation panel, for the district's commander, against a
naive baseline measured in the same run: the same numbers read with a query per grid, per venue, per
sampling point and per site (what the map would cost without grouped queries).

The district is built inside a transaction that is rolled back at the end, in a jurisdiction of its own
(district :data:`BENCH_DISTRICT`), so the bench leaves no trace in a loaded demo database. ``--scale N`` is
the number of residents (default 200,000); everything else follows from it: ``N / 1,000`` grids (about 350
households each) in communities of 10 and streets of 5 communities, ``N / 100`` venues (10 % key places), one
sampling point per 4 grids, 20 quarantine sites of 100 rooms, an outbreak of ``N / 500`` open cases with 15
contacts each (70 % of them in quarantine), ``N / 20`` open grid tasks (10 % overdue) and as many done, 300
open alarms and 1,000 closed ones, a camera per grid; three check-ins per resident a day over the last 48 hours
(the venues' occupancy reads the last 12, the longest stay), a district-wide testing round today with 60 % of the residents
swabbed in tubes of 10 (half resulted), and 30 % swabbed yesterday (all resulted). Rows are written with bulk
inserts (setup, not what is measured); check-ins through ``checkin_bulk_import``.

Metrics (ms unless said; ``RUNS`` runs after one warm-up call):

- ``map_all_p50`` / ``_p90``: ``map_layers`` with every layer (grid shapes included), the selector alone.
  Baseline: :func:`_naive_map` (a query per object), ``BASELINE_RUNS`` runs; ``ratio`` = grouped / naive.
  ``map_disagreements``: numbers on which the two disagree at the same moment (0 expected).
- ``map_http_p50`` / ``_p90``: ``GET /api/v1/command/map`` through Django's test client (session login, the
  page's way): authentication, the selector, JSON; ``bytes`` is the answer's size. Target: p50 < 300 ms.
- ``map_refresh_http_p50``: the same with ``boundaries=false`` (what the page asks for after the first load).
- ``map_community_http_p50``: a community officer's map (one community's grids).
- ``map_grids_p50`` / ``map_venues_p50``: the two costly layers alone (the grids' measures; the venues'
  occupancy, which is ``checkins.selectors.occupancy``: it reads every check-in of the last 12 hours, the
  longest stay, and looks each row up for its ``leave_at``).
- ``situation_p50`` / ``_p90`` (selector) and ``situation_http_p50`` (``GET /api/v1/command/situation``):
  a refresh, which counts only today (yesterday's column is kept for a few minutes);
  ``situation_cold_p50``: with yesterday's column read as well.

The figures are read from rows this transaction wrote and will roll back, which makes them pessimistic:
on PostgreSQL the rows are not vacuumed yet (no visibility map, so index-only scans visit the table; the
bench runs ANALYZE), on SQLite they sit partly in the write-ahead log. A live district's committed, vacuumed
tables answer faster (docs/benchmarks.md has both).

Part 2 (event-to-browser latency) plugs in through :data:`PARTS`: each part is a callable
``part(scale=...) -> list[Metric]`` run in order after this one; it builds (and removes) whatever it needs
itself, since a browser against a real server needs committed rows, not this rolled-back transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from epigrid.checkins import services as checkin_services
from epigrid.checkins.models import CheckIn
from epigrid.checkins.selectors import venue_present_count
from epigrid.command.models import Alarm, AlarmStatus, Camera, Severity
from epigrid.command.selectors.layers import (
    ACTIVE_CONTACT_STATUSES,
    INFECTED,
    MEASURES,
    grid_layer,
    map_layers,
    venue_layer,
)
from epigrid.command.selectors.situation import situation
from epigrid.core import services as core_services
from epigrid.core import ttlcache
from epigrid.core.models import OrgLevel, OrgUnit, Person, User
from epigrid.core.roles import Role
from epigrid.grids.models import OPEN_STATES, Task, TaskState, TaskType
from epigrid.investigation.models import Case, Contact, Outcome
from epigrid.places.models import Venue, VenueStatus, VenueType
from epigrid.quarantine import services as quarantine_services
from epigrid.quarantine.models import OPEN_STATUSES, Placement, Room, RoomStatus, Site
from epigrid.simulation.benchkit import square
from epigrid.testing.models import SamplingPoint, Specimen, TestingRound, Tube, TubeResult, TubeStatus

BENCH_DISTRICT = "370691"
ORIGIN = (32.0, 114.0)  # lat, lng: far from the demo district and the other benches
GRID_SIZE = 0.01  # degrees (about 1 km)
PER_GRID = 1_000
GRIDS_PER_COMMUNITY = 10
COMMUNITIES_PER_STREET = 5
SITES = 20
ROOMS_PER_SITE = 100
CONTACTS_PER_CASE = 15
CHECKINS_PER_DAY = 3  # per resident, as in docs/performance.md's tracing figures
RUNS = 20
BASELINE_RUNS = 3
CHUNK = 5_000

Metric = dict[str, Any]


# --- building the district ---------------------------------------------------------------------------------


def _units(n_grids: int) -> tuple[OrgUnit, list[OrgUnit], list[OrgUnit]]:
    """District → streets → communities → grids, squares on a lattice; returns (district, communities, grids)."""
    lat0, lng0 = ORIGIN
    cols = math.ceil(math.sqrt(n_grids))
    rows = math.ceil(n_grids / cols)
    district = core_services.orgunit_create(
        actor=None,
        code=BENCH_DISTRICT,
        level=OrgLevel.DISTRICT,
        name="指挥基准区",
        boundary=square(lat0, lng0, GRID_SIZE * max(cols, rows)),
    )
    n_communities = math.ceil(n_grids / GRIDS_PER_COMMUNITY)
    streets: list[OrgUnit] = []
    communities: list[OrgUnit] = []
    grids: list[OrgUnit] = []
    for c in range(n_communities):
        if c % COMMUNITIES_PER_STREET == 0:
            streets.append(
                core_services.orgunit_create(
                    actor=None,
                    code=f"{BENCH_DISTRICT}{len(streets) + 1:03d}",
                    level=OrgLevel.STREET,
                    name=f"基准街道{len(streets) + 1}",
                    parent=district,
                )
            )
        street = streets[-1]
        community = core_services.orgunit_create(
            actor=None,
            code=f"{street.code}{c % COMMUNITIES_PER_STREET + 1:03d}",
            level=OrgLevel.COMMUNITY,
            name=f"基准社区{c + 1}",
            parent=street,
        )
        communities.append(community)
        for g in range(GRIDS_PER_COMMUNITY):
            index = c * GRIDS_PER_COMMUNITY + g
            if index >= n_grids:
                break
            lat, lng = lat0 + (index // cols) * GRID_SIZE, lng0 + (index % cols) * GRID_SIZE
            grids.append(
                core_services.orgunit_create(
                    actor=None,
                    code=f"{community.code}{g + 1:03d}",
                    level=OrgLevel.GRID,
                    name=f"第{g + 1}网格",
                    parent=community,
                    boundary=square(lat, lng, GRID_SIZE),
                    centroid=(lat + GRID_SIZE / 2, lng + GRID_SIZE / 2),
                )
            )
    return district, communities, grids


def _inside(grid: OrgUnit, rng: random.Random) -> tuple[float, float]:
    half = GRID_SIZE / 2 * 0.9
    return (
        grid.centroid_lat + rng.uniform(-half, half),
        grid.centroid_lng + rng.uniform(-half, half),
    )


def _people(n: int, grids: list[OrgUnit], tag: str) -> list[tuple[int, OrgUnit]]:
    """``n`` residents, ``n / len(grids)`` per grid (registration is ``person_register``'s benchmark)."""
    per_grid = max(1, n // len(grids))
    rows = []
    for i in range(n):
        grid = grids[min(i // per_grid, len(grids) - 1)]
        rows.append(
            Person(
                id_number=f"CB{i:09d}",
                id_number_index=f"cmdbench-{tag}-{i}",
                id_number_masked="CB*******",
                name=f"指挥{i}",
                grid=grid,
                org_code=grid.code,
            )
        )
    Person.objects.bulk_create(rows, batch_size=CHUNK)
    by_code = {g.code: g for g in grids}
    return [
        (pk, by_code[code])
        for pk, code in Person.objects.filter(org_code__startswith=BENCH_DISTRICT)
        .order_by("pk")
        .values_list("pk", "org_code")
    ]


def _venues(n: int, grids: list[OrgUnit], rng: random.Random) -> list[Venue]:
    types = [VenueType.RESTAURANT, VenueType.SUPERMARKET, VenueType.SHOP, VenueType.OFFICE, VenueType.SCHOOL]
    rows = []
    for i in range(n):
        grid = grids[i % len(grids)]
        lat, lng = _inside(grid, rng)
        rows.append(
            Venue(
                name=f"基准场所{i}",
                type=types[i % len(types)],
                address=f"基准路{i}号",
                lat=lat,
                lng=lng,
                grid=grid,
                org_code=grid.code,
                capacity=rng.choice([None, 50, 200, 500]),
                is_key_place=i % 10 == 0,
                status=VenueStatus.APPROVED,
                code_version=1,
            )
        )
    Venue.objects.bulk_create(rows, batch_size=CHUNK)
    venues = list(Venue.objects.filter(org_code__startswith=BENCH_DISTRICT))
    # Registered long ago, so that yesterday's check-ins may be imported at them.
    Venue.objects.filter(pk__in=[v.pk for v in venues]).update(
        created_at=timezone.now() - dt.timedelta(days=90)
    )
    return venues


def _checkins(people: list[tuple[int, OrgUnit]], venues: list[Venue], now: dt.datetime, rng: random.Random):
    """:data:`CHECKINS_PER_DAY` check-ins per resident a day over the last two days (times relative to now,
    so the run does not depend on the time of day), at venues of their grid, stays of 30-90 minutes."""
    by_grid: dict[str, list[int]] = {}
    for v in venues:
        by_grid.setdefault(v.org_code, []).append(v.pk)
    span = 2 * 86_400.0 - 60
    rows = []
    for pk, grid in people:
        options = by_grid.get(grid.code) or [venues[pk % len(venues)].pk]
        for _ in range(2 * CHECKINS_PER_DAY):
            at = now - dt.timedelta(seconds=60 + rng.uniform(0, span))
            rows.append(
                checkin_services.CheckinImportRow(
                    client_id=uuid.uuid4(),
                    person_id=pk,
                    venue_id=rng.choice(options),
                    scanned_at=at,
                    leave_at=at + dt.timedelta(minutes=rng.choice([30, 60, 90])),
                )
            )
    rows.sort(key=lambda row: row.scanned_at)  # stored as they happen: the table is in time order, as live
    result = checkin_services.checkin_bulk_import(actor=None, rows=rows, batch_size=20_000)
    if result.created != len(rows):
        raise RuntimeError(f"imported {result.created} of {len(rows)} check-ins: {result.errors[:3]}")


def _outbreak(people: list[tuple[int, OrgUnit]], now: dt.datetime, rng: random.Random) -> None:
    """Open cases, their contacts, quarantine placements in sites with rooms, grid tasks."""
    n = len(people)
    chosen = rng.sample(people, max(10, n // 500))
    cases = Case.objects.bulk_create(
        [
            Case(
                person_id=pk,
                org_code=grid.code,
                classification=rng.choice(INFECTED),
                outcome=Outcome.UNDER_TREATMENT,
                first_positive_at=now - dt.timedelta(days=rng.uniform(0, 14)),
            )
            for pk, grid in chosen
        ],
        batch_size=CHUNK,
    )
    cases = list(Case.objects.filter(org_code__startswith=BENCH_DISTRICT).order_by("pk"))
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(created_at=now - dt.timedelta(hours=12))
    contacts = []
    for case in cases:
        for pk, grid in rng.sample(people, CONTACTS_PER_CASE):
            last = now - dt.timedelta(days=rng.uniform(0, 10))
            contacts.append(
                Contact(
                    case=case,
                    person_id=pk,
                    org_code=grid.code,
                    tier="close",
                    rule="venue",
                    first_exposure_at=last - dt.timedelta(minutes=30),
                    last_exposure_at=last,
                    status=rng.choice(ACTIVE_CONTACT_STATUSES),
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=CHUNK, ignore_conflicts=True)

    grid_units = sorted({grid.pk: grid for _pk, grid in people}.values(), key=lambda g: g.code)
    for s in range(SITES):
        rooms = [(f"{r // 20 + 1}{r % 20 + 1:02d}", r // 20 + 1, 1) for r in range(ROOMS_PER_SITE)]
        quarantine_services.site_create(
            actor=None, name=f"基准隔离点{s}", grid=grid_units[s * len(grid_units) // SITES], rooms=rooms
        )
    sites = list(Site.objects.filter(org_code__startswith=BENCH_DISTRICT))
    free = list(Room.objects.filter(site__in=sites).order_by("pk").values_list("pk", "site_id", "org_code"))
    placed = {c.person_id for c in contacts[: int(len(contacts) * 0.7)]}
    grid_of = dict(people)
    placements = []
    for (room_id, site_id, site_code), pk in zip(free, sorted(placed), strict=False):
        start = now - dt.timedelta(days=rng.uniform(0, 10))
        placements.append(
            Placement(
                person_id=pk,
                org_code=grid_of[pk].code,
                site_id=site_id,
                room_id=room_id,
                site_org_code=site_code,
                case_id=cases[0].pk,
                plan={},
                start=start,
                end=start + dt.timedelta(days=14),
            )
        )
    Placement.objects.bulk_create(placements, batch_size=CHUNK)
    Room.objects.filter(pk__in=[p.room_id for p in placements]).update(status=RoomStatus.OCCUPIED)

    tasks = []
    for i in range(n // 20):
        pk, grid = people[rng.randrange(n)]
        overdue = i % 10 == 0
        tasks.append(
            Task(
                type=TaskType.CONTACT_CONTROL,
                title="管控",
                subject_person_id=pk,
                grid=grid,
                org_code=grid.code,
                due_at=now + dt.timedelta(hours=-3 if overdue else 20),
                state=rng.choice(OPEN_STATES),
                dedupe_key=f"cmdbench:open:{i}",
            )
        )
        tasks.append(
            Task(
                type=TaskType.CONTACT_CONTROL,
                title="管控",
                subject_person_id=pk,
                grid=grid,
                org_code=grid.code,
                due_at=now - dt.timedelta(hours=5),
                state=TaskState.DONE,
                finished_at=now - dt.timedelta(hours=rng.uniform(1, 40)),
                dedupe_key=f"cmdbench:done:{i}",
            )
        )
    Task.objects.bulk_create(tasks, batch_size=CHUNK)


def _testing(people: list[tuple[int, OrgUnit]], grids: list[OrgUnit], district: OrgUnit, now, rng) -> None:
    """Sampling points, today's district-wide round (60 % swabbed, half the tubes resulted) and yesterday's
    swabs (30 %, all resulted)."""
    points = SamplingPoint.objects.bulk_create(
        [
            SamplingPoint(
                name=f"基准采样点{i}",
                lat=grids[i * 4].centroid_lat,
                lng=grids[i * 4].centroid_lng,
                grid=grids[i * 4],
                org_code=grids[i * 4].code,
            )
            for i in range(max(1, len(grids) // 4))
        ]
    )
    points = list(SamplingPoint.objects.filter(org_code__startswith=BENCH_DISTRICT))
    TestingRound.objects.create(
        name="全区核酸", area=district, org_code=district.code, day=timezone.localdate(now)
    )
    today = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time.min))
    for label, share, start, resulted_share in (
        ("t", 0.6, today, 0.5),
        ("y", 0.3, today - dt.timedelta(days=1), 1.0),
    ):
        span = max(60.0, (min(now, start + dt.timedelta(days=1)) - start).total_seconds() - 60)
        swabbed = rng.sample(people, int(len(people) * share))
        tubes = []
        for t in range(0, len(swabbed), 10):
            opened = start + dt.timedelta(seconds=rng.uniform(0, span))
            resulted = t / len(swabbed) < resulted_share
            result_at = min(now, opened + dt.timedelta(hours=rng.uniform(3, 20)))
            tubes.append(
                Tube(
                    barcode=f"CB{label}{t // 10:07d}",
                    pool_size=10,
                    status=TubeStatus.RESULTED if resulted else TubeStatus.SEALED,
                    sampling_point=points[(t // 10) % len(points)],
                    org_code=points[(t // 10) % len(points)].org_code,
                    result=(TubeResult.POSITIVE if rng.random() < 0.002 else TubeResult.NEGATIVE)
                    if resulted
                    else "",
                    resulted_at=result_at if resulted else None,
                )
            )
        Tube.objects.bulk_create(tubes, batch_size=CHUNK)
        tube_ids = dict(Tube.objects.filter(barcode__startswith=f"CB{label}").values_list("barcode", "pk"))
        Tube.objects.filter(pk__in=list(tube_ids.values())).update(created_at=start)
        specimens = []
        for i, (pk, grid) in enumerate(swabbed):
            tube_pk = tube_ids[f"CB{label}{i // 10:07d}"]
            specimens.append(
                Specimen(
                    tube_id=tube_pk,
                    person_id=pk,
                    org_code=grid.code,
                    client_id=uuid.uuid4(),
                    sampled_at=min(now, start + dt.timedelta(seconds=rng.uniform(0, span))),
                )
            )
        Specimen.objects.bulk_create(specimens, batch_size=CHUNK)


def _command(grids: list[OrgUnit], now: dt.datetime, rng: random.Random) -> None:
    alarms = []
    for i in range(1_300):
        grid = grids[rng.randrange(len(grids))]
        closed = i >= 300
        raised = now - dt.timedelta(hours=rng.uniform(0, 48))
        alarms.append(
            Alarm(
                kind="case.confirmed",
                severity=rng.choice(Severity.values),
                source_key=f"cmdbench:{i}",
                org_code=grid.code,
                lat=grid.centroid_lat,
                lng=grid.centroid_lng,
                status=AlarmStatus.CLOSED if closed else AlarmStatus.OPEN,
                raised_at=raised,
                closed_at=raised + dt.timedelta(hours=1) if closed else None,
            )
        )
    Alarm.objects.bulk_create(alarms, batch_size=CHUNK)
    Camera.objects.bulk_create(
        [
            Camera(
                name=f"基准摄像头{i}",
                lat=g.centroid_lat,
                lng=g.centroid_lng,
                stream_url="https://video.example/snap.jpg",
                grid=g,
                org_code=g.code,
            )
            for i, g in enumerate(grids)
        ]
    )


def build(n: int) -> dict[str, Any]:
    """The bench district with ``n`` residents (see the module's docstring). Returns its accounts and sizes."""
    rng = random.Random(7)
    now = timezone.now()
    tag = uuid.uuid4().hex[:8]
    district, communities, grids = _units(max(4, n // PER_GRID))
    people = _people(n, grids, tag)
    venues = _venues(max(10, n // 100), grids, rng)
    _checkins(people, venues, now, rng)
    _outbreak(people, now, rng)
    _testing(people, grids, district, now, rng)
    _command(grids, now, rng)
    if connection.vendor == "postgresql":
        # Rows written in this transaction are invisible to autovacuum; without statistics the planner would
        # plan for empty tables (in a live district autovacuum keeps them).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    commander = User.objects.create(
        username=f"bench-cmd-{tag}", role=Role.COMMANDER, org_unit=district, is_active=True
    )
    officer = User.objects.create(
        username=f"bench-co-{tag}", role=Role.COMMUNITY_OFFICER, org_unit=communities[0], is_active=True
    )
    return {
        "commander": commander,
        "officer": officer,
        "sizes": {
            "residents": n,
            "grids": len(grids),
            "venues": len(venues),
            "checkins": CheckIn.objects.filter(org_code__startswith=BENCH_DISTRICT).count(),
            "specimens": Specimen.objects.filter(org_code__startswith=BENCH_DISTRICT).count(),
            "open_cases": Case.objects.filter(org_code__startswith=BENCH_DISTRICT).count(),
            "in_quarantine": Placement.objects.filter(
                org_code__startswith=BENCH_DISTRICT, status__in=OPEN_STATUSES
            ).count(),
            "open_tasks": Task.objects.filter(
                org_code__startswith=BENCH_DISTRICT, state__in=OPEN_STATES
            ).count(),
        },
    }


# --- the naive baseline ------------------------------------------------------------------------------------


def _naive_map(actor: User, now: dt.datetime | None = None) -> dict[str, Any]:
    """The map's numbers read one object at a time: per grid a count per measure, per venue its present
    count (``checkins.selectors.venue_present_count``), per sampling point and per site their counts."""
    from epigrid.core.selectors import orgunit_list

    now = now or timezone.now()
    today = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time.min))
    exposed_since = now - dt.timedelta(days=14)  # the default disease's longest incubation
    grids = []
    for g in orgunit_list(actor=actor, level=OrgLevel.GRID):
        residents = Person.objects.filter(org_code=g.code).count()
        sampled = (
            Specimen.objects.filter(org_code=g.code, sampled_at__gte=today)
            .values("person")
            .distinct()
            .count()
        )
        grids.append(
            {
                "code": g.code,
                "boundary": g.boundary,
                "cases": Case.objects.filter(
                    org_code=g.code,
                    merged_into__isnull=True,
                    classification__in=INFECTED,
                    outcome=Outcome.UNDER_TREATMENT,
                ).count(),
                "contacts": Contact.objects.filter(
                    org_code=g.code,
                    status__in=ACTIVE_CONTACT_STATUSES,
                    linked_case__isnull=True,
                    last_exposure_at__gte=exposed_since,
                )
                .values("person")
                .distinct()
                .count(),
                "quarantined": Placement.objects.filter(org_code=g.code, status__in=OPEN_STATUSES).count(),
                "untested": residents - sampled,
                "tasks_open": Task.objects.filter(org_code=g.code, state__in=OPEN_STATES).count(),
                "tasks_overdue": Task.objects.filter(
                    org_code=g.code, state__in=OPEN_STATES, due_at__lt=now
                ).count(),
            }
        )
    venues = [
        {"id": v.pk, "present": venue_present_count(venue=v, at=now)}
        for v in Venue.objects.filter(org_code__startswith=actor.org_code, status=VenueStatus.APPROVED)
    ]
    points = [
        {
            "id": p.pk,
            "queue": Specimen.objects.filter(
                tube__sampling_point=p, sampled_at__gte=now - dt.timedelta(hours=1), sampled_at__lte=now
            ).count(),
        }
        for p in SamplingPoint.objects.filter(org_code__startswith=actor.org_code)
    ]
    sites = [
        {"id": s.pk, "free": Room.objects.filter(site=s, status=RoomStatus.FREE).count()}
        for s in Site.objects.filter(org_code__startswith=actor.org_code)
    ]
    cameras = list(Camera.objects.filter(org_code__startswith=actor.org_code).values())
    alarms = list(Alarm.objects.filter(org_code__startswith=actor.org_code, status=AlarmStatus.OPEN).values())
    return {
        "grids": grids,
        "venues": venues,
        "points": points,
        "sites": sites,
        "cameras": cameras,
        "alarms": alarms,
    }


def _disagreements(grouped: dict[str, Any], naive: dict[str, Any]) -> int:
    """How many numbers the grouped reads and the one-by-one reads do not agree on (0 expected)."""
    wrong = 0
    by_code = {f["properties"]["code"]: f["properties"] for f in grouped["grids"]["features"]}
    for row in naive["grids"]:
        props = by_code.get(row["code"], {})
        wrong += sum(1 for key in MEASURES if props.get(key) != row[key])
    venues = {v["id"]: v["present"] for v in grouped["venues"]}
    wrong += sum(1 for v in naive["venues"] if venues.get(v["id"]) != v["present"])
    points = {p["id"]: p["queue"] for p in grouped["sampling_points"]}
    wrong += sum(1 for p in naive["points"] if points.get(p["id"]) != p["queue"])
    sites = {q["id"]: q["free"] for q in grouped["quarantine_sites"]}
    wrong += sum(1 for q in naive["sites"] if sites.get(q["id"]) != q["free"])
    return wrong


# --- measuring ---------------------------------------------------------------------------------------------


def _timed(call: Callable[[], Any], runs: int) -> list[float]:
    call()  # warm-up: first-call costs (imports, caches) are not the steady state
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _host() -> str:
    allowed = [h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    return allowed[0] if allowed else "localhost"


def _getter(client: Client, url: str, sizes: list[int]) -> Callable[[], None]:
    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:200]!r}")
        sizes.append(len(response.content))

    return get


def map_and_situation(*, scale: int | None) -> list[Metric]:
    """Part 1: map (all layers) and situation server time at district scale vs a query-per-object baseline."""
    from epigrid.simulation.bench import _metric, _rolled_back

    n = scale or 200_000
    runs = RUNS if n >= 10_000 else 3
    out: list[Metric] = []
    with _rolled_back():
        started = time.perf_counter()
        world = build(n)
        context = {
            **world["sizes"],
            "database": connection.vendor,
            "setup_s": round(time.perf_counter() - started, 1),
        }
        commander, officer = world["commander"], world["officer"]

        selector = _timed(lambda: map_layers(actor=commander), runs)
        at = timezone.now()
        wrong = _disagreements(map_layers(actor=commander, now=at), _naive_map(commander, now=at))
        naive = _timed(lambda: _naive_map(commander), BASELINE_RUNS)
        client = Client(HTTP_HOST=_host())
        client.force_login(commander)
        sizes: list[int] = []
        http = _timed(_getter(client, "/api/v1/command/map", sizes), runs)
        full_bytes = sizes[-1]
        refresh = _timed(_getter(client, "/api/v1/command/map?boundaries=false", sizes), runs)
        refresh_bytes = sizes[-1]
        officer_client = Client(HTTP_HOST=_host())
        officer_client.force_login(officer)
        community = _timed(_getter(officer_client, "/api/v1/command/map", []), runs)
        grids_only = _timed(lambda: grid_layer(actor=commander), runs)
        venues_only = _timed(lambda: venue_layer(actor=commander), runs)
        panel = _timed(lambda: situation(actor=commander), runs)
        panel_http = _timed(_getter(client, "/api/v1/command/situation", []), runs)

        def cold() -> None:
            ttlcache.clear_all()  # yesterday's column is read again, as after its cache expires
            situation(actor=commander)

        panel_cold = _timed(cold, max(3, runs // 4))

    base = statistics.median(naive)
    timing = {"runs": runs, **context}
    out += [
        _metric("map_all_p50", statistics.median(selector), "ms", baseline=base, **timing),
        _metric("map_all_p90", _pct(selector, 0.9), "ms", baseline=_pct(naive, 0.9), **timing),
        _metric("map_disagreements", wrong, "numbers", **context),
        _metric("map_http_p50", statistics.median(http), "ms", bytes=full_bytes, target_ms=300, **timing),
        _metric("map_http_p90", _pct(http, 0.9), "ms", **timing),
        _metric("map_refresh_http_p50", statistics.median(refresh), "ms", bytes=refresh_bytes, **timing),
        _metric("map_community_http_p50", statistics.median(community), "ms", **timing),
        _metric("map_grids_p50", statistics.median(grids_only), "ms", **timing),
        _metric("map_venues_p50", statistics.median(venues_only), "ms", **timing),
        _metric("situation_p50", statistics.median(panel), "ms", **timing),
        _metric("situation_p90", _pct(panel, 0.9), "ms", **timing),
        _metric("situation_http_p50", statistics.median(panel_http), "ms", **timing),
        _metric("situation_cold_p50", statistics.median(panel_cold), "ms", **timing),
    ]
    return out


def alarm_latency(*, scale: int | None) -> list[Metric]:
    """Part 2: event-to-browser latency of an alarm (``command.bench_latency``), in Debian's chromium."""
    from epigrid.command.bench_latency import bench_alarm_latency

    return bench_alarm_latency(scale=scale)


# Each part runs in order and returns its metrics.
PARTS: list[Callable[..., list[Metric]]] = [map_and_situation, alarm_latency]


def bench_command(*, scale: int | None) -> list[Metric]:
    """Command center: map data (all layers) and situation server time p50/p90 at district scale (target map p50 < 300 ms) vs a query-per-object baseline (N=200000 residents); alarm event-to-browser latency in chromium (target p50 < 1 s) vs WSGI short polls."""
    return [metric for part in PARTS for metric in part(scale=scale)]
