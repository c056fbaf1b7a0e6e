"""`epigrid bench checkin` runs end to end (a real server in a child process) and cleans up after itself."""

from __future__ import annotations

import json

import pytest

from epigrid.checkins.models import CheckIn
from epigrid.core.models import OrgUnit, Person
from epigrid.simulation import bench


@pytest.mark.django_db(transaction=True)  # the server process must see the committed setup
def test_checkin_bench_prints_json_lines_and_leaves_no_rows(capsys, settings, tmp_path):
    assert bench.run("checkin", scale=200) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_metric = {line["metric"]: line for line in lines}
    assert set(by_metric) >= {"checkins_per_second", "latency_p50", "latency_p99", "errors", "rows_stored"}
    assert all(line["bench"] == "checkin" for line in lines)
    rate = by_metric["checkins_per_second"]
    assert (
        rate["value"] > 0
        and rate["baseline"] > 0
        and rate["ratio"] == pytest.approx(rate["value"] / rate["baseline"], rel=0.01)
    )
    assert by_metric["errors"]["value"] == 0
    # every request stored exactly one row (warm-up included), and all of it is gone afterwards
    assert by_metric["rows_stored"]["value"] == 400
    assert not CheckIn.objects.exists()
    assert not OrgUnit.objects.filter(code__startswith="370697").exists()
    assert not Person.objects.filter(org_code__startswith="370697").exists()
