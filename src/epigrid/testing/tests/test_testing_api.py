"""Tubes, specimens, sealing, lab results and recall through the API of contracts.md."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from epigrid.core.identity import compose_resident_id
from epigrid.core.models import AuditEntry, Event, Person
from epigrid.healthcode.codes import personal_code
from epigrid.healthcode.models import HealthCode
from epigrid.testing import services
from epigrid.testing.models import Box, Recall, Specimen, Tube


def post(client, path, body=None):
    return client.post(
        path, json.dumps(body or {}, default=str), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


@pytest.fixture
def sampler(users, api_client):
    return api_client(users["sampler"])


@pytest.fixture
def lab(users, api_client):
    return api_client(users["lab_technician"])


def person_body(n: int, **extra) -> dict:
    return {
        "id_number": compose_resident_id("370602", dt.date(1985, 1, 1) + dt.timedelta(days=n), 21),
        "name": f"受检者{n}",
        **extra,
    }


def fill(sampler, barcode: str, people: int, pool: int = 10):
    assert post(sampler, "/api/v1/testing/tubes", {"barcode": barcode, "pool_size": pool}).status_code == 201
    responses = [
        post(
            sampler,
            f"/api/v1/testing/tubes/{barcode}/specimens",
            {"person": person_body(i), "client_id": str(uuid.uuid4())},
        )
        for i in range(people)
    ]
    return responses


def test_register_fill_and_auto_seal_a_ten_in_one_tube(sampler, jurisdiction):
    responses = fill(sampler, "YT0001", 10)
    assert [r.status_code for r in responses] == [201] * 10
    assert responses[-1].json()["sealed"] is True and responses[-2].json()["sealed"] is False
    assert responses[3].json()["tube"]["count"] == 4
    tube = Tube.objects.get(barcode="YT0001")
    assert tube.status == "sealed" and tube.specimens.count() == 10
    assert Person.objects.filter(name__startswith="受检者").count() == 10  # registered on the way
    eleventh = post(
        sampler,
        "/api/v1/testing/tubes/YT0001/specimens",
        {"person": person_body(11), "client_id": str(uuid.uuid4())},
    )
    assert eleventh.status_code == 409 and "sealed" in eleventh.json()["detail"]


def test_duplicate_barcode_bad_pool_and_same_person_twice(sampler, jurisdiction):
    assert post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0002", "pool_size": 5}).status_code == 201
    again = post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0002", "pool_size": 5})
    assert again.status_code == 409 and "registered already" in again.json()["detail"]
    assert post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0003", "pool_size": 7}).status_code == 400
    first = post(
        sampler,
        "/api/v1/testing/tubes/YT0002/specimens",
        {"person": person_body(1), "client_id": str(uuid.uuid4())},
    )
    assert first.status_code == 201
    twice = post(
        sampler,
        "/api/v1/testing/tubes/YT0002/specimens",
        {"person": person_body(1), "client_id": str(uuid.uuid4())},
    )
    assert twice.status_code == 409 and "in this tube already" in twice.json()["detail"]
    assert Specimen.objects.count() == 1


def test_same_client_id_is_idempotent(sampler, jurisdiction):
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0004", "pool_size": 5})
    body = {"person": person_body(1), "client_id": str(uuid.uuid4())}
    first = post(sampler, "/api/v1/testing/tubes/YT0004/specimens", body)
    replay = post(sampler, "/api/v1/testing/tubes/YT0004/specimens", body)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert first.json()["id"] == replay.json()["id"] and Specimen.objects.count() == 1


def test_invalid_id_number_stores_nothing(sampler, jurisdiction):
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0005", "pool_size": 5})
    bad = post(
        sampler,
        "/api/v1/testing/tubes/YT0005/specimens",
        {"person": {"id_number": "360426199101010072", "name": "错号"}, "client_id": str(uuid.uuid4())},
    )
    assert bad.status_code == 400 and "check character" in bad.json()["detail"]
    assert not Person.objects.filter(name="错号").exists() and Specimen.objects.count() == 0


def test_add_by_personal_code(sampler, person_a, jurisdiction):
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0006", "pool_size": 5})
    code, _exp = personal_code(person_a)
    response = post(
        sampler, "/api/v1/testing/tubes/YT0006/specimens", {"code": code, "client_id": str(uuid.uuid4())}
    )
    assert response.status_code == 201 and response.json()["person"]["id"] == person_a.pk
    assert Specimen.objects.get().method == "code"
    forged = post(
        sampler, "/api/v1/testing/tubes/YT0006/specimens", {"code": "garbage", "client_id": str(uuid.uuid4())}
    )
    assert forged.status_code == 400


def test_seal_early_and_empty(sampler, jurisdiction):
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0007", "pool_size": 10})
    assert post(sampler, "/api/v1/testing/tubes/YT0007/seal").status_code == 409  # empty
    post(
        sampler,
        "/api/v1/testing/tubes/YT0007/specimens",
        {"person": person_body(1), "client_id": str(uuid.uuid4())},
    )
    sealed = post(sampler, "/api/v1/testing/tubes/YT0007/seal")
    assert sealed.status_code == 200 and sealed.json()["status"] == "sealed"


def test_only_samplers_register_tubes(users, api_client, jurisdiction):
    assert (
        post(
            api_client(users["grid_worker"]), "/api/v1/testing/tubes", {"barcode": "YT0008", "pool_size": 5}
        ).status_code
        == 403
    )
    assert (
        post(
            api_client(users["resident"]), "/api/v1/testing/tubes", {"barcode": "YT0008", "pool_size": 5}
        ).status_code
        == 403
    )


def test_negative_pool_reaches_every_member_and_their_results(
    sampler, lab, users, api_client, person_a, jurisdiction, django_capture_on_commit_callbacks
):
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0010", "pool_size": 5})
    code, _exp = personal_code(person_a)
    post(sampler, "/api/v1/testing/tubes/YT0010/specimens", {"code": code, "client_id": str(uuid.uuid4())})
    post(sampler, "/api/v1/testing/tubes/YT0010/seal")
    with django_capture_on_commit_callbacks(execute=True):
        rows = post(lab, "/api/v1/testing/results", [{"tube": "YT0010", "result": "negative"}]).json()
    assert rows[0]["ok"] and rows[0]["outcome"] == "recorded"
    assert "never scanned" in rows[0]["notes"][0]  # implicit receipt
    mine = api_client(users["resident"]).get("/api/v1/me/test-results").json()
    assert (
        mine[0]["result"] == "negative" and mine[0]["tube_result"] == "negative" and mine[0]["pool_size"] == 5
    )


def test_positive_pool_recalls_members_and_turns_codes_red(
    sampler, lab, users, api_client, person_a, jurisdiction, django_capture_on_commit_callbacks
):
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0020", "pool_size": 10})
    code, _exp = personal_code(person_a)
    post(sampler, "/api/v1/testing/tubes/YT0020/specimens", {"code": code, "client_id": str(uuid.uuid4())})
    for i in range(9):
        post(
            sampler,
            "/api/v1/testing/tubes/YT0020/specimens",
            {"person": person_body(i), "client_id": str(uuid.uuid4())},
        )
    with django_capture_on_commit_callbacks(execute=True):
        post(lab, "/api/v1/testing/results", [{"tube": "YT0020", "result": "positive"}])
    members = list(Tube.objects.get(barcode="YT0020").specimens.values_list("person_id", flat=True))
    assert Recall.objects.filter(person_id__in=members, resolved_at__isnull=True).count() == 10
    assert set(HealthCode.objects.filter(colour="red").values_list("person_id", flat=True)) == set(members)
    recall_events = Event.objects.filter(type="testing.recall")
    assert sum(len(e.payload["person_ids"]) for e in recall_events) == 10
    assert not Event.objects.filter(type="specimen.positive").exists()  # a pool is not a case yet
    mine = api_client(users["resident"]).get("/api/v1/me/test-results").json()
    assert mine[0]["result"] == "recall" and mine[0]["recall_due_at"] is not None

    # single-tube re-test: negative resolves the recall and the colour
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0021", "pool_size": 1})
    code, _exp = personal_code(person_a)
    post(sampler, "/api/v1/testing/tubes/YT0021/specimens", {"code": code, "client_id": str(uuid.uuid4())})
    with django_capture_on_commit_callbacks(execute=True):
        post(lab, "/api/v1/testing/results", [{"tube": "YT0021", "result": "negative"}])
    assert Recall.objects.get(person=person_a).resolution == "negative"
    assert HealthCode.objects.get(person=person_a).colour == "green"


def test_positive_single_tube_publishes_specimen_positive(
    sampler, lab, person_a, jurisdiction, django_capture_on_commit_callbacks
):
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0030", "pool_size": 1})
    code, _exp = personal_code(person_a)
    post(sampler, "/api/v1/testing/tubes/YT0030/specimens", {"code": code, "client_id": str(uuid.uuid4())})
    with django_capture_on_commit_callbacks(execute=True):
        post(lab, "/api/v1/testing/results", [{"tube": "YT0030", "result": "positive"}])
    event = Event.objects.get(type="specimen.positive")
    assert event.payload["person_id"] == person_a.pk


def test_result_rows_stand_alone(sampler, lab, jurisdiction):
    fill(sampler, "YT0040", 5, pool=5)
    post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0041", "pool_size": 5})  # open, empty
    fill(sampler, "YT0042", 5, pool=5)
    rows = post(
        lab,
        "/api/v1/testing/results",
        [
            {"tube": "YT0040", "result": "negative"},
            {"tube": "NOPE", "result": "negative"},
            {"tube": "YT0041", "result": "negative"},
            {"tube": "YT0042", "result": "maybe"},
            {"tube": "YT0040", "result": "negative"},
            {"tube": "YT0040", "result": "positive"},
            {"tube": "YT0042", "result": "negative", "tested_at": "not a date"},
        ],
    ).json()
    assert [(r["ok"], r["outcome"]) for r in rows] == [
        (True, "recorded"),
        (False, "error"),
        (False, "error"),
        (False, "error"),
        (True, "unchanged"),
        (False, "error"),
        (False, "error"),
    ]
    assert "Unknown tube" in rows[1]["detail"] and "not sealed" in rows[2]["detail"]
    assert "already has the result" in rows[5]["detail"]
    assert Tube.objects.get(barcode="YT0040").result == "negative"
    assert Tube.objects.get(barcode="YT0042").result == ""  # the bad rows wrote nothing


def test_only_the_lab_reports_results(sampler, jurisdiction):
    fill(sampler, "YT0050", 5, pool=5)
    assert (
        post(sampler, "/api/v1/testing/results", [{"tube": "YT0050", "result": "negative"}]).status_code
        == 403
    )


def test_box_handover_and_receipt_flags_missing_and_extra(users, sampler, jurisdiction):
    fill(sampler, "YT0060", 5, pool=5)
    fill(sampler, "YT0061", 5, pool=5)
    box = services.box_pack(
        actor=users["sampler"], code="BOX-1", barcodes=["YT0060", "YT0061"], courier="王师傅"
    )
    received = services.box_receive(actor=users["lab_technician"], box=box, scanned=["YT0060", "YT9999"])
    assert received.missing == ["YT0061"] and received.extra == ["YT9999"]
    assert Tube.objects.get(barcode="YT0060").status == "received"
    assert Event.objects.filter(type="box.discrepancy").exists()
    assert AuditEntry.objects.filter(action="box.receive").exists()
    assert Box.objects.get().courier == "王师傅"


def test_opening_a_tube_again_with_its_client_id_is_a_replay(sampler, jurisdiction):
    client_id = str(uuid.uuid4())
    body = {"barcode": "YT0090", "pool_size": 10, "client_id": client_id}
    assert post(sampler, "/api/v1/testing/tubes", body).status_code == 201
    replay = post(sampler, "/api/v1/testing/tubes", body)
    assert replay.status_code == 200 and replay.json()["barcode"] == "YT0090"
    other = post(
        sampler, "/api/v1/testing/tubes", {"barcode": "YT0091", "pool_size": 10, "client_id": client_id}
    )
    assert other.status_code == 409
    assert post(sampler, "/api/v1/testing/tubes", {"barcode": "YT0090", "pool_size": 10}).status_code == 409
    assert Tube.objects.filter(barcode__in=["YT0090", "YT0091"]).count() == 1
