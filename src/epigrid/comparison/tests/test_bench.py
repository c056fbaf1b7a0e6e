"""``epigrid bench linkage`` at a tiny scale: the JSON lines it prints, links far better than chance against the
generator's truth, and nothing of the bench left behind (rows, persons, org units, the model's file)."""

from __future__ import annotations

import json

import pytest

from epigrid.comparison import matching
from epigrid.comparison.bench import BENCH_DISTRICT
from epigrid.comparison.models import LinkMemory, ListImport, ListRow
from epigrid.core.models import AuditEntry, OrgUnit, Person
from epigrid.simulation import bench


@pytest.mark.django_db
def test_linkage_bench_prints_its_metrics_and_leaves_nothing(capsys, settings, tmp_path):
    settings.LINKAGE_MODEL_DIR = tmp_path / "linkage"
    assert "linkage" in bench.BENCHMARKS
    persons, audits = Person.objects.count(), AuditEntry.objects.count()
    assert bench.run("linkage", scale=4000) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert all(
        row["bench"] == "linkage" and {"metric", "value", "unit", "n", "database"} <= set(row) for row in rows
    )
    by_metric = {row["metric"]: row for row in rows}
    assert set(by_metric) == {
        "f1",
        "probabilistic_f1",
        "linkage_wall",
        "comparisons_per_s_per_core",
        "exact_id",
        "setup",
    }
    f1 = by_metric["f1"]
    assert (f1["n"], f1["rows"], f1["target"]) == (4000, 400, 0.97)
    # Chance would link next to nobody right; the generator's errors leave some rows to review.
    assert f1["value"] > 0.9 and f1["precision"] > 0.95 and f1["recall"] > 0.85, f1
    assert f1["methods"]["exact_id"] > 200 and f1["methods"].get("probabilistic", 0) > 50, f1
    assert by_metric["probabilistic_f1"]["value"] > 0.75, by_metric["probabilistic_f1"]
    wall = by_metric["linkage_wall"]
    assert wall["value"] > 0 and wall["m_source"] == "labels" and wall["chunk"] == 400
    speed = by_metric["comparisons_per_s_per_core"]
    assert speed["pairs"] > 0 and speed["value"] > 0 and speed["threads"] >= 1
    exact = by_metric["exact_id"]
    assert exact["rows"] == 4000 and exact["found"] == 3600  # 90 % of the documents are registered
    assert exact["baseline"] > exact["value"] > 0 and exact["ratio"] < 1  # faster than a query per document
    # Nothing left: the bench's transaction was rolled back and its model file removed.
    assert Person.objects.count() == persons and AuditEntry.objects.count() == audits
    assert not OrgUnit.objects.filter(code__startswith=BENCH_DISTRICT).exists()
    assert (
        not ListRow.objects.exists() and not ListImport.objects.exists() and not LinkMemory.objects.exists()
    )
    assert not matching.model_path(BENCH_DISTRICT).exists()
