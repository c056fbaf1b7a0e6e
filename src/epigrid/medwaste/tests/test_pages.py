"""The medical-waste pages over HTTP: the handler's phone page and its actions, the bag card and label, the
handover page, trips and parties; who may open what (403) and what lies beyond one's reach (404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows, zh
from epigrid.medwaste.models import Bag, Handover, HandoverStatus, Party, PartyKind, Stage, Trip
from epigrid.medwaste.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def c(jurisdiction):
    return factories.chain(jurisdiction.grid_a)


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.RESIDENT])
def test_the_phone_page_is_for_waste_handlers_only(role, users, login_client):
    response = login_client(users[role]).get(reverse("medwaste:app"))
    assert response.status_code == (200 if may(role, Perm.WASTE_HANDLE) else 403)


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.RESIDENT])
def test_the_parties_page_is_for_waste_managers_only(role, users, login_client):
    response = login_client(users[role]).get(reverse("medwaste:parties"))
    assert response.status_code == (200 if may(role, Perm.WASTE_MANAGE) else 403)


def test_an_account_without_a_party_is_told_so(users, login_client):
    html = login_client(users["waste_handler"]).get(reverse("medwaste:app")).content.decode()
    assert shows(
        html, "Your account does not act for any waste party yet; ask the medical-waste officer to add you."
    )


def test_label_offer_accept_through_the_pages(c, login_client):
    sampler = login_client(c.sampler)
    page = sampler.get(reverse("medwaste:app")).content.decode()
    assert shows(page, "Label a bag")
    prefix = f"p{c.producer.pk}"
    response = sampler.post(
        reverse("medwaste:app"),
        {
            "action": "label",
            "party": c.producer.pk,
            f"{prefix}-category": "sharps",
            f"{prefix}-weight_kg": "1.25",
            f"{prefix}-sealed": "on",
        },
    )
    bag = Bag.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("medwaste:label", args=[bag.pk])
    assert (bag.weight_g, bag.category, bag.sealed) == (1250, "sharps", True)
    label = sampler.get(response["Location"]).content.decode()
    assert bag.code in label and "<svg" in label and zh("Sharps") in label and "Sharps" in label

    response = sampler.post(
        reverse("medwaste:app"),
        {"action": "offer", "party": c.producer.pk, "to_party": c.institution.pk, "bag": [bag.pk]},
    )
    assert response.status_code == 302
    offer = Handover.objects.get(status=HandoverStatus.OFFERED)

    keeper = login_client(c.keeper)
    assert offer.code in keeper.get(reverse("medwaste:app")).content.decode()
    url = reverse("medwaste:handover", args=[offer.code])
    assert 'value="1.250"' in keeper.get(url).content.decode()
    assert sampler.post(url, {"action": "accept"}).status_code == 403  # the giver cannot accept
    response = keeper.post(url, {"action": "accept", f"w{bag.pk}": "1.31"})
    assert response.status_code == 302
    bag.refresh_from_db()
    assert bag.stage == Stage.STORED
    assert bag.records.get(stage=Stage.STORED).weight_g == 1310


def test_an_implausible_weight_is_shown_on_the_page(c, login_client):
    prefix = f"p{c.producer.pk}"
    response = login_client(c.sampler).post(
        reverse("medwaste:app"),
        {
            "action": "label",
            "party": c.producer.pk,
            f"{prefix}-category": "sharps",
            f"{prefix}-weight_kg": "75",
        },
    )
    assert response.status_code == 400
    assert shows(
        response.content.decode(),
        "%(weight)s kg is not plausible for one bag or box (at most %(max)s kg); weigh it again.",
        weight="75",
        max=50,
    )
    assert not Bag.objects.exists()


def test_a_refused_step_is_shown_on_the_page_and_nothing_is_written(c, login_client):
    bag = factories.bag_at(Stage.LABELLED, chain=c)
    client = login_client(c.sampler)
    offer = {"action": "offer", "party": c.producer.pk, "to_party": c.institution.pk, "bag": [bag.pk]}
    assert client.post(reverse("medwaste:app"), offer).status_code == 302
    response = client.post(reverse("medwaste:app"), offer)
    assert response.status_code == 400
    first = Handover.objects.get()
    assert shows(
        response.content.decode(),
        "Bag %(code)s is already offered in handover %(handover)s.",
        code=bag.code,
        handover=first.code,
    )
    # A bag beyond the account's parties is not named at all.
    response = login_client(c.keeper).post(
        reverse("medwaste:app"),
        {"action": "offer", "party": c.institution.pk, "to_party": c.company.pk, "bag": [bag.pk]},
    )
    assert response.status_code == 400 and shows(response.content.decode(), "Choose the bags to hand over.")
    assert Handover.objects.count() == 1


def test_collection_onto_a_new_trip_then_delivery_and_incineration(c, login_client):
    bag = factories.bag_at(Stage.STORED, chain=c)
    keeper, driver, operator = login_client(c.keeper), login_client(c.driver), login_client(c.operator)
    keeper.post(
        reverse("medwaste:app"),
        {"action": "offer", "party": c.institution.pk, "to_party": c.company.pk, "bag": [bag.pk]},
    )
    offer = Handover.objects.get(status=HandoverStatus.OFFERED)
    url = reverse("medwaste:handover", args=[offer.code])
    assert c.vehicle.plate in driver.get(url).content.decode()
    assert driver.post(url, {"action": "accept", "trip": f"new:{c.vehicle.pk}"}).status_code == 302
    trip = Trip.objects.get()
    assert trip.driver == c.driver
    driver.post(reverse("medwaste:app"), {"action": "deliver", "trip": trip.pk, "plant": c.plant.pk})
    delivery = Handover.objects.get(status=HandoverStatus.OFFERED)
    operator.post(reverse("medwaste:handover", args=[delivery.code]), {"action": "accept"})
    operator.post(reverse("medwaste:app"), {"action": "incinerate", "party": c.plant.pk, "bag": [bag.pk]})
    html = operator.get(reverse("medwaste:bag", args=[bag.pk])).content.decode()
    assert 'data-testid="step-count">5<' in html
    trip.refresh_from_db()
    assert trip.status == "closed"


def test_the_bag_card_is_for_the_chain_and_the_overseers(c, jurisdiction, users, login_client):
    bag = factories.bag_at(Stage.STORED, chain=c)
    url = reverse("medwaste:bag", args=[bag.pk])
    assert login_client(c.keeper).get(url).status_code == 200
    assert login_client(users["waste_officer"]).get(url).status_code == 200
    assert login_client(c.driver).get(url).status_code == 404  # not on its chain (yet)
    assert login_client(users["grid_worker"]).get(url).status_code == 403
    community = login_client(users["community_officer"])  # waste.view in community A
    assert community.get(url).status_code == 200
    other = factories.bag_at(Stage.LABELLED, area=jurisdiction.grid_b)
    assert community.get(reverse("medwaste:bag", args=[other.pk])).status_code == 404


def test_scanning_a_label_opens_the_card_and_a_typo_is_refused(c, login_client):
    bag = factories.bag_at(Stage.LABELLED, chain=c)
    client = login_client(c.sampler)
    response = client.get(reverse("medwaste:scan"), {"q": bag.code.lower()})
    assert response["Location"] == reverse("medwaste:bag", args=[bag.pk])
    wrong = bag.code[:-1] + ("0" if bag.code[-1] != "0" else "1")
    response = client.get(reverse("medwaste:scan"), {"q": wrong}, follow=True)
    assert shows(
        response.content.decode(),
        "%(code)s is not a valid waste label: check the code on the label.",
        code=wrong,
    )


def test_a_forged_label_link_is_refused(c, login_client):
    from epigrid.medwaste.services import labels

    bag = factories.bag_at(Stage.LABELLED, chain=c)
    token = labels.label_token(bag)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-4]}AAAA"
    response = login_client(c.sampler).get(reverse("medwaste:label_scan", args=[forged]))
    assert response.status_code == 400
    good = login_client(c.sampler).get(reverse("medwaste:label_scan", args=[token]))
    assert good["Location"] == reverse("medwaste:bag", args=[bag.pk])


def test_trips_and_manifest_for_the_company_and_the_overseers(c, users, login_client):
    bag = factories.bag_at(Stage.COLLECTED, chain=c)
    trip = bag.trip
    for account in (c.driver, users["waste_officer"]):
        client = login_client(account)
        assert trip.number in client.get(reverse("medwaste:trips")).content.decode()
        assert client.get(reverse("medwaste:trip", args=[trip.pk])).status_code == 200
        pdf = client.get(reverse("medwaste:trip_manifest", args=[trip.pk]))
        assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert login_client(c.sampler).get(reverse("medwaste:trip", args=[trip.pk])).status_code == 404
    assert login_client(users["grid_worker"]).get(reverse("medwaste:trips")).status_code == 403


def test_the_officer_registers_a_party_adds_a_member_and_a_vehicle(jurisdiction, users, login_client):
    officer = login_client(users["waste_officer"])
    response = officer.post(
        reverse("medwaste:parties"),
        {
            "name": "测试处置公司",
            "kind": PartyKind.DISPOSER,
            "area": jurisdiction.district.pk,
            "licence_number": "鲁危废1号",
        },
    )
    assert response.status_code == 302
    company = Party.objects.get(name="测试处置公司")
    url = reverse("medwaste:party", args=[company.pk])
    assert officer.post(url, {"action": "member", "username": "waste_handler"}).status_code == 302
    assert (
        officer.post(url, {"action": "vehicle", "plate": "鲁F 12345", "capacity_kg": 1500}).status_code == 302
    )
    assert list(company.members.values_list("username", flat=True)) == ["waste_handler"]
    assert company.vehicles.get().plate == "鲁F12345"
    html = officer.get(reverse("medwaste:parties")).content.decode()
    assert "测试处置公司" in html and "鲁F12345" in html
    refused = officer.post(
        reverse("medwaste:parties"),
        {"name": "采样点", "kind": PartyKind.PRODUCER, "area": jurisdiction.grid_a.pk},
    )
    assert refused.status_code == 400
    assert shows(
        refused.content.decode(),
        "A producer hands its waste to a medical institution's temporary storage: choose it.",
    )
