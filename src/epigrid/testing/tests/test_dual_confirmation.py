"""Dual lab confirmation (policy ``testing_dual_confirmation``): through the services, the API and the lab page,
with the switch off (results final at once) and on (final only once a second lab user confirms)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.urls import reverse

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event
from epigrid.core.tests.factories import PersonFactory
from epigrid.healthcode.models import HealthCode, PersonFacts
from epigrid.testing import selectors, services
from epigrid.testing.models import Recall, Tube, TubeStatus


def sealed(users, barcode: str, people: list, pool: int = 5) -> Tube:
    tube = services.tube_register(actor=users["sampler"], barcode=barcode, pool_size=pool)
    for person in people:
        services.specimen_add(actor=users["sampler"], tube=tube, person=person, client_id=uuid.uuid4())
    return services.tube_seal(actor=users["sampler"], tube=tube)


@pytest.fixture
def pools(users, jurisdiction):
    """A negative-to-be pool, a positive-to-be pool and a single tube, sealed and never received."""
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(5)]
    return {
        "people": people,
        "tubes": [
            sealed(users, "DC-N", people[:2]),
            sealed(users, "DC-P", people[2:4]),
            sealed(users, "DC-S", people[4:], pool=1),
        ],
    }


ROWS = [
    {"tube": "DC-N", "result": "negative"},
    {"tube": "DC-P", "result": "positive"},
    {"tube": "DC-S", "result": "positive"},
]


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def test_switch_off_results_are_final_at_once(users, pools, django_capture_on_commit_callbacks):
    assert services.dual_confirmation_required() is False  # the seeded default
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.results_submit(actor=users["lab_technician"], rows=ROWS)
    assert [o.outcome for o in outcomes] == ["recorded"] * 3
    assert Tube.objects.filter(status=TubeStatus.RESULTED, pending_result="").count() == 3
    assert PersonFacts.objects.count() == 5 and Recall.objects.count() == 2
    assert Event.objects.filter(type="specimen.positive").count() == 1
    assert not selectors.pending_results(actor=users["lab_technician"]).exists()
    # a confirmation of nothing is an error row, not a silent success
    [row] = services.results_confirm(actor=users["lab_technician"], barcodes=["DC-N"])
    assert (row.ok, row.outcome) == (False, "error") and "no result awaiting confirmation" in row.detail


def test_switch_on_results_wait_for_a_second_lab_user(
    users, pools, dual_on, second_lab, django_capture_on_commit_callbacks
):
    lab = users["lab_technician"]
    people = [p.pk for p in pools["people"]]
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.results_submit(actor=lab, rows=ROWS)
    assert [(o.outcome, o.ok) for o in outcomes] == [("pending", True)] * 3
    assert all(any("second lab user" in n for n in o.notes) for o in outcomes)
    assert all(any("never scanned" in n for n in o.notes) for o in outcomes)  # received now
    assert not PersonFacts.objects.filter(person_id__in=people).exists()
    assert not Recall.objects.exists() and not Event.objects.filter(type="specimen.positive").exists()
    assert not Event.objects.filter(type="test.resulted").exists()
    tube = Tube.objects.get(barcode="DC-P")
    assert (tube.status, tube.result, tube.pending_result, tube.pending_by) == (
        TubeStatus.RECEIVED,
        "",
        "positive",
        lab,
    )
    assert tube.pending_tested_at is not None and tube.received_at is not None
    # the resident sees a pending result
    assert selectors.person_results(person_id=people[2])[0].result == "pending"
    # entering the same result again changes nothing; a different one must wait for a rejection
    again = services.results_submit(actor=lab, rows=[ROWS[0], {"tube": "DC-P", "result": "negative"}])
    assert [(o.outcome, o.ok) for o in again] == [("pending", True), ("error", False)]
    assert "awaiting confirmation" in again[1].detail
    # the user who entered them cannot confirm: 400, nothing confirmed
    with pytest.raises(DomainError, match="yourself") as refused:
        services.results_confirm(actor=lab, barcodes=["DC-N", "DC-P"])
    assert "DC-N" in refused.value.message and "DC-P" in refused.value.message
    assert Tube.objects.filter(result="").count() == 3
    # a second lab user confirms two of them: final and propagated
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = services.results_confirm(actor=second_lab, barcodes=["DC-P", "DC-S", "NOPE", "DC-P"])
    assert [(o.tube, o.outcome) for o in confirmed] == [
        ("DC-P", "recorded"),
        ("DC-S", "recorded"),
        ("NOPE", "error"),
    ]
    assert HealthCode.objects.filter(person_id__in=people[2:], colour="red").count() == 3
    assert Recall.objects.count() == 2 and Event.objects.filter(type="specimen.positive").count() == 1
    assert Tube.objects.get(barcode="DC-P").confirmed_by == second_lab
    assert [t.barcode for t in selectors.pending_results(actor=lab)] == ["DC-N"]
    # confirming a tube twice: nothing awaits confirmation any more
    twice = services.results_confirm(actor=second_lab, barcodes=["DC-P"])
    assert twice[0].outcome == "error" and "no result awaiting" in twice[0].detail
    audit = AuditEntry.objects.filter(action="tube.result").get()
    assert audit.actor_id == second_lab.pk and audit.detail["entered_by"] == [lab.pk]


def test_a_rejected_pending_result_can_be_entered_again(users, pools, dual_on, second_lab):
    lab = users["lab_technician"]
    services.results_submit(actor=lab, rows=ROWS[:1])
    rejected = services.results_reject(actor=second_lab, barcodes=["DC-N", "DC-S"], reason="样本溶血")
    assert [(o.tube, o.outcome, o.ok) for o in rejected] == [
        ("DC-N", "rejected", True),
        ("DC-S", "error", False),
    ]
    assert Tube.objects.get(barcode="DC-N").pending_result == ""
    entry = AuditEntry.objects.get(action="tube.result_reject")
    assert entry.detail["tubes"] == ["DC-N"] and entry.detail["reason"] == "样本溶血"
    again = services.results_submit(actor=second_lab, rows=[{"tube": "DC-N", "result": "positive"}])
    assert again[0].outcome == "pending"
    assert Tube.objects.get(barcode="DC-N").pending_by == second_lab


def test_only_the_lab_confirms_or_rejects(users, pools, dual_on):
    services.results_submit(actor=users["lab_technician"], rows=ROWS[:1])
    for call in (services.results_confirm, services.results_reject):
        with pytest.raises(Forbidden):
            call(actor=users["sampler"], barcodes=["DC-N"])
    with pytest.raises(DomainError):
        services.results_confirm(actor=users["lab_technician"], barcodes=["  "])


def test_turning_the_switch_off_makes_a_direct_result_final_and_clears_the_pending_one(
    users, pools, dual_on, django_capture_on_commit_callbacks
):
    from epigrid.core import selectors as core_selectors
    from epigrid.core import services as core_services

    services.results_submit(actor=users["lab_technician"], rows=ROWS[:1])
    general = core_selectors.policy_active(disease_code="general")
    core_services.policy_version_create(
        actor=users["district_admin"],
        disease=general.disease,
        version="single",
        title="单人",
        params={**general.params, "testing_dual_confirmation": False},
        activate=True,
    )
    core_selectors.policy_cache_clear()
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.results_submit(actor=users["lab_technician"], rows=ROWS[:1])
    assert outcomes[0].outcome == "recorded"
    tube = Tube.objects.get(barcode="DC-N")
    assert tube.result == "negative" and tube.pending_result == "" and tube.pending_by is None


# --- HTTP -----------------------------------------------------------------------------------------


def test_api_switch_off_results_are_recorded(users, pools, api_client):
    lab = api_client(users["lab_technician"])
    response = post(lab, "/api/v1/testing/results", ROWS)
    assert response.status_code == 200 and [r["outcome"] for r in response.json()] == ["recorded"] * 3
    assert lab.get("/api/v1/testing/results/pending").json() == []


def test_api_switch_on_confirm_by_a_second_lab_user(users, pools, dual_on, second_lab, api_client):
    lab, lab2 = api_client(users["lab_technician"]), api_client(second_lab)
    response = post(lab, "/api/v1/testing/results", ROWS)
    assert [r["outcome"] for r in response.json()] == ["pending"] * 3
    listed = lab.get("/api/v1/testing/results/pending").json()
    assert [(p["tube"], p["result"], p["mine"], p["entered_by"]) for p in listed] == [
        ("DC-N", "negative", True, "lab_technician"),
        ("DC-P", "positive", True, "lab_technician"),
        ("DC-S", "positive", True, "lab_technician"),
    ]
    assert [p["mine"] for p in lab2.get("/api/v1/testing/results/pending").json()] == [False] * 3
    refused = post(lab, "/api/v1/testing/results/confirm", {"tubes": ["DC-N"]})
    assert refused.status_code == 400 and "second lab user" in refused.json()["detail"]
    assert Tube.objects.get(barcode="DC-N").result == ""
    confirmed = post(lab2, "/api/v1/testing/results/confirm", {"tubes": ["DC-N", "DC-P"]})
    assert confirmed.status_code == 200
    assert [(r["tube"], r["outcome"]) for r in confirmed.json()] == [
        ("DC-N", "recorded"),
        ("DC-P", "recorded"),
    ]
    rejected = post(lab2, "/api/v1/testing/results/reject", {"tubes": ["DC-S"], "reason": "重采"})
    assert rejected.status_code == 200 and rejected.json()[0]["outcome"] == "rejected"
    assert lab.get("/api/v1/testing/results/pending").json() == []
    assert (
        post(api_client(users["sampler"]), "/api/v1/testing/results/confirm", {"tubes": ["DC-S"]}).status_code
        == 403
    )


def pending_rows(body: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="pending-row" data-tube="([^"]+)" data-mine="(\w+)"', body)


def test_lab_page_switch_off_shows_no_confirmation_panel(users, pools, login_client):
    body = login_client(users["lab_technician"]).get(reverse("testing:lab")).content.decode()
    assert 'data-testid="pending-results"' not in body


def test_lab_page_switch_on_lists_pending_and_confirms_by_a_second_user(
    users, pools, dual_on, second_lab, login_client
):
    client = login_client(users["lab_technician"])
    response = client.post(
        reverse("testing:lab"), {"action": "lines", "res-lines": "DC-N negative\nDC-P positive"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r'data-tube="([^"]+)" data-ok="true" data-outcome="pending"', body) == ["DC-N", "DC-P"]
    assert pending_rows(body) == [("DC-N", "true"), ("DC-P", "true")]
    # the same user: a clear error, nothing confirmed
    refused = client.post(reverse("testing:lab"), {"action": "confirm", "tubes": ["DC-N"]})
    assert refused.status_code == 400 and 'data-testid="lab-error"' in refused.content.decode()
    assert Tube.objects.get(barcode="DC-N").result == ""
    # the second user sees them as someone else's and confirms one, rejects the other
    other = login_client(second_lab)
    assert pending_rows(other.get(reverse("testing:lab")).content.decode()) == [
        ("DC-N", "false"),
        ("DC-P", "false"),
    ]
    done = other.post(reverse("testing:lab"), {"action": "confirm", "tubes": ["DC-P"]})
    assert done.status_code == 200
    assert 'data-tube="DC-P" data-ok="true" data-outcome="recorded"' in done.content.decode()
    assert Tube.objects.get(barcode="DC-P").result == "positive"
    dropped = other.post(reverse("testing:lab"), {"action": "reject", "tubes": ["DC-N"], "reason": "x"})
    assert 'data-outcome="rejected"' in dropped.content.decode()
    assert 'data-testid="pending-none"' in dropped.content.decode()
