"""``epigrid bench tasks`` at a tiny scale: every metric as a JSON line, the burst routed to the persons' grids,
and nothing left behind in the database."""

from __future__ import annotations

import json

import pytest

from epigrid.core.audit import audit_verify_chain
from epigrid.core.models import AuditEntry, Event, OrgUnit, Person, User
from epigrid.grids import bench as tasks_bench
from epigrid.grids.models import Task
from epigrid.simulation import bench

pytestmark = pytest.mark.django_db


def _state() -> dict[str, int]:
    return {
        "units": OrgUnit.objects.count(),
        "persons": Person.objects.count(),
        "users": User.objects.count(),
        "tasks": Task.objects.count(),
        "audit": AuditEntry.objects.count(),
        "events": Event.objects.count(),
    }


def test_tasks_bench_reports_every_metric_and_leaves_no_rows(jurisdiction, capsys):
    before = _state()
    assert bench.run("tasks", scale=120) == 0
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        row = json.loads(line)
        assert {"bench", "metric", "value", "unit"} <= set(row) and row["bench"] == "tasks"
        rows[row["metric"]] = row
    assert set(rows) == {
        "burst_s",
        "burst_tasks_per_s",
        "worker_list_p50",
        "worker_list_p99",
        "my_tasks_http_p50",
        "my_tasks_http_p99",
    }
    burst = rows["burst_tasks_per_s"]
    assert burst["n"] == 120 and burst["value"] > 0 and burst["baseline"] > 0
    assert burst["ratio"] == pytest.approx(burst["value"] / burst["baseline"], rel=1e-2)
    assert rows["worker_list_p50"]["open_tasks"] == 120 and rows["my_tasks_http_p50"]["bytes"] > 0
    assert _state() == before
    assert not OrgUnit.objects.filter(code__startswith=tasks_bench.BENCH_DISTRICT).exists()
    assert audit_verify_chain().ok
