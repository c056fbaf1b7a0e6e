"""``epigrid bench waste`` at a tiny scale: the evaluation agrees with the per-bag Python baseline, the page
answers through a real server, and nothing of the bench is left behind."""

from __future__ import annotations

import json

import pytest

from epigrid.command.models import Alarm
from epigrid.core.audit import audit_verify_chain
from epigrid.core.models import Event, Notice, OrgUnit, User
from epigrid.medwaste.bench import BENCH_DISTRICT
from epigrid.medwaste.models import Bag, CustodyRecord, Party, WasteAlarm
from epigrid.simulation import bench


@pytest.mark.django_db(transaction=True)  # the server process must see the committed setup
def test_waste_bench_runs_small_agrees_with_its_baseline_and_leaves_no_rows(capsys):
    assert "waste" in bench.BENCHMARKS
    assert bench.run("waste", scale=20_000) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert all(row["bench"] == "waste" and {"metric", "value", "unit"} <= set(row) for row in rows)
    by_metric = {row["metric"]: row for row in rows}
    assert set(by_metric) == {
        "setup",
        "evaluate_first",
        "evaluate_full",
        "evaluate_handover",
        "open_bags_http_p50",
        "open_bags_http_p90",
    }
    setup = by_metric["setup"]
    assert setup["records"] >= 20_000 and setup["open_bags"] == 2_000
    full = by_metric["evaluate_full"]
    assert full["disagreements"] == 0 and full["findings"] > 0 and full["baseline"] > 0
    opened = by_metric["evaluate_first"]["opened"]
    # The planted faults are found: late storage, drifted weights, skipped steps, idle producers, no collection.
    assert {"storage_overdue", "weight_mismatch", "missing_step", "no_handover", "collection_overdue"} <= set(
        opened
    )
    assert by_metric["open_bags_http_p90"]["value"] >= by_metric["open_bags_http_p50"]["value"] > 0
    assert by_metric["open_bags_http_p50"]["baseline"] > 0
    assert not OrgUnit.objects.filter(code__startswith=BENCH_DISTRICT).exists()
    assert not (Bag.objects.exists() or CustodyRecord.objects.exists() or Party.objects.exists())
    assert not WasteAlarm.objects.exists() and not Alarm.objects.filter(kind="waste.alarm").exists()
    assert not Event.objects.filter(org_code__startswith=BENCH_DISTRICT).exists()
    assert (
        not User.objects.filter(username__startswith="bench-waste-").exists() and not Notice.objects.exists()
    )
    assert audit_verify_chain().ok
