"""The vaccination API: catalogue and sites, eligibility, bookings (replays, full slots, scope), doses and
AEFI, self-reports with their certificate photo, review."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

from epigrid.core.roles import Role
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.vaccination.models import (
    Booking,
    Slot,
)
from epigrid.vaccination.services import bookings
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db


def post(client, path, body=None):
    return client.post(
        path, json.dumps(body or {}, default=str), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


def get(client, path):
    return client.get(path, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def clinic(jurisdiction):
    vaccine = factories.vaccine()
    site = factories.site(jurisdiction.grid_a, vaccine, capacity=2)
    return SimpleNamespace(vaccine=vaccine, site=site, slot=factories.future_slot(site))


@pytest.fixture
def resident(users, api_client):
    return api_client(users["resident"])


@pytest.fixture
def vaccinator(users, api_client):
    return api_client(users["vaccinator"])


def book_body(clinic, **extra):
    return {"slot_id": clinic.slot.pk, "vaccine_id": clinic.vaccine.pk, **extra}


# --- bookings ---------------------------------------------------------------------------------------------------


def test_a_resident_books_for_themselves_and_a_replay_books_once(resident, clinic, person_a):
    client_id = str(uuid.uuid4())
    first = post(resident, "/api/v1/vaccination/bookings", book_body(clinic, client_id=client_id))
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["person_id"] == person_a.pk and body["person_name"] == person_a.name_masked
    assert person_a.name not in first.content.decode()
    assert (body["slot_id"], body["site_id"], body["vaccine_id"]) == (
        clinic.slot.pk,
        clinic.site.pk,
        clinic.vaccine.pk,
    )
    assert body["status"] == "booked" and body["dose_number"] == 1 and len(body["code"]) == 8
    assert body["site_name"] == clinic.site.name
    replay = post(resident, "/api/v1/vaccination/bookings", book_body(clinic, client_id=client_id))
    assert replay.status_code == 200 and replay.json() == body
    assert Booking.objects.count() == 1
    clinic.slot.refresh_from_db()
    assert clinic.slot.booked == 1


def test_booking_stays_lean(resident, clinic, django_assert_max_num_queries):
    get(resident, "/api/v1/vaccination/vaccines")  # warm the token cache like a running client
    with django_assert_max_num_queries(15):
        response = post(
            resident, "/api/v1/vaccination/bookings", book_body(clinic, client_id=str(uuid.uuid4()))
        )
    assert response.status_code == 201


def test_a_resident_cannot_book_for_someone_else(resident, clinic, person_b):
    response = post(resident, "/api/v1/vaccination/bookings", book_body(clinic, person_id=person_b.pk))
    assert response.status_code == 404
    assert not Booking.objects.exists()


def test_staff_book_for_people_of_their_area_only(users, api_client, clinic, person_b, jurisdiction):
    response = post(
        api_client(users["vaccinator"]),
        "/api/v1/vaccination/bookings",
        book_body(clinic, person_id=person_b.pk),
    )
    assert response.status_code == 201 and response.json()["person_id"] == person_b.pk
    assert Booking.objects.get().booked_by == users["vaccinator"]
    # grid workers may read but not book
    other = PersonFactory(grid=jurisdiction.grid_a)
    refused = post(
        api_client(users["grid_worker"]),
        "/api/v1/vaccination/bookings",
        book_body(clinic, person_id=other.pk),
    )
    assert refused.status_code == 403
    # a vaccinator of grid A does not find a person of grid B
    local = UserFactory(username="vacc_a", role=Role.VACCINATOR, org_unit=jurisdiction.grid_a)
    outside = PersonFactory(grid=jurisdiction.grid_b)
    missing = post(api_client(local), "/api/v1/vaccination/bookings", book_body(clinic, person_id=outside.pk))
    assert missing.status_code == 404
    no_person = post(api_client(users["vaccinator"]), "/api/v1/vaccination/bookings", book_body(clinic))
    assert no_person.status_code == 400 and no_person.json()["field"] == "person_id"
    assert Booking.objects.count() == 1


def test_a_full_slot_and_a_second_booking_are_conflicts(resident, clinic, jurisdiction):
    for _ in range(clinic.slot.capacity):
        bookings.booking_create(
            actor=None,
            person=PersonFactory(grid=jurisdiction.grid_a),
            slot=clinic.slot,
            vaccine=clinic.vaccine,
        )
    full = post(resident, "/api/v1/vaccination/bookings", book_body(clinic))
    assert full.status_code == 409 and "full" in full.json()["detail"]
    other_slot = factories.future_slot(clinic.site, index=1)
    made = post(
        resident,
        "/api/v1/vaccination/bookings",
        {"slot_id": other_slot.pk, "vaccine_id": clinic.vaccine.pk},
    )
    assert made.status_code == 201
    again = post(
        resident,
        "/api/v1/vaccination/bookings",
        {"slot_id": factories.future_slot(clinic.site, index=2).pk, "vaccine_id": clinic.vaccine.pk},
    )
    assert again.status_code == 409 and "already have an appointment" in again.json()["detail"]
    assert Booking.objects.filter(person__account__username="resident").count() == 1


def test_not_eligible_is_a_400_with_the_reasons(resident, jurisdiction):
    elderly_only = factories.vaccine(min_age_years=100)
    site = factories.site(jurisdiction.grid_a, elderly_only)
    response = post(
        resident,
        "/api/v1/vaccination/bookings",
        {"slot_id": factories.future_slot(site).pk, "vaccine_id": elderly_only.pk},
    )
    assert response.status_code == 400 and "aged 100 and over" in response.json()["detail"]
    assert not Booking.objects.exists()
    assert Slot.objects.filter(site=site, booked__gt=0).count() == 0


def test_unknown_slot_or_vaccine_is_404(resident, clinic):
    assert post(resident, "/api/v1/vaccination/bookings", book_body(clinic, slot_id=10**9)).status_code == 404
    assert (
        post(resident, "/api/v1/vaccination/bookings", book_body(clinic, vaccine_id=10**9)).status_code == 404
    )
