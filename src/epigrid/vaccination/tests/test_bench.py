"""``epigrid bench booking`` at a tiny scale: a real server in a child process, every place taken under
contention, no slot overbooked, and nothing of the bench left behind."""

from __future__ import annotations

import json

import pytest

from epigrid.core.audit import audit_verify_chain
from epigrid.core.models import ApiToken, Event, OrgUnit, Person, User
from epigrid.simulation import bench
from epigrid.vaccination.bench import BENCH_DISTRICT
from epigrid.vaccination.models import Booking, Slot, VaccinationSite, Vaccine


@pytest.mark.django_db(transaction=True)  # the server process must see the committed setup
def test_booking_bench_fills_every_slot_without_overbooking_and_leaves_no_rows(capsys):
    assert "booking" in bench.BENCHMARKS
    vaccines = Vaccine.objects.count()
    assert bench.run("booking", scale=12) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert all(row["bench"] == "booking" and {"metric", "value", "unit"} <= set(row) for row in rows)
    by_metric = {row["metric"]: row for row in rows}
    assert set(by_metric) == {
        "bookings_per_second",
        "latency_p50",
        "latency_p99",
        "full_slot_answers",
        "errors",
        "overbooked_slots",
        "setup",
    }
    rate = by_metric["bookings_per_second"]
    assert rate["value"] > 0 and rate["baseline"] > 0
    assert rate["ratio"] == pytest.approx(rate["value"] / rate["baseline"], rel=0.01)
    assert (rate["n"], rate["places"], rate["persons"], rate["concurrency"]) == (12, 240, 288, 64)
    assert by_metric["latency_p99"]["value"] >= by_metric["latency_p50"]["value"] > 0
    assert by_metric["errors"]["value"] == 0, by_metric["errors"]
    # 64 clients for 12 slots: every slot was fought over, every place taken exactly once.
    full = by_metric["full_slot_answers"]
    assert full["value"] >= 12
    assert rate["requests"] == 240 + full["value"]
    checked = by_metric["overbooked_slots"]
    assert checked["value"] == 0
    assert checked["slots_full"] == 12
    assert checked["bookings_stored"] == checked["bookings_answered"] == 240
    assert checked["persons_booked_twice"] == 0
    # Nothing left behind but the audit entries (append-only, and the chain still verifies).
    assert not OrgUnit.objects.filter(code__startswith=BENCH_DISTRICT).exists()
    assert not Person.objects.filter(org_code__startswith=BENCH_DISTRICT).exists()
    assert not Event.objects.filter(org_code__startswith=BENCH_DISTRICT).exists()
    assert not User.objects.filter(username__startswith="bench-vacc-").exists()
    assert not ApiToken.objects.exists()
    assert not (Booking.objects.exists() or Slot.objects.exists() or VaccinationSite.objects.exists())
    assert Vaccine.objects.count() == vaccines
    assert audit_verify_chain().ok
