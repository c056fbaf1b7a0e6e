"""``epigrid bench waste``: the alarm evaluation over a district's custody records, and the open-bags page.

Setup (committed: the server process must see it) under district :data:`BENCH_DISTRICT`: one street, one
community, 10 grids; 20 institutions with temporary storage (collection every 24 h), 200 producers using
them, a disposal company with its plant; then N custody records (default N = 1,000,000) bulk-loaded
(``benchkit.bulk_load``): N/10 open bags (30 % labelled, 50 % stored, 15 % collected, 5 % at the plant;
their records about 0.195 N) and the rest complete bags of five steps over the past 90 days. Realistic
faults: weights drift within ±2 % from step to step, 0.3 % of bags drift beyond the 5 % tolerance at one
step, 0.1 % skip temporary storage (missing step), 0.2 % have a collection timed before their storage (out
of order), 1 % of the stored bags have waited 30-60 h, 10 producers have left bags labelled for 25-40 h,
and 2 institutions have not been collected from for days.

Metrics:
- ``evaluate_first``: the first full ``waste_alarms_evaluate``, which opens every alarm (one INSERT),
  publishes ``waste.alarm`` for the alarm-level ones and notifies the officer; the command center raises
  its alarms from those events after the commit, inside the measured call.
- ``evaluate_full``: a full evaluation once the alarms exist (what the five-minute job costs each time),
  median of 3. Target < 10 s at N = 1,000,000. Baseline: the same rules over the same rows evaluated per bag
  in Python (every record read in bag order, each bag's steps compared in turn). ``disagreements``: bag
  findings on which the two differ (0 expected).
- ``evaluate_handover``: the real-time handler's re-evaluation of the 20 bags of one handover, median.
- ``open_bags_http_p50`` / ``_p90``: ``GET /waste/open/`` through ``epigrid serve`` (child process), logged in
  as a district waste officer, 30 requests after 3 warm-ups, at N/10 open bags. Target p50 < 300 ms.
  Baseline: ``GET /api/v1/me`` (authenticated, one small query) the same way.

Everything the bench made is deleted afterwards (the audit log keeps its entries: it is append-only).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import statistics
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from epigrid.core.models import Event, Notice, OrgUnit, User
from epigrid.core.roles import Role
from epigrid.medwaste import rules
from epigrid.medwaste.models import (
    STAGE_ORDER,
    AlarmKind,
    Anomaly,
    Bag,
    CustodyRecord,
    Party,
    PartyKind,
    Stage,
    WasteAlarm,
    WasteCategory,
)
from epigrid.medwaste.services.alarms import waste_alarms_evaluate
from epigrid.simulation.benchkit import (
    bench_jurisdiction,
    bulk_load,
    delete_org_units,
    free_port,
    start_server,
)

BENCH_DISTRICT = "370686"
RECORDS = 1_000_000
INSTITUTIONS = 20
PRODUCERS = 200
IDLE_PRODUCERS = 10
UNSERVED_INSTITUTIONS = 2
REQUESTS = 30
H = dt.timedelta(hours=1)

Metric = dict[str, Any]


def _metric(metric: str, value: float, unit: str, *, baseline: float | None = None, **extra: Any) -> Metric:
    from epigrid.simulation.bench import _metric as metric_row

    return metric_row(metric, value, unit, baseline=baseline, **extra)


# --- setup -----------------------------------------------------------------------------------------------


def _parties(grids: list[OrgUnit]) -> tuple[list[Party], list[Party], Party, Party]:
    def make(kind: str, n: int, grid: OrgUnit, **extra: Any) -> Party:
        lat = grid.centroid_lat + random.uniform(-0.008, 0.008)
        lng = grid.centroid_lng + random.uniform(-0.008, 0.008)
        return Party(
            name=f"基准{kind}{n}", kind=kind, area=grid, org_code=grid.code, lat=lat, lng=lng, **extra
        )

    institutions = Party.objects.bulk_create(
        [
            make(PartyKind.INSTITUTION, i, grids[i % len(grids)], collection_interval_hours=24)
            for i in range(INSTITUTIONS)
        ]
    )
    producers = Party.objects.bulk_create(
        [
            make(PartyKind.PRODUCER, i, grids[i % len(grids)], parent=institutions[i % INSTITUTIONS])
            for i in range(PRODUCERS)
        ]
    )
    company = Party.objects.create(
        name="基准处置公司",
        kind=PartyKind.DISPOSER,
        area=grids[0],
        org_code=grids[0].code,
        lat=36.0,
        lng=119.0,
    )
    plant = Party.objects.create(
        name="基准焚烧厂",
        kind=PartyKind.DISPOSER,
        area=grids[0],
        org_code=grids[0].code,
        lat=36.01,
        lng=119.01,
    )
    return institutions, producers, company, plant


def _weights(first: int, steps: int, rnd: random.Random, drift_at: int | None) -> list[int]:
    out = [first]
    for i in range(1, steps):
        factor = rnd.uniform(0.98, 1.02) if i != drift_at else rnd.choice((0.85, 0.9, 1.1))
        out.append(max(1, round(out[-1] * factor)))
    return out


def _plan(n_records: int, now: dt.datetime, parties: tuple, seed: int = 7) -> Iterator[dict[str, Any]]:
    """The bags to load, each with its steps [(stage, at, weight, from, to, anomaly)]."""
    institutions, producers, company, plant = parties
    rnd = random.Random(seed)
    n_open = n_records // 10
    served = institutions[UNSERVED_INSTITUTIONS:]
    unserved_ids = {p.pk for p in institutions[:UNSERVED_INSTITUTIONS]}
    idle = producers[:IDLE_PRODUCERS]
    busy = [p for p in producers if p.parent_id not in unserved_ids and p not in idle]
    unserved_producers = [p for p in producers if p.parent_id in unserved_ids and p not in idle]
    categories = WasteCategory.values
    made = 0

    def bag(producer: Party, stages: list[str], times: list[dt.datetime], drift: bool) -> dict[str, Any]:
        storage = (
            next(p for p in institutions if p.pk == producer.parent_id) if producer.parent_id else served[0]
        )
        holders = {
            Stage.LABELLED: producer,
            Stage.STORED: storage,
            Stage.COLLECTED: company,
            Stage.DELIVERED: plant,
            Stage.INCINERATED: plant,
        }
        weights = _weights(rnd.randint(800, 6000), len(stages), rnd, rnd.randint(1, 4) if drift else None)
        steps, previous = [], None
        for stage, at, weight in zip(stages, times, weights, strict=True):
            to = holders[stage]
            steps.append((stage, at, weight, previous.pk if previous else None, to.pk))
            previous = to
        return {"producer": producer, "category": rnd.choice(categories), "steps": steps}

    # Open bags: young ones at the producers, in storage (1 % of them 30-60 h), on vehicles, at the plant.
    for i in range(n_open):
        roll = rnd.random()
        if roll < 0.30:
            producer = idle[(i // 200) % IDLE_PRODUCERS] if i % 200 == 0 else rnd.choice(busy)
            age = rnd.uniform(25, 40) if producer in idle else rnd.uniform(0.1, 20)
            yield bag(producer, [Stage.LABELLED], [now - age * H], False)
            made += 1
            continue
        if roll < 0.80:
            unserved = i % 50 == 0
            producer = rnd.choice(unserved_producers if unserved else busy)
            stored = rnd.uniform(30, 60) if rnd.random() < 0.01 or unserved else rnd.uniform(0.1, 28)
            stored = min(stored, 34) if unserved else stored  # late collection, not yet 48 h storage
            times = [now - (stored + rnd.uniform(1, 6)) * H, now - stored * H]
            yield bag(producer, [Stage.LABELLED, Stage.STORED], times, False)
            made += 2
            continue
        producer = rnd.choice(busy)
        collected = rnd.uniform(0.5, 20)
        stored = collected + rnd.uniform(1, 20)
        stages = [Stage.LABELLED, Stage.STORED, Stage.COLLECTED]
        times = [now - (stored + 2) * H, now - stored * H, now - collected * H]
        if roll >= 0.95:
            stages.append(Stage.DELIVERED)
            times.append(now - (collected - 0.4) * H)
        yield bag(producer, stages, times, False)
        made += len(stages)
    # Complete bags over the past 90 days (ending 3 days ago), with the faults.
    while made < n_records:
        producer = rnd.choice(producers)
        start = now - dt.timedelta(days=3) - rnd.uniform(0, 87 * 24) * H
        hours = [0, rnd.uniform(1, 8), rnd.uniform(10, 30), rnd.uniform(1, 3), rnd.uniform(1, 12)]
        times = [start + sum(hours[: i + 1]) * H for i in range(5)]
        stages = list(STAGE_ORDER)
        fault = rnd.random()
        if fault < 0.001:  # storage skipped
            stages.pop(1)
            times.pop(1)
        elif fault < 0.003:  # collection timed before storage (a phone's clock)
            times[2] = times[1] - rnd.uniform(0.1, 2) * H
        item = bag(producer, stages, times, 0.003 <= fault < 0.006)
        yield item
        made += len(stages)


def _load(n_records: int, now: dt.datetime, parties: tuple, tag: str) -> int:
    """Bags, then their records (by the bags' ids read back), in bulk; returns the number of records."""
    plan = list(_plan(n_records, now, parties))
    adapt = connection.ops.adapt_datetimefield_value
    bag_fields = (
        "code", "producer", "category", "weight_g", "labelled_at", "handler_name", "sealed", "stage",
        "stage_at", "holder", "org_code",
    )  # fmt: skip
    bulk_load(
        Bag,
        bag_fields,
        (
            (
                f"B{tag}{i:07d}",
                item["producer"].pk,
                item["category"],
                item["steps"][0][2],
                adapt(item["steps"][0][1]),
                "基准",
                True,
                item["steps"][-1][0],
                adapt(item["steps"][-1][1]),
                item["steps"][-1][4],
                item["producer"].org_code,
            )
            for i, item in enumerate(plan)
        ),
    )
    ids = dict(Bag.objects.filter(code__startswith=f"B{tag}").values_list("code", "pk"))
    record_fields = (
        "bag", "stage", "at", "weight_g", "from_party", "to_party", "given_by", "taken_by", "recorded_at",
        "anomaly", "org_code",
    )  # fmt: skip

    def records() -> Iterator[tuple]:
        for i, item in enumerate(plan):
            bag_id, code = ids[f"B{tag}{i:07d}"], item["producer"].org_code
            for stage, at, weight, from_id, to_id in item["steps"]:
                moment = adapt(at)
                yield (bag_id, stage, moment, weight, from_id, to_id, "", "", moment, Anomaly.NONE, code)

    bulk_load(CustodyRecord, record_fields, records())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Bag._meta.db_table}; ANALYZE {CustodyRecord._meta.db_table}")
    return sum(len(item["steps"]) for item in plan)


def _drop_session(cookie: str) -> None:
    Session.objects.filter(session_key=cookie).delete()


def _officer(district: OrgUnit, tag: str) -> tuple[User, str]:
    """A district waste officer and a session cookie for it (the server reads sessions from the database)."""
    user = User.objects.create(username=f"bench-waste-{tag}", role=Role.WASTE_OFFICER, org_unit=district)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return user, session.session_key


def _cleanup(tag: str) -> None:
    from epigrid.command.models import Alarm

    scope = {"org_code__startswith": BENCH_DISTRICT}
    WasteAlarm.objects.filter(**scope).delete()
    CustodyRecord.objects.filter(**scope).delete()
    Bag.objects.filter(**scope).delete()
    Party.objects.filter(**scope, kind=PartyKind.PRODUCER).delete()
    Party.objects.filter(**scope).delete()
    Alarm.objects.filter(**scope).delete()
    Event.objects.filter(**scope).delete()
    users = User.objects.filter(username=f"bench-waste-{tag}")
    Notice.objects.filter(user__in=users).delete()
    users.delete()
    delete_org_units(BENCH_DISTRICT)


# --- the Python baseline ---------------------------------------------------------------------------------


def _python_findings(now: dt.datetime, limits: rules.Thresholds) -> set[tuple[str, int]]:
    """The bag rules applied per bag in Python over every record (read in bag order) and every stored bag."""
    rank = {s: i for i, s in enumerate(STAGE_ORDER)}
    found: set[tuple[str, int]] = set()
    rows = (
        CustodyRecord.objects.order_by("bag_id")
        .values_list("bag_id", "stage", "at", "weight_g", "anomaly")
        .iterator(chunk_size=20_000)
    )
    for bag_id, steps in itertools.groupby(rows, key=lambda r: r[0]):
        previous = None
        for _bag, stage, at, weight, anomaly in sorted(steps, key=lambda r: (rank[r[1]], r[2])):
            before = rank[previous[1]] if previous else -1
            if anomaly == Anomaly.MISSING_STEP or rank[stage] > before + 1:
                found.add((AlarmKind.MISSING_STEP, bag_id))
            if previous is not None:
                if anomaly == Anomaly.OUT_OF_ORDER or at < previous[2]:
                    found.add((AlarmKind.OUT_OF_ORDER, bag_id))
                if rules.weight_differs(previous[3], weight, limits):
                    found.add((AlarmKind.WEIGHT_MISMATCH, bag_id))
            previous = (bag_id, stage, at, weight)
    for bag_id, stage_at in Bag.objects.filter(stage=Stage.STORED).values_list("pk", "stage_at").iterator():
        kind = rules.storage_kind(now - stage_at, limits)
        if kind:
            found.add((kind, bag_id))
    return found


def _sql_findings() -> set[tuple[str, int]]:
    return {
        (kind, int(subject.split(":")[1]))
        for kind, subject in WasteAlarm.objects.filter(active=True, subject__startswith="bag:").values_list(
            "kind", "subject"
        )
    }


# --- HTTP ------------------------------------------------------------------------------------------------


def _http_times(port: int, path: str, cookie: str, n: int) -> list[float]:
    def get() -> float:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            headers={"Cookie": f"sessionid={cookie}", "Accept-Language": "zh-hans"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            if answer.status != 200:
                raise RuntimeError(f"{path} answered {answer.status}")
            answer.read()
        return (time.perf_counter() - started) * 1000

    for _ in range(3):
        get()
    return [get() for _ in range(n)]


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


# --- the bench -------------------------------------------------------------------------------------------


def bench_waste(*, scale: int | None) -> list[Metric]:
    """Waste alarm evaluation over N custody records (target < 10 s) vs per-bag Python, and the open-bags page at N/10 open bags over HTTP (target p50 < 300 ms) vs an authenticated trivial GET (N=1000000)."""
    n_records = scale or RECORDS
    workers = int(os.environ.get("EPIGRID_BENCH_WORKERS", "2"))
    tag = uuid.uuid4().hex[:6]
    now = timezone.now()
    context = {"n": n_records, "database": connection.vendor}
    metrics: list[Metric] = []
    cookie = ""
    try:
        random.seed(11)
        started = time.perf_counter()
        loaded, cookie = _setup(n_records, now, tag)
        setup_s = time.perf_counter() - started
        open_bags = (
            Bag.objects.filter(org_code__startswith=BENCH_DISTRICT).exclude(stage=Stage.INCINERATED).count()
        )
        metrics.append(_metric("setup", setup_s, "s", records=loaded, open_bags=open_bags, **context))

        first_s, first = _timed(lambda: waste_alarms_evaluate(now=now))
        metrics.append(_metric("evaluate_first", first_s, "s", opened=dict(first.opened), **context))
        runs = [_timed(lambda: waste_alarms_evaluate(now=now))[0] for _ in range(3)]
        limits = rules.thresholds()
        python_s, python = _timed(lambda: _python_findings(now, limits))
        sql = _sql_findings()
        metrics.append(
            _metric(
                "evaluate_full",
                statistics.median(runs),
                "s",
                baseline=python_s,
                records=loaded,
                disagreements=len(sql ^ python),
                findings=len(sql),
                target="< 10 s",
                **context,
            )
        )
        moved = list(Bag.objects.filter(stage=Stage.COLLECTED).values_list("pk", flat=True)[:20])
        partial = [_timed(lambda: waste_alarms_evaluate(now=now, bag_ids=moved))[0] * 1000 for _ in range(10)]
        metrics.append(
            _metric("evaluate_handover", statistics.median(partial), "ms", bags=len(moved), **context)
        )

        connection.close()  # SQLite: let the server's processes have the file
        port = free_port()
        server = start_server(port, workers)
        try:
            base = _http_times(port, "/api/v1/me", cookie, REQUESTS)
            page = _http_times(port, "/waste/open/", cookie, REQUESTS)
        finally:
            server.terminate()
            server.wait(timeout=30)
        http = {"requests": REQUESTS, "open_bags": open_bags, "workers": workers, **context}
        metrics.append(
            _metric(
                "open_bags_http_p50", _pct(page, 50), "ms", baseline=_pct(base, 50), target="< 300 ms", **http
            )
        )
        metrics.append(_metric("open_bags_http_p90", _pct(page, 90), "ms", baseline=_pct(base, 90), **http))
    finally:
        _cleanup(tag)
        _drop_session(cookie)
    return metrics


def _setup(n_records: int, now: dt.datetime, tag: str) -> tuple[int, str]:
    district, grids = bench_jurisdiction(BENCH_DISTRICT, "废物基准区", lat=36.0, lng=119.0, grids=10)
    parties = _parties(grids)
    loaded = _load(n_records, now, parties, tag)
    _user, cookie = _officer(district, tag)
    return loaded, cookie
