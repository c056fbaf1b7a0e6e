"""``epigrid bench tracing`` at a small scale: JSON lines, every contender agreeing with the reference
(recall and precision 1.0), and nothing left behind."""

from __future__ import annotations

import json

import pytest

from epigrid.checkins.models import CheckIn
from epigrid.core.audit import audit_verify_chain
from epigrid.core.models import AuditEntry, Household, OrgUnit, Person
from epigrid.places.models import Venue
from epigrid.simulation import bench, bench_tracing

pytestmark = pytest.mark.django_db


def _state() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (OrgUnit, Person, Household, Venue, CheckIn, AuditEntry)
    }


def test_tracing_bench_reports_agreement_and_leaves_nothing(monkeypatch, capsys):
    # A small town, fewer cases and a lighter week than the real run: the mechanics, not the figures.
    for name, value in (("CASES", 4), ("BATCH", 30), ("PANDAS_CASES", 2), ("PER_DAY", 1.5), ("DAYS", 10)):
        monkeypatch.setattr(bench_tracing, name, value)
    before = _state()

    assert bench.run("tracing", scale=2000) == 0

    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    for row in rows:
        assert row["bench"] == "tracing" and {"metric", "value", "unit", "n", "database"} <= set(row)
        assert isinstance(row["value"], int | float) and row["unit"]
    metrics = {row["metric"]: row for row in rows}
    assert metrics["checkins_loaded"]["value"] > 20_000
    for name in ("close", "close_secondary", "proposed_close", "proposed_close_secondary"):
        p50, p99 = metrics[f"{name}_p50"], metrics[f"{name}_p99"]
        assert 0 < p50["value"] <= p99["value"] and p50["baseline"] > 0
        assert p50["ratio"] == pytest.approx(p50["value"] / p50["baseline"], rel=1e-2)
    assert metrics["batch_s"]["cases"] == 30 and metrics["batch_s"]["baseline"] > 0
    assert metrics["batch_close_s"]["cases"] == 30
    for name in ("engine", "engine_close", "proposed", "proposed_close", "batch", "batch_close", "pandas"):
        assert metrics[f"{name}_recall"]["pairs"] > 0
        assert metrics[f"{name}_recall"]["value"] == 1.0, name
        assert metrics[f"{name}_precision"]["value"] == 1.0, name
    assert metrics["contacts_per_case_p50"]["close_p50"] > 0

    assert _state() == before
    assert not OrgUnit.objects.filter(code__startswith=bench_tracing.BENCH_DISTRICT).exists()
    assert audit_verify_chain().ok


def test_the_proposed_co_presence_finds_what_the_engine_finds(jurisdiction):
    """Same exposures, boundaries included, on hand-built stays (tracing's own scenario data)."""
    import datetime as dt

    from epigrid.core.tests.factories import PersonFactory
    from epigrid.investigation import tracing
    from epigrid.investigation.tests.factories import local, old_venue, stay

    venue = old_venue(jurisdiction.grid_a)
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(5)]
    for person, (hour, minute, minutes) in zip(
        people, [(12, 0, 60), (12, 45, 30), (12, 46, 30), (13, 0, 60), (11, 30, 120)], strict=True
    ):
        stay(person, venue, local(-2, hour, minute), minutes)
    case = tracing.Stay(people[0].pk, venue.pk, local(-2, 12), local(-2, 13))
    second = tracing.Stay(people[4].pk, venue.pk, local(-2, 11, 30), local(-2, 13, 30))
    args = {"min_minutes": 15, "max_stay": dt.timedelta(hours=24), "exclude": {people[0].pk}}
    for stays in ([case], [case, second]):
        assert bench_tracing.co_present_proposed(stays, **args) == tracing.co_present(stays, **args)
