"""``epigrid bench``: JSON lines per metric, and no trace left in the database."""

from __future__ import annotations

import json

import pytest

from epigrid.core.audit import audit_verify_chain
from epigrid.core.models import AuditEntry, Event, Household, OrgUnit, Person
from epigrid.simulation import bench, district


def _lines(out: str) -> list[dict]:
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    for row in rows:
        assert {"bench", "metric", "value", "unit"} <= set(row)
        assert isinstance(row["value"], int | float) and isinstance(row["unit"], str) and row["unit"]
    return rows


def _state():
    return {
        "units": OrgUnit.objects.count(),
        "persons": Person.objects.count(),
        "households": Household.objects.count(),
        "audit": AuditEntry.objects.count(),
        "events": Event.objects.count(),
    }


def test_person_register_reports_and_leaves_no_rows(db, settings, capsys):
    # Against a loaded demo district, as on a real demo database.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    district.ensure_demo_district(scale="test", seed=3, progress=False)
    before = _state()

    assert bench.run("person_register", scale=200) == 0

    rows = _lines(capsys.readouterr().out)
    assert {r["bench"] for r in rows} == {"person_register"}
    rate = next(r for r in rows if r["metric"] == "persons_per_s")
    assert rate["unit"] == "persons/s" and rate["value"] > 0 and rate["baseline"] > 0
    assert rate["ratio"] == pytest.approx(rate["value"] / rate["baseline"], rel=1e-2)
    assert rate["n"] == 200
    assert _state() == before
    assert not OrgUnit.objects.filter(code__startswith=bench.BENCH_DISTRICT).exists()
    assert not Person.objects.filter(org_code__startswith=bench.BENCH_DISTRICT).exists()
    assert audit_verify_chain().ok


def test_person_register_runs_on_an_empty_database(db, capsys):
    assert bench.run("person_register", scale=50) == 0
    assert any(r["metric"] == "persons_per_s" for r in _lines(capsys.readouterr().out))
    assert not OrgUnit.objects.exists() and not Person.objects.exists() and not AuditEntry.objects.exists()


def test_id_validate_agrees_with_stdnum(db, capsys):
    assert bench.run("id_validate", scale=500) == 0
    rows = {r["metric"]: r for r in _lines(capsys.readouterr().out)}
    assert rows["ids_per_s"]["value"] > 0 and rows["ids_per_s"]["baseline"] > 0
    assert rows["disagreements"]["value"] == 0


def test_id_inputs_mix_valid_and_invalid_numbers():
    from stdnum.cn import ric

    inputs = bench._id_inputs(100)
    valid = sum(ric.is_valid(n) for n in inputs)
    assert valid == 90 and len(set(inputs)) == 100


def test_unknown_benchmark_exits_2_and_names_the_known_ones(capsys):
    assert bench.run("nope", scale=None) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "person_register" in err and "id_validate" in err


def test_every_benchmark_has_a_one_line_description():
    for name, func in bench.BENCHMARKS.items():
        assert (func.__doc__ or "").strip(), name


def test_the_command_line_follows_the_contract(db, capsys):
    from epigrid import cli

    assert cli.main(["bench", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "person_register" in listed and "id_validate" in listed
    assert cli.main(["bench", "person_register", "--scale", "30"]) == 0
    rows = _lines(capsys.readouterr().out)
    assert {r["metric"] for r in rows} == {"persons_per_s", "elapsed"} and all(r["n"] == 30 for r in rows)
    assert cli.main(["bench", "nope"]) == 2
    assert not Person.objects.exists()
