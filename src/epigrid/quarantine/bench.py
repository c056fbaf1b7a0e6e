"""``epigrid bench quarantine``: placing a contact list at once, and the line lists at district scale.

Everything runs inside one transaction that is rolled back at the end, in a jurisdiction of its own (district
:data:`BENCH_DISTRICT`, one street, one community, four grids), so the bench leaves no rows, audit entries or
events behind and can run against a loaded demo database. Handlers of the events the placement publishes
(health codes, grid tasks) would run after commit; the bench runs them itself, inside the transaction, and
times them apart.

Metrics (N = ``--scale``, default 5,000):

- ``place_many_s``: ``services.placement_create_many`` of N close contacts in households of 1-4 (30/30/25/15 %)
  into 10 centralised sites with enough rooms (one room per household of its size, plus spare), one call as the
  epidemiologist's dispatch makes it. Baseline in the same run: ``services.placement_create`` per person on a
  sample of ``min(200, N)`` further people, extrapolated to N; ``ratio`` = batch / one-by-one.
- ``handlers_s``: the after-commit reactions to that batch's events (health codes of N people, grid tasks).
- ``background_centralised_s`` / ``background_home_s``: filling the district to 4N open placements (60 % close
  contacts in rooms, 40 % secondary contacts at home) through the same service, for information.
- ``line_list_<name>_p50`` / ``_p99``: each line list as its page reads it (the count and the first 50 rows with
  person, site and room) with 4N people in quarantine, whose monitoring columns are spread so that every list
  has members (1 % symptomatic, 3 % silent > 24 h, 3 % with a test overdue, 5 % due for release, plus 0.4N
  released); ``line_list_counts`` (the seven counts of the tabs and dashboard); ``line_list_page_<name>`` the
  whole page through Django's test client (in process: template, counts, query) for the quarantine manager.
  On PostgreSQL the tables are analysed first (in a live district autovacuum would have done it).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from epigrid.core import events
from epigrid.core import services as core_services
from epigrid.core.identity import compose_resident_id
from epigrid.core.models import Event, Household, OrgUnit, Person, User
from epigrid.core.roles import Role
from epigrid.quarantine import selectors, services
from epigrid.quarantine.models import Placement, PlacementStatus
from epigrid.simulation import names
from epigrid.simulation.benchkit import bench_jurisdiction

BENCH_DISTRICT = "370693"
GRIDS = 4
SITES = 10
SAMPLE = 200
SIZES = (1, 2, 3, 4)
SIZE_WEIGHTS = (0.30, 0.30, 0.25, 0.15)
PAGE = 50
REPEATS = 30
PAGE_REPEATS = 10

Metric = dict[str, Any]


class _Rollback(Exception):
    pass


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index] * 1000


def _timed(func: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = func()
    return value, time.perf_counter() - started


# --- setup ----------------------------------------------------------------------------------------------


def _households(count: int, grids: list[OrgUnit], rng: random.Random, tag: str) -> list[list[int]]:
    """``count`` people in households of 1-4, registered through the person service; returns person ids per
    household."""
    sizes: list[int] = []
    while sum(sizes) < count:
        sizes.append(rng.choices(SIZES, SIZE_WEIGHTS)[0])
    sizes[-1] -= sum(sizes) - count
    homes = Household.objects.bulk_create(
        [
            Household(grid=grids[i % GRIDS], org_code=grids[i % GRIDS].code, address=f"基准路{tag}{i}号")
            for i in range(len(sizes))
        ],
        batch_size=2000,
    )
    rows, offset = [], _households.offset  # type: ignore[attr-defined]
    for home, size in zip(homes, sizes, strict=True):
        for _ in range(size):
            birth = dt.date(1983, 1, 1) + dt.timedelta(days=offset % 13_000)
            rows.append(
                core_services.PersonInput(
                    id_number=compose_resident_id(names.BENCH_ADDRESS_CODE, birth, 700 + offset // 13_000),
                    name=f"隔离{offset}",
                    grid_id=home.grid_id,
                    household_id=home.pk,
                )
            )
            offset += 1
    _households.offset = offset  # type: ignore[attr-defined]
    result = core_services.person_bulk_register(actor=None, rows=rows)
    if result.created != count:
        raise RuntimeError(f"registered {result.created} of {count} bench people: {result.errors[:3]}")
    # The bulk path does not keep the order of the rows: group the new people by their household.
    by_home: dict[int, list[int]] = {}
    for pk, home_id in Person.objects.filter(
        household_id__gte=homes[0].pk, household_id__lte=homes[-1].pk
    ).values_list("pk", "household_id"):
        by_home.setdefault(home_id, []).append(pk)
    return [sorted(by_home[home.pk]) for home in homes if home.pk in by_home]


_households.offset = 0  # type: ignore[attr-defined]


def _sites(grids: list[OrgUnit], households: list[list[int]], *, spare: int, tag: str) -> None:
    """Centralised sites with a room of the right size for every household, and ``spare`` one-bed rooms."""
    beds = [len(members) for members in households] + [1] * spare
    per_site: list[list[tuple[str, int, int]]] = [[] for _ in range(SITES)]
    for i, size in enumerate(beds):
        site_rooms = per_site[i % SITES]
        number = len(site_rooms)
        site_rooms.append((f"{number // 40 + 1}{number % 40 + 1:02d}", number // 40 + 1, size))
    for s, rooms in enumerate(per_site):
        services.site_create(actor=None, name=f"基准隔离点{tag}-{s}", grid=grids[s % GRIDS], rooms=rooms)


def _requests(households: list[list[int]], tier: str) -> list[services.PlacementRequest]:
    return [services.PlacementRequest(pk, tier) for members in households for pk in members]


def _dispatch_since(event_id: int) -> float:
    """Run the handlers of the events published since ``event_id`` (after commit, in production)."""
    started = time.perf_counter()
    for event in Event.objects.filter(pk__gt=event_id).order_by("pk"):
        for handler in events.handlers_for(event.type):
            with transaction.atomic():
                handler(event)
    return time.perf_counter() - started


def _spread_monitoring(n_open: int, rng: random.Random) -> None:
    """Give the open placements the spread of a real day: reports within the last 12 h for most, and the
    shares of the docstring on each list (bench setup: plain UPDATEs)."""
    now = timezone.now()
    ids = list(
        Placement.objects.filter(
            org_code__startswith=BENCH_DISTRICT, status=PlacementStatus.ACTIVE
        ).values_list("pk", flat=True)
    )
    rng.shuffle(ids)
    share = {"symptomatic": 0.01, "silent": 0.03, "overdue": 0.03, "release": 0.05}
    cut, groups = 0, {}
    for name, fraction in share.items():
        size = max(1, int(n_open * fraction))
        groups[name], cut = ids[cut : cut + size], cut + size
    reporting = ids[cut:]
    for start in range(0, len(reporting), 5000):
        chunk = reporting[start : start + 5000]
        Placement.objects.filter(pk__in=chunk).update(
            last_report_at=now - dt.timedelta(hours=rng.uniform(0.5, 12)), last_temperature="36.5"
        )
    Placement.objects.filter(pk__in=groups["symptomatic"]).update(
        last_report_at=now - dt.timedelta(hours=2), last_temperature="38.2", symptomatic_since=now
    )
    Placement.objects.filter(pk__in=groups["silent"]).update(last_report_at=now - dt.timedelta(hours=30))
    Placement.objects.filter(pk__in=groups["overdue"]).update(
        next_test_due=timezone.localdate() - dt.timedelta(days=2)
    )
    Placement.objects.filter(pk__in=groups["release"]).update(end=now - dt.timedelta(hours=3))


def _release_some(count: int) -> None:
    now = timezone.now()
    ids = list(
        Placement.objects.filter(org_code__startswith=BENCH_DISTRICT, status=PlacementStatus.ACTIVE)
        .order_by("-pk")
        .values_list("pk", flat=True)[:count]
    )
    Placement.objects.filter(pk__in=ids).update(
        status=PlacementStatus.RELEASED, released_at=now - dt.timedelta(hours=1), outcome="released"
    )


# --- measurements ----------------------------------------------------------------------------------------


def _line_lists(manager: User, context: dict[str, Any], *, small: bool) -> list[Metric]:
    repeats, page_repeats = (3, 2) if small else (REPEATS, PAGE_REPEATS)
    out: list[Metric] = []
    for name in selectors.LINE_LISTS:
        samples = []
        for _ in range(repeats):

            def page(list_name: str = name) -> int:
                qs = selectors.line_list(actor=manager, name=list_name)
                count = qs.count()
                rows = list(qs[:PAGE])
                for p in rows:  # what the template touches
                    _ = (p.person.name_masked, p.site.name, p.room.number if p.room else "")
                return count

            count, elapsed = _timed(page)
            samples.append(elapsed)
        out.append(_metric(f"line_list_{name}_p50", _ms(samples, 0.5), "ms", rows=count, **context))
        out.append(_metric(f"line_list_{name}_p99", _ms(samples, 0.99), "ms", rows=count, **context))
    samples = [_timed(lambda: selectors.line_list_counts(actor=manager))[1] for _ in range(repeats)]
    out.append(_metric("line_list_counts_p50", _ms(samples, 0.5), "ms", **context))
    out.append(_metric("line_list_counts_p99", _ms(samples, 0.99), "ms", **context))
    client = Client()
    client.force_login(manager)
    url = reverse("quarantine:line_lists")
    for name in selectors.LINE_LISTS:
        samples = []
        for _ in range(page_repeats):
            response, elapsed = _timed(lambda list_name=name: client.get(url, {"list": list_name}))
            if response.status_code != 200:
                raise RuntimeError(f"line list page {name}: HTTP {response.status_code}")
            samples.append(elapsed)
        out.append(_metric(f"line_list_page_{name}_p50", _ms(samples, 0.5), "ms", **context))
        out.append(_metric(f"line_list_page_{name}_p99", _ms(samples, 0.99), "ms", **context))
    return out


def _metric(metric: str, value: float, unit: str, *, baseline: float | None = None, **extra: Any) -> Metric:
    out: Metric = {"metric": metric, "value": round(value, 3), "unit": unit}
    if baseline is not None:
        out["baseline"] = round(baseline, 3)
        out["ratio"] = round(value / baseline, 4) if baseline else None
    out.update(extra)
    return out


def _run(n: int) -> list[Metric]:
    rng = random.Random(6)
    _households.offset = 0  # type: ignore[attr-defined]
    district, grids = bench_jurisdiction(BENCH_DISTRICT, "隔离基准区", lat=31.0, lng=117.0, grids=GRIDS)
    manager = User.objects.create(
        username=f"bench-qm-{BENCH_DISTRICT}", role=Role.QUARANTINE_MANAGER, org_unit=district, is_active=True
    )
    context = {"database": connection.vendor}
    sample = min(SAMPLE, n)

    # (a) N close contacts at once, households together; then the one-by-one baseline on a sample.
    batch = _households(n, grids, rng, "a")
    singles = _households(sample, grids, rng, "b")
    _sites(grids, batch, spare=sum(len(h) for h in singles), tag="a")
    first_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    result, place_s = _timed(
        lambda: services.placement_create_many(actor=manager, requests=_requests(batch, "close"))
    )
    handlers_s = _dispatch_since(first_event)
    per_person = []
    for pk in (pk for members in singles for pk in members):
        person = Person.objects.get(pk=pk)
        _placement, elapsed = _timed(lambda p=person: services.placement_create(actor=manager, person=p))
        per_person.append(elapsed)
    one_by_one_s = statistics.fmean(per_person) * n
    placed = len(result.placed)

    # (b) fill the district to 4N open placements and give them a day's spread, then read the lists.
    open_target = 4 * n
    rest = max(0, open_target - placed - len(per_person))
    released = int(0.1 * open_target)
    central = _households(int((rest + released) * 0.6), grids, rng, "c")
    home = _households(rest + released - sum(len(h) for h in central), grids, rng, "d")
    _sites(grids, central, spare=0, tag="c")
    done_c, central_s = _timed(
        lambda: services.placement_create_many(actor=manager, requests=_requests(central, "close"))
    )
    done_h, home_s = _timed(
        lambda: services.placement_create_many(actor=manager, requests=_requests(home, "secondary"))
    )
    _release_some(released)
    open_now = Placement.objects.filter(
        org_code__startswith=BENCH_DISTRICT, status__in=["active", "home"]
    ).count()
    _spread_monitoring(open_now, rng)
    if connection.vendor == "postgresql":
        # Autovacuum would have analysed these tables in a live district; rows of this still-open transaction
        # are invisible to it, so the planner would plan for nearly empty tables. ANALYZE in the transaction
        # samples them (SQLite keeps no statistics unless asked, as in production).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE quarantine_placement, quarantine_site, quarantine_room, core_person")

    metrics = [
        _metric("place_many_s", place_s, "s", baseline=one_by_one_s, n=n, target_s=10, **context),
        _metric("place_many_per_s", placed / place_s, "people/s", baseline=n / one_by_one_s, n=n, **context),
        _metric("placed", placed, "people", no_room=len(result.no_room), already=len(result.already), n=n),
        _metric("place_one_p50", _ms(per_person, 0.5), "ms", n=len(per_person), **context),
        _metric("place_one_p99", _ms(per_person, 0.99), "ms", n=len(per_person), **context),
        _metric("handlers_s", handlers_s, "s", n=n, **context),
        _metric("background_centralised_s", central_s, "s", n=len(done_c.placed), **context),
        _metric("background_home_s", home_s, "s", n=len(done_h.placed), **context),
        _metric("open_placements", open_now, "people", released=released, **context),
    ]
    context = {"n": open_now, "target_p50_ms": 200, **context}
    return metrics + _line_lists(manager, context, small=n < 1000)


def bench_quarantine(*, scale: int | None) -> list[Metric]:
    """Placement of N contacts at once vs one by one (target < 10 s at N=5000); line lists at 4N people in
    quarantine, p50/p99 (target p50 < 200 ms). Rolled back: leaves nothing behind."""
    n = scale or 5000
    metrics: list[Metric] = []
    try:
        with transaction.atomic():
            metrics = _run(n)
            raise _Rollback
    except _Rollback:
        pass
    finally:
        from epigrid.core import geo

        geo.invalidate()  # the rolled-back grids may share pks with grids created later
    return metrics
