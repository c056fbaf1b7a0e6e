"""``epigrid bench tasks``: creating and routing a burst of tasks from events, and the worker's task list.

Everything happens inside a transaction that is rolled back at the end, in a jurisdiction of its own
(district code :data:`BENCH_DISTRICT`, ``N / 500`` grids side by side), so the benchmark can run against a
loaded demo database and leave no trace. N persons (default 50,000) are spread evenly over the grids.

Metrics:

- ``burst_s`` / ``burst_tasks_per_s``: one ``testing.recall`` event per grid naming its persons (a district's
  pooled tubes came back positive), published with ``events.publish_many`` and handed to every handler
  subscribed to the type, each in its own transaction as ``core.events`` dispatches after commit — i.e. the
  real ``grids.handlers.on_testing_recall`` → ``services.tasks_create_many`` (dedupe look-up, routing to the
  person's grid, bulk insert, one ``tasks.created`` event per grid, one audit entry). Target: < 20 s for
  50,000. Baseline in the same run: ``services.task_create`` one task at a time on a sample of
  ``min(500, N)`` further persons, extrapolated to N.
- ``worker_list_p50`` / ``_p99``: ``selectors.worker_tasks`` for a grid worker whose grid has 500 open tasks
  (N / grids), with the phone's position; ``my_tasks_http_p50`` / ``_p99``: ``GET /api/v1/grid/my-tasks``
  with ``lat`` and ``lng`` through Django's test client (session login: the app's way), whole request and
  JSON. Target: p50 < 100 ms. ``LIST_RUNS`` calls each after one warm-up call.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from epigrid.core import events
from epigrid.core.models import OrgUnit, Person, User
from epigrid.core.roles import Role
from epigrid.grids import selectors, services
from epigrid.grids.models import Task, TaskType
from epigrid.simulation.benchkit import bench_jurisdiction

BENCH_DISTRICT = "370692"
PER_GRID = 500
SAMPLE = 500
LIST_RUNS = 30

Metric = dict[str, Any]


def _persons(n: int, grids: list[OrgUnit], tag: str, *, start: int = 0) -> list[tuple[int, OrgUnit]]:
    """``n`` bare persons, ``n / len(grids)`` per grid in order (registration is ``person_register``'s
    benchmark); returns (person id, grid) pairs."""
    per_grid = max(1, n // len(grids))
    rows = []
    for i in range(start, start + n):
        grid = grids[min((i - start) // per_grid, len(grids) - 1)]
        rows.append(
            Person(
                id_number=f"TK{i:08d}",
                id_number_index=f"tkbench-{tag}-{i}",
                id_number_masked="TK******",
                name=f"任务{i}",
                grid=grid,
                org_code=grid.code,
            )
        )
    Person.objects.bulk_create(rows, batch_size=2000)
    by_code = {g.code: g for g in grids}
    ids = Person.objects.filter(id_number_index__startswith=f"tkbench-{tag}-").order_by("pk")
    return [(pk, by_code[code]) for pk, code in ids.values_list("pk", "org_code")[start : start + n]]


def _burst(people: list[tuple[int, OrgUnit]], due: dt.datetime) -> tuple[float, float]:
    """Publish one ``testing.recall`` per grid and run its handlers as ``core.events`` does after commit.
    Returns (seconds to publish, seconds in total)."""
    per_grid: dict[str, list[int]] = {}
    for pk, grid in people:
        per_grid.setdefault(grid.code, []).append(pk)
    started = time.perf_counter()
    with transaction.atomic():
        published = events.publish_many(
            "testing.recall",
            [
                (
                    {
                        "person_ids": ids,
                        "tubes": [f"TKB{code[-6:]}"],
                        "reason": "positive",
                        "due_at": due.isoformat(),
                    },
                    code,
                )
                for code, ids in per_grid.items()
            ],
        )
    published_s = time.perf_counter() - started
    for event in published:
        for handler in events.handlers_for(event.type):
            with transaction.atomic():
                handler(event)
    return published_s, time.perf_counter() - started


def _one_by_one(people: list[tuple[int, OrgUnit]], due: dt.datetime) -> float:
    started = time.perf_counter()
    for pk, _grid in people:
        services.task_create(
            actor=None,
            spec=services.TaskSpec(
                TaskType.RESAMPLE, "复采", f"tkbase:{pk}", person_id=pk, due_at=due, source="bench"
            ),
        )
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _timed(call, runs: int) -> list[float]:
    call()  # warm-up: first-call costs (imports, caches) are not the steady state
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _host() -> str:
    allowed = [h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    return allowed[0] if allowed else "localhost"


def bench_tasks(*, scale: int | None) -> list[Metric]:
    """Tasks from an event burst: N tasks created and routed (target < 20 s for 50,000) vs one by one; the worker's list at 500 open tasks, selector and HTTP p50/p99 (target p50 < 100 ms) (N=50000)."""
    from epigrid.simulation.bench import _metric, _rolled_back

    n = scale or 50_000
    grid_count = max(1, n // PER_GRID)
    sample = min(SAMPLE, n)
    due = timezone.now() + dt.timedelta(hours=12)
    context = {"n": n, "grids": grid_count, "database": connection.vendor}
    with _rolled_back():
        _district, grids = bench_jurisdiction(
            BENCH_DISTRICT, "任务基准区", lat=30.0, lng=115.0, grids=grid_count
        )
        tag = uuid.uuid4().hex[:8]
        people = _persons(n, grids, tag)
        extra = _persons(sample, grids[-1:], tag, start=n)

        published_s, burst_s = _burst(people, due)
        made = Task.objects.filter(org_code__startswith=BENCH_DISTRICT)
        routed = made.filter(subject_person__org_code=F("org_code")).count()
        if made.count() != n or routed != n:
            raise RuntimeError(f"the burst made {made.count()} tasks for {n} persons, {routed} in their grid")

        worker = User.objects.create(
            username=f"bench-gw-{tag}", role=Role.GRID_WORKER, org_unit=grids[0], is_active=True
        )
        grid = grids[0]
        lat, lng = grid.centroid_lat, grid.centroid_lng
        open_in_grid = selectors.task_list(actor=worker, state="open").count()
        selector = _timed(lambda: selectors.worker_tasks(actor=worker, lat=lat, lng=lng), LIST_RUNS)
        client = Client(HTTP_HOST=_host())
        client.force_login(worker)
        url = f"/api/v1/grid/my-tasks?lat={lat}&lng={lng}"
        sizes: list[int] = []

        def fetch() -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:200]!r}")
            sizes.append(len(response.content))

        http = _timed(fetch, LIST_RUNS)

        baseline_s = _one_by_one(extra, due) * n / sample

    sel_p50, sel_p99 = _percentiles(selector)
    http_p50, http_p99 = _percentiles(http)
    listed = {"open_tasks": open_in_grid, "runs": LIST_RUNS, **context}
    return [
        _metric("burst_s", burst_s, "s", baseline=baseline_s, publish_s=round(published_s, 3), **context),
        _metric(
            "burst_tasks_per_s", n / burst_s, "tasks/s", baseline=n / baseline_s, sample=sample, **context
        ),
        _metric("worker_list_p50", sel_p50, "ms", **listed),
        _metric("worker_list_p99", sel_p99, "ms", **listed),
        _metric("my_tasks_http_p50", http_p50, "ms", bytes=sizes[-1], **listed),
        _metric("my_tasks_http_p99", http_p99, "ms", **listed),
    ]
