"""``epigrid bench quarantine`` at a tiny scale: every metric as a JSON line, the baseline and ratio, everything
placed, every line list read, and nothing left behind."""

from __future__ import annotations

import json

import pytest

from epigrid.core.audit import audit_verify_chain
from epigrid.core.models import AuditEntry, Event, Household, OrgUnit, Person
from epigrid.quarantine.models import Placement, Site
from epigrid.quarantine.selectors import LINE_LISTS
from epigrid.simulation import bench

pytestmark = pytest.mark.django_db


def test_quarantine_bench_reports_and_leaves_no_rows(jurisdiction, capsys):
    before = (
        OrgUnit.objects.count(),
        Person.objects.count(),
        Household.objects.count(),
        AuditEntry.objects.count(),
        Event.objects.count(),
    )
    assert bench.run("quarantine", scale=20) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    by_metric = {row["metric"]: row for row in rows}
    assert {row["bench"] for row in rows} == {"quarantine"}
    place = by_metric["place_many_s"]
    assert place["value"] > 0 and place["baseline"] > 0 and place["n"] == 20
    # value and baseline are printed rounded to ms; at this tiny scale that alone moves their quotient ~2 %
    assert place["ratio"] == pytest.approx(place["value"] / place["baseline"], rel=0.05)
    assert (by_metric["placed"]["value"], by_metric["placed"]["no_room"]) == (20, 0)
    assert by_metric["open_placements"]["value"] == 80
    for name in LINE_LISTS:
        for suffix in ("p50", "p99"):
            assert by_metric[f"line_list_{name}_{suffix}"]["value"] > 0
            assert by_metric[f"line_list_page_{name}_{suffix}"]["value"] > 0
    assert by_metric["line_list_symptomatic_p50"]["rows"] >= 1
    assert by_metric["line_list_release_due_p50"]["rows"] >= 1
    after = (
        OrgUnit.objects.count(),
        Person.objects.count(),
        Household.objects.count(),
        AuditEntry.objects.count(),
        Event.objects.count(),
    )
    assert after == before
    assert not Placement.objects.exists() and not Site.objects.exists()
    assert audit_verify_chain().ok
