"""The medical-waste API: label, read a bag, offer, accept, and a batch of offline replays."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.medwaste.models import Bag, CustodyRecord, Stage
from epigrid.medwaste.tests import factories

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def c(jurisdiction):
    return factories.chain(jurisdiction.grid_a)


def post(client, url, body):
    return client.post(url, body, content_type="application/json", **EN)


def test_label_read_offer_accept(c, api_client):
    sampler, keeper = api_client(c.sampler), api_client(c.keeper)
    body = {"party_id": c.producer.pk, "category": "infectious", "weight_g": 900, "client_id": "phone-1"}
    made = post(sampler, "/api/v1/waste/bags", body)
    assert made.status_code == 201
    code = made.json()["code"]
    assert made.json()["chain"][0]["stage"] == "labelled"
    assert "/waste/l/" in made.json()["label_url"]
    again = post(sampler, "/api/v1/waste/bags", body)
    assert again.status_code == 200 and again.json()["code"] == code and Bag.objects.count() == 1

    offer = post(
        sampler,
        "/api/v1/waste/handovers",
        {"from_party_id": c.producer.pk, "to_party_id": c.institution.pk, "stage": "stored", "bags": [code]},
    )
    assert offer.status_code == 201
    handover = offer.json()["code"]
    accepted = post(keeper, f"/api/v1/waste/handovers/{handover}/accept", {"weights": {code: 950}})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    bag = keeper.get(f"/api/v1/waste/bags/{code}", **EN).json()
    assert (bag["stage"], bag["chain"][1]["weight_g"], bag["chain"][1]["taken_by"]) == (
        "stored",
        950,
        c.keeper.username,
    )


def test_errors_are_precise(c, api_client, users):
    sampler = api_client(c.sampler)
    heavy = post(
        sampler, "/api/v1/waste/bags", {"party_id": c.producer.pk, "category": "sharps", "weight_g": 80_000}
    )
    assert heavy.status_code == 400 and "not plausible" in heavy.json()["detail"]
    assert (
        post(
            sampler,
            "/api/v1/waste/bags",
            {"party_id": c.institution.pk, "category": "sharps", "weight_g": 10},
        ).status_code
        == 404
    )
    officer = api_client(users["waste_officer"])  # waste.view, no waste.handle
    assert (
        post(
            officer, "/api/v1/waste/bags", {"party_id": c.producer.pk, "category": "sharps", "weight_g": 10}
        ).status_code
        == 403
    )
    bag = factories.bag_at(Stage.LABELLED, chain=c)
    assert officer.get(f"/api/v1/waste/bags/{bag.code}", **EN).status_code == 200
    typo = sampler.get(f"/api/v1/waste/bags/{bag.code[:-1]}{'0' if bag.code[-1] != '0' else '1'}", **EN)
    assert typo.status_code == 400 and typo.json()["reason"] == "garbled"
    skipped = post(
        api_client(c.keeper),
        "/api/v1/waste/handovers",
        {
            "from_party_id": c.institution.pk,
            "to_party_id": c.company.pk,
            "stage": "collected",
            "bags": [bag.code],
        },
    )
    assert skipped.status_code == 400  # the bag is not within the keeper's reach yet
    assert api_client(users["grid_worker"]).get(f"/api/v1/waste/bags/{bag.code}", **EN).status_code == 403


def test_a_replay_batch_keeps_the_good_and_says_why_for_the_rest(c, api_client):
    earlier = timezone.now() - dt.timedelta(minutes=30)
    one, two = (factories.bag_at(Stage.LABELLED, chain=c, at=earlier) for _i in range(2))
    at = (timezone.now() - dt.timedelta(minutes=3)).isoformat()
    items = [
        {"client_id": "s-1", "bag_code": one.code, "stage": "stored", "happened_at": at, "weight_g": 1210},
        {"client_id": "s-2", "bag_code": "MW000000ZZZZZ", "stage": "stored", "happened_at": at},
        {"client_id": "s-3", "bag_code": two.code, "stage": "stored", "happened_at": at, "weight_g": 70_000},
    ]
    keeper = api_client(c.keeper)
    answer = post(keeper, "/api/v1/waste/replay", {"items": items})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["kept"], body["refused"]) == (1, 2)
    results = {r["client_id"]: r for r in body["results"]}
    assert results["s-1"]["ok"] and results["s-1"]["created"] and results["s-1"]["anomaly"] == ""
    assert "not a valid waste label" in results["s-2"]["detail"]
    assert "not plausible" in results["s-3"]["detail"]
    assert CustodyRecord.objects.filter(stage=Stage.STORED).count() == 1
    again = post(keeper, "/api/v1/waste/replay", {"items": items[:1]}).json()
    assert again["results"][0]["created"] is False
    assert again["results"][0]["record_id"] == results["s-1"]["record_id"]


def test_a_replayed_collection_that_skipped_storage_is_kept_and_marked(c, api_client):
    bag = factories.bag_at(Stage.LABELLED, chain=c)
    driver = api_client(c.driver)
    at = timezone.now().isoformat()
    answer = post(
        driver,
        "/api/v1/waste/replay",
        {"items": [{"client_id": "d-1", "bag_code": bag.code, "stage": "collected", "happened_at": at}]},
    ).json()
    assert answer["results"][0]["ok"] and answer["results"][0]["anomaly"] == "missing_step"
