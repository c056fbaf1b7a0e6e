"""Lab results for many tubes at once: batched recording and propagation give what row-by-row recording gave.

The expectations come from a small reference of the row-by-row semantics (each row judged against the tube
as the rows before it left it; a person takes the result of the last row naming them; a single tube
answers the open recalls its person had at that point), not from timing.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from epigrid.core.models import AuditEntry, Event
from epigrid.core.tests.factories import PersonFactory
from epigrid.healthcode.models import HealthCode, PersonFacts
from epigrid.testing import services
from epigrid.testing.models import Recall, Specimen, Tube, TubeStatus


def _tube(barcode, members, *, status=TubeStatus.RECEIVED, result="", sampler=None, base=None, org_code=""):
    tube = Tube.objects.create(
        barcode=barcode,
        pool_size=1 if len(members) == 1 and barcode.startswith("S") else 5,
        status=status,
        org_code=org_code or (members[0].org_code if members else "370699"),
        sampler=sampler,
        sealed_at=None if status == TubeStatus.OPEN else base,
        received_at=base if status == TubeStatus.RECEIVED else None,
        result=result,
    )
    for k, person in enumerate(members):
        Specimen.objects.create(
            tube=tube,
            person=person,
            org_code=person.org_code,
            client_id=uuid.uuid4(),
            # every specimen its own time: each member's last_test_at must be theirs, not the tube's
            sampled_at=base - dt.timedelta(minutes=tube.pk * 7 + k),
            method="typed",
        )
    return tube


@pytest.fixture
def lab_world(users, jurisdiction):
    now = timezone.now()
    base = now - dt.timedelta(hours=5)
    grids = [jurisdiction.grid_a, jurisdiction.grid_b]
    people = [PersonFactory(grid=grids[i % 2]) for i in range(40)]
    sampler = users["sampler"]

    def pool(start):
        return [people[(start + j) % 40] for j in range(5)]

    tubes = {}
    for i in range(10):  # negative pools, overlapping members
        tubes[f"N{i}"] = _tube(f"N{i}", pool(i * 3), sampler=sampler, base=base)
    for i in range(4):  # positive pools
        tubes[f"P{i}"] = _tube(f"P{i}", pool(30 + i * 2), sampler=sampler, base=base)
    for i in range(2):  # invalid pools
        tubes[f"I{i}"] = _tube(f"I{i}", pool(11 + i * 5), sampler=sampler, base=base)
    # single tubes: S0's person is in positive pool P0 (recalled by an earlier row of this submission);
    # S1's person has an open recall from before; S2's person is in invalid pool I0, whose row comes later
    for name, person in (
        ("S0", people[30]),
        ("S1", people[2]),
        ("S2", people[11]),
        ("S3", people[20]),
        ("SP0", people[5]),
        ("SP1", people[6]),
        ("SI0", people[16]),  # in invalid pool I1, whose row comes earlier
    ):
        tubes[name] = _tube(name, [person], sampler=sampler, base=base)
    for i in range(3):  # sealed, never received at the lab: recorded with a note
        tubes[f"U{i}"] = _tube(f"U{i}", pool(21 + i), status=TubeStatus.SEALED, sampler=sampler, base=base)
    tubes["OPEN"] = _tube("OPEN", pool(0)[:2], status=TubeStatus.OPEN, sampler=sampler, base=base)
    tubes["OLD"] = _tube("OLD", pool(25), status=TubeStatus.RESULTED, result="positive", base=base)
    old_recall = Recall.objects.create(
        person=people[2],
        org_code=people[2].org_code,
        tube=tubes["OLD"],
        reason="positive",
        due_at=now + dt.timedelta(hours=12),
        created_at=now - dt.timedelta(hours=1),
    )
    tested_at = now - dt.timedelta(hours=1)
    rows = [
        *({"tube": f"N{i}", "result": "negative"} for i in range(5)),
        {"tube": "P0", "result": "positive", "tested_at": tested_at.isoformat()},
        {"tube": "S0", "result": "negative"},  # answers P0's recall made just above
        {"tube": "S1", "result": "negative"},  # answers the recall from before
        {"tube": "S2", "result": "negative"},  # before I0: its recall stays open
        {"tube": "I0", "result": "invalid"},
        {"tube": "NOPE", "result": "negative"},
        {"tube": "", "result": "negative"},
        {"tube": "N5", "result": "maybe"},
        {"tube": "N6", "result": "negative", "tested_at": "not a date"},
        {"tube": "OPEN", "result": "negative"},
        {"tube": "OLD", "result": "positive"},  # unchanged
        {"tube": "OLD", "result": "negative"},  # conflict
        *({"tube": f"N{i}", "result": "Negative "} for i in range(5, 10)),
        {"tube": "N0", "result": "negative"},  # repeated: unchanged
        {"tube": "N1", "result": "positive"},  # conflicting with the earlier row
        *({"tube": f"P{i}", "result": "positive"} for i in range(1, 4)),
        {"tube": "P1", "result": "positive"},  # repeated: unchanged
        {"tube": "I1", "result": "invalid"},
        {"tube": "S3", "result": "negative", "tested_at": tested_at},
        {"tube": "SP0", "result": "positive"},
        {"tube": "SP1", "result": "positive"},
        {"tube": "SI0", "result": "invalid"},
        *({"tube": f"U{i}", "result": "negative"} for i in range(3)),
    ]
    return {"people": people, "tubes": tubes, "rows": rows, "old_recall": old_recall, "now": now}


def _reference(world):
    """Row by row: outcomes, each person's last (result, sampled_at), recalls (open or resolved)."""
    tubes = {
        b: {"status": t.status, "result": t.result, "pool": t.pool_size, "pk": t.pk}
        for b, t in world["tubes"].items()
    }
    members = {
        b: list(t.specimens.order_by("pk").values_list("person_id", "sampled_at", "org_code"))
        for b, t in world["tubes"].items()
    }
    outcomes, tested, recalls, specimen_positive = [], {}, [], []
    recalls.append(
        {"person": world["old_recall"].person_id, "tube": "OLD", "reason": "positive", "resolution": None}
    )
    for number, row in enumerate(world["rows"], start=1):
        barcode, result = row["tube"].strip(), row["result"].strip().lower()
        tube = tubes.get(barcode)
        bad_row = result not in ("negative", "positive", "invalid") or row.get("tested_at") == "not a date"
        if bad_row or tube is None or tube["status"] == TubeStatus.OPEN:
            outcomes.append((number, barcode, False, "error", False))
        elif tube["result"]:
            same = tube["result"] == result
            outcomes.append((number, barcode, same, "unchanged" if same else "error", False))
        else:
            outcomes.append((number, barcode, True, "recorded", tube["status"] == TubeStatus.SEALED))
            tube["status"], tube["result"] = TubeStatus.RESULTED, result
            if tube["pool"] == 1:
                for pid, _at, _org in members[barcode]:
                    for recall in recalls:
                        if (
                            recall["person"] == pid
                            and recall["resolution"] is None
                            and recall["tube"] != barcode
                        ):
                            recall["resolution"] = result
            if result in ("negative", "positive"):
                for pid, at, _org in members[barcode]:
                    tested[pid] = (result, at)
            if result == "positive" and tube["pool"] == 1:
                specimen_positive.append((members[barcode][0][0], barcode))
            elif result in ("positive", "invalid"):
                for pid, _at, org in members[barcode]:
                    recalls.append(
                        {"person": pid, "tube": barcode, "reason": result, "resolution": None, "org": org}
                    )
    return outcomes, tested, recalls, specimen_positive


def assert_effects(world, tested, recalls, specimen_positive) -> None:
    """Persons' facts, health codes, recalls and events are those of the row-by-row reference."""
    # persons: the last row naming them, at their own sampling time
    facts = {
        f.person_id: (f.last_test_result, f.last_test_at)
        for f in PersonFacts.objects.filter(person_id__in=[p.pk for p in world["people"]])
    }
    assert facts == tested
    assert len({at for _r, at in tested.values()}) == len(tested)  # own times, not the tube's
    # health codes: red exactly for those whose last result is positive
    codes = dict(HealthCode.objects.filter(person_id__in=list(tested)).values_list("person_id", "colour"))
    assert set(codes) == set(tested)
    assert {pid for pid, c in codes.items() if c == "red"} == {
        pid for pid, (r, _at) in tested.items() if r == "positive"
    }

    # recalls: one per member of a positive or invalid pool (and invalid single tube); single tubes answer
    stored = sorted(
        (r.person_id, r.tube.barcode, r.reason, r.resolution or None)
        for r in Recall.objects.select_related("tube")
    )
    assert stored == sorted((r["person"], r["tube"], r["reason"], r["resolution"]) for r in recalls)
    assert all(
        (r.resolved_at is None) == (r.resolution == "") for r in Recall.objects.all()
    )  # resolved ones carry their time
    assert {r[3] for r in stored} == {None, "negative", "invalid"}  # every case above occurs

    # events
    resulted = Event.objects.filter(type="test.resulted")
    seen: dict[int, tuple[str, str]] = {}
    for event in resulted.order_by("pk"):
        assert event.payload["person_ids"] == [pid for pid, _at in event.payload["people"]]
        for pid, at in event.payload["people"]:
            seen[pid] = (event.payload["result"], at)
        assert event.org_code in ("370699", "370699001001001", "370699002001001")
    assert seen == {pid: (r, at.isoformat()) for pid, (r, at) in tested.items()}
    positives = Event.objects.filter(type="specimen.positive").order_by("pk")
    assert [(e.payload["person_id"], e.payload["tube"]) for e in positives] == specimen_positive
    for event in positives:
        specimen = Specimen.objects.get(pk=event.payload["specimen_id"])
        assert specimen.person_id == event.payload["person_id"] and specimen.org_code == event.org_code
    recalled: dict[tuple[str, str], list[int]] = {}
    for event in Event.objects.filter(type="testing.recall"):
        assert event.payload["due_at"] and event.payload["tubes"]
        recalled.setdefault((event.org_code, event.payload["reason"]), []).extend(event.payload["person_ids"])
    expected_recalled: dict[tuple[str, str], list[int]] = {}
    for r in recalls[1:]:
        expected_recalled.setdefault((r["org"], r["reason"]), []).append(r["person"])
    assert {k: sorted(v) for k, v in recalled.items()} == {k: sorted(v) for k, v in expected_recalled.items()}


@pytest.mark.parametrize("batch", [services.RESULT_BATCH, 4])
def test_many_tubes_give_the_row_by_row_outcomes_facts_codes_recalls_and_events(
    batch, lab_world, users, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "RESULT_BATCH", batch)
    expected_outcomes, tested, recalls, specimen_positive = _reference(lab_world)
    audits_before = AuditEntry.objects.filter(action="tube.result").count()
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.results_submit(actor=users["lab_technician"], rows=lab_world["rows"])

    assert [(o.row, o.tube, o.ok, o.outcome, bool(o.notes)) for o in outcomes] == expected_outcomes
    assert all(o.detail for o in outcomes if o.outcome == "error")
    by_row = {o.row: o for o in outcomes}
    assert "Unknown tube NOPE" in by_row[11].detail and "Unknown tube ?" in by_row[12].detail
    assert "not sealed" in by_row[15].detail and "already has the result positive" in by_row[17].detail
    assert "already has the result negative" in by_row[24].detail

    # tubes: recorded ones resulted (sealed ones received now), bad rows wrote nothing
    tubes = {t.barcode: t for t in Tube.objects.filter(pk__in=[t.pk for t in lab_world["tubes"].values()])}
    recorded = {o.tube for o in outcomes if o.outcome == "recorded"}
    for barcode, tube in tubes.items():
        if barcode in recorded:
            assert tube.status == TubeStatus.RESULTED and tube.resulted_by == users["lab_technician"]
            assert tube.received_at is not None and tube.resulted_at is not None
        elif barcode != "OLD":
            assert tube.result == "" and tube.resulted_at is None
    assert tubes["N1"].result == "negative" and tubes["N5"].result == "negative"  # "Negative " row
    given = {row["tube"]: row.get("tested_at") for row in lab_world["rows"] if row.get("tested_at")}
    assert tubes["P0"].tested_at.isoformat() == given["P0"] and tubes["S3"].tested_at == given["S3"]
    assert tubes["N0"].tested_at == tubes["N0"].resulted_at  # no time given: the time of recording
    assert tubes["OPEN"].status == TubeStatus.OPEN and tubes["U0"].received_at is not None

    assert_effects(lab_world, tested, recalls, specimen_positive)
    # one audit entry per batch that recorded something, naming the count
    entries = AuditEntry.objects.filter(action="tube.result").order_by("seq")[audits_before:]
    assert sum(e.detail["count"] for e in entries) == len(recorded)
    assert len(entries) >= 1 and (batch > 40 or len(entries) > 1)


def test_resubmitting_the_same_sheet_changes_nothing(lab_world, users, django_capture_on_commit_callbacks):
    lab = users["lab_technician"]
    with django_capture_on_commit_callbacks(execute=True):
        services.results_submit(actor=lab, rows=lab_world["rows"])
    state = (Event.objects.count(), Recall.objects.count(), list(PersonFacts.objects.values_list()))
    with django_capture_on_commit_callbacks(execute=True):
        again = services.results_submit(actor=lab, rows=lab_world["rows"])
    assert not any(o.outcome == "recorded" for o in again)
    assert (Event.objects.count(), Recall.objects.count(), list(PersonFacts.objects.values_list())) == state


@pytest.mark.django_db(transaction=True)  # the server process must see the committed setup
def test_testing_bench_prints_json_lines_and_leaves_no_bench_rows(capsys):
    import json

    from epigrid.core.audit import audit_verify_chain
    from epigrid.core.models import DiseaseProfile, OrgUnit, Person, PolicyVersion, User
    from epigrid.core.seeding import seed_diseases
    from epigrid.healthcode.models import RuleSet
    from epigrid.healthcode.seeding import seed_rule_sets
    from epigrid.simulation import bench
    from epigrid.testing.bench import BENCH_DISTRICT

    # An earlier transactional test (a live server) may have flushed the migrations' seeded policies.
    seed_diseases(DiseaseProfile, PolicyVersion)
    seed_rule_sets(RuleSet, PolicyVersion)
    counts = lambda: [m.objects.count() for m in (Tube, Specimen, Recall, PersonFacts, HealthCode)]  # noqa: E731
    before = counts()
    assert bench.run("testing", scale=200) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    metrics = {line["metric"]: line for line in lines}
    assert all(line["bench"] == "testing" and {"value", "unit"} <= set(line) for line in lines)
    assert {"specimens_per_second", "latency_p50", "latency_p99", "results_import_s"} <= set(metrics)
    assert metrics["specimens_per_second"]["value"] > 0 and metrics["errors"]["value"] == 0
    assert metrics["specimens_stored"]["value"] == 400 + 100  # measured + warm-up, every one stored
    imported = metrics["results_import_s"]
    assert imported["value"] > 0 and imported["baseline"] > 0
    assert imported["ratio"] == pytest.approx(imported["value"] / imported["baseline"], rel=0.01)
    propagated = metrics["results_propagated"]
    assert propagated["value"] == propagated["health_codes"] == 2000 - 5 * 10  # invalid pools: no facts
    assert propagated["red"] == 10 * 10 and propagated["recalls"] == 15 * 10
    assert counts() == before
    assert not OrgUnit.objects.filter(code__startswith=BENCH_DISTRICT).exists()
    assert not Person.objects.filter(org_code__startswith=BENCH_DISTRICT).exists()
    assert not Event.objects.filter(org_code__startswith=BENCH_DISTRICT).exists()
    assert not User.objects.filter(username__startswith="bench-").exists()
    assert audit_verify_chain().ok


def test_under_dual_confirmation_a_second_lab_user_makes_the_results_final_with_the_same_effects(
    lab_world, users, dual_on, second_lab, django_capture_on_commit_callbacks
):
    from epigrid.core.errors import DomainError

    expected_outcomes, tested, recalls, specimen_positive = _reference(lab_world)
    entering, confirming = users["lab_technician"], second_lab
    events_before = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.results_submit(actor=entering, rows=lab_world["rows"])

    # what would have been recorded (or repeated a recorded row) waits; everything else is as without it
    waiting = [o for o in expected_outcomes if o[3] == "recorded"]

    def waits(outcome: tuple) -> bool:
        return outcome[3] == "recorded" or (outcome[3] == "unchanged" and outcome[1] != "OLD")

    expected_pending = [(o[0], o[1], True, "pending", True) if waits(o) else o for o in expected_outcomes]
    assert [(o.row, o.tube, o.ok, o.outcome, bool(o.notes)) for o in outcomes] == expected_pending
    assert "awaiting confirmation" in {o.row: o for o in outcomes}[24].detail  # N1 positive after negative
    # nothing propagated: no facts, codes, recalls or events; tubes hold the pending result only
    people = [p.pk for p in lab_world["people"]]
    assert not PersonFacts.objects.filter(person_id__in=people).exists()
    assert not HealthCode.objects.filter(person_id__in=people).exists()
    assert Recall.objects.count() == 1 and Event.objects.count() == events_before
    pending = Tube.objects.exclude(pending_result="")
    assert sorted(pending.values_list("barcode", flat=True)) == sorted(b for _n, b, *_r in waiting)
    assert not pending.exclude(result="").exists() and not pending.exclude(pending_by=entering).exists()
    assert Tube.objects.get(barcode="U0").status == TubeStatus.RECEIVED  # the lab has it in hand
    assert AuditEntry.objects.filter(action="tube.result_pending").exists()

    # the same user cannot confirm: a 400 naming the tubes, nothing confirmed
    with pytest.raises(DomainError, match="yourself"):
        services.results_confirm(actor=entering, barcodes=["N0", "P0"])
    assert Tube.objects.filter(barcode="N0", result="").exists()

    # a second lab user confirms in the order of the rows: the effects of the row-by-row reference
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = services.results_confirm(actor=confirming, barcodes=[b for _n, b, *_r in waiting])
    assert [(o.tube, o.ok, o.outcome) for o in confirmed] == [(b, True, "recorded") for _n, b, *_r in waiting]
    assert_effects(lab_world, tested, recalls, specimen_positive)
    for tube in Tube.objects.filter(barcode__in=[b for _n, b, *_r in waiting]):
        assert tube.status == TubeStatus.RESULTED and tube.result and not tube.pending_result
        assert tube.resulted_by == entering and tube.confirmed_by == confirming and tube.confirmed_at
    given = {row["tube"]: row.get("tested_at") for row in lab_world["rows"] if row.get("tested_at")}
    assert Tube.objects.get(barcode="P0").tested_at.isoformat() == given["P0"]
    entry = AuditEntry.objects.filter(action="tube.result").order_by("-seq").first()
    assert entry.actor_id == confirming.pk and entry.detail["confirmed"] is True
    assert entry.detail["entered_by"] == [entering.pk]
