"""The vaccination API: catalogue and sites, eligibility, bookings (replays, full slots, scope), doses and
AEFI, self-reports with their certificate photo, review."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone
from PIL import Image

from epigrid.core.roles import Role
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.vaccination.models import AdverseEvent, Booking, BookingStatus, Dose, SelfReport, Slot
from epigrid.vaccination.services import bookings, catalogue, doses
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


def test_booking_list_detail_reschedule_and_cancel(resident, api_client, users, clinic, person_a, person_b):
    made = post(resident, "/api/v1/vaccination/bookings", book_body(clinic)).json()
    bookings.booking_create(
        actor=None, person=person_b, slot=factories.future_slot(clinic.site, index=3), vaccine=clinic.vaccine
    )
    mine = get(resident, "/api/v1/vaccination/bookings").json()
    assert [b["code"] for b in mine] == [made["code"]]  # not person B's
    staff = get(api_client(users["vaccinator"]), "/api/v1/vaccination/bookings?status=booked").json()
    assert len(staff) == 2
    grid_a = get(api_client(users["grid_worker"]), "/api/v1/vaccination/bookings").json()
    assert [b["person_id"] for b in grid_a] == [person_a.pk]
    assert get(resident, "/api/v1/vaccination/bookings?status=nonsense").status_code == 400
    assert get(api_client(users["sampler"]), "/api/v1/vaccination/bookings").status_code == 403

    code = made["code"]
    detail = get(resident, f"/api/v1/vaccination/bookings/{code.lower()}")
    assert detail.status_code == 200 and detail.json()["id"] == made["id"]
    b_code = Booking.objects.get(person=person_b).code
    assert get(resident, f"/api/v1/vaccination/bookings/{b_code}").status_code == 404
    assert get(api_client(users["grid_worker"]), f"/api/v1/vaccination/bookings/{b_code}").status_code == 404

    later = factories.future_slot(clinic.site, days=2)
    moved = post(resident, f"/api/v1/vaccination/bookings/{code}/reschedule", {"slot_id": later.pk})
    assert moved.status_code == 200 and moved.json()["slot_id"] == later.pk
    clinic.slot.refresh_from_db()
    later.refresh_from_db()
    assert (clinic.slot.booked, later.booked) == (0, 1)
    assert (
        post(resident, f"/api/v1/vaccination/bookings/{b_code}/reschedule", {"slot_id": later.pk}).status_code
        == 404
    )

    cancelled = post(resident, f"/api/v1/vaccination/bookings/{code}/cancel", {"reason": "出差"})
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == ("cancelled", "出差")
    later.refresh_from_db()
    assert later.booked == 0
    twice = post(resident, f"/api/v1/vaccination/bookings/{code}/cancel", {})
    assert twice.status_code == 409
    assert get(resident, "/api/v1/vaccination/bookings?status=cancelled").json()[0]["code"] == code


def test_rescheduling_to_a_full_slot_leaves_the_booking(resident, clinic, jurisdiction):
    code = post(resident, "/api/v1/vaccination/bookings", book_body(clinic)).json()["code"]
    full = factories.future_slot(clinic.site, index=1)
    for _ in range(full.capacity):
        bookings.booking_create(
            actor=None, person=PersonFactory(grid=jurisdiction.grid_a), slot=full, vaccine=clinic.vaccine
        )
    response = post(resident, f"/api/v1/vaccination/bookings/{code}/reschedule", {"slot_id": full.pk})
    assert response.status_code == 409
    assert Booking.objects.get(code=code).slot_id == clinic.slot.pk


# --- catalogue, sites, slots, eligibility --------------------------------------------------------------------


def test_vaccines_sites_and_slots(resident, clinic, jurisdiction):
    retired = factories.vaccine(max_age_years=59)
    catalogue.vaccine_set_active(actor=None, vaccine=retired, active=False)
    other = factories.vaccine(max_age_years=59)
    other_site = factories.site(jurisdiction.grid_b, other, name="B接种点")
    vaccines = get(resident, "/api/v1/vaccination/vaccines").json()
    ids = {v["id"] for v in vaccines}
    assert clinic.vaccine.pk in ids and other.pk in ids and retired.pk not in ids
    row = next(v for v in vaccines if v["id"] == other.pk)
    assert row["disease"] == "covid19" and row["max_age_years"] == 59 and row["doses_in_series"] == 2

    sites = get(resident, "/api/v1/vaccination/sites").json()
    assert {s["id"] for s in sites} == {clinic.site.pk, other_site.pk}
    offering = get(resident, f"/api/v1/vaccination/sites?vaccine_id={other.pk}").json()
    assert [(s["id"], s["vaccine_ids"]) for s in offering] == [(other_site.pk, [other.pk])]
    assert get(resident, "/api/v1/vaccination/sites?vaccine_id=999999").status_code == 404

    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    slots = get(
        resident, f"/api/v1/vaccination/sites/{clinic.site.pk}/slots?start={tomorrow.isoformat()}&days=1"
    ).json()
    assert len(slots) == 8  # 08:00-12:00 in half hours
    assert {timezone.localdate(dt.datetime.fromisoformat(s["starts_at"])) for s in slots} == {tomorrow}
    assert slots[0] == {
        "id": clinic.slot.pk,
        "starts_at": slots[0]["starts_at"],
        "ends_at": slots[0]["ends_at"],
        "capacity": 2,
        "booked": 0,
        "free": 2,
    }
    week = get(resident, f"/api/v1/vaccination/sites/{clinic.site.pk}/slots").json()
    assert all(dt.datetime.fromisoformat(s["starts_at"]) > timezone.now() for s in week)
    assert get(resident, "/api/v1/vaccination/sites/999999/slots").status_code == 404


def test_eligibility_for_oneself_and_for_people_in_scope(resident, api_client, users, clinic, person_b):
    url = f"/api/v1/vaccination/eligibility?vaccine_id={clinic.vaccine.pk}"
    own = get(resident, url)
    assert own.status_code == 200
    assert own.json() == {
        "eligible": True,
        "dose_number": 1,
        "kind": "series",
        "reasons": [],
        "earliest_on": None,
    }
    assert get(resident, f"{url}&person_id={person_b.pk}").status_code == 404
    vaccinator = api_client(users["vaccinator"])
    assert get(vaccinator, f"{url}&person_id={person_b.pk}").json()["eligible"] is True
    assert get(vaccinator, url).status_code == 400  # staff say whom
    assert get(api_client(users["grid_worker"]), f"{url}&person_id={person_b.pk}").status_code == 404
    assert get(api_client(users["sampler"]), f"{url}&person_id={person_b.pk}").status_code == 403

    doses.dose_record(
        actor=None,
        person=person_b,
        vaccine=clinic.vaccine,
        batch=factories.batch(clinic.vaccine),
        site=clinic.site,
        given_at=timezone.now() - dt.timedelta(days=2),
    )
    soon = get(vaccinator, f"{url}&person_id={person_b.pk}").json()
    assert soon["eligible"] is False and soon["dose_number"] == 2
    assert "Too soon" in soon["reasons"][0]
    day = dt.date.fromisoformat(soon["earliest_on"])
    on_time = get(vaccinator, f"{url}&person_id={person_b.pk}&on={day.isoformat()}").json()
    assert on_time["eligible"] is True


# --- doses and AEFI ---------------------------------------------------------------------------------------------


def dose_body(clinic, person, batch, **extra):
    return {
        "person_id": person.pk,
        "vaccine_id": clinic.vaccine.pk,
        "batch_id": batch.pk,
        "site_id": clinic.site.pk,
        **extra,
    }


def test_recording_a_dose_attends_the_booking(vaccinator, resident, clinic, person_a):
    code = post(resident, "/api/v1/vaccination/bookings", book_body(clinic)).json()["code"]
    batch = factories.batch(clinic.vaccine, lot="A123")
    response = post(
        vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person_a, batch, booking_code=code)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["person_id"], body["dose_number"], body["kind"], body["source"]) == (
        person_a.pk,
        1,
        "series",
        "recorded",
    )
    assert body["lot_number"] == "A123" and body["site_id"] == clinic.site.pk
    assert body["person_name"] == person_a.name_masked
    assert Booking.objects.get(code=code).status == BookingStatus.ATTENDED
    # the resident sees their own dose
    own = get(resident, f"/api/v1/vaccination/doses/{body['id']}")
    assert own.status_code == 200 and own.json()["id"] == body["id"]
    # the same day again: a conflict; too soon after it on another day: a 400 unless overridden
    again = post(vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person_a, batch))
    assert again.status_code in (400, 409)
    yesterday = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert (
        post(
            vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person_a, batch, given_at=yesterday)
        ).status_code
        == 400
    )
    assert Dose.objects.count() == 1


def test_dose_refusals(vaccinator, users, api_client, clinic, person_a, person_b, jurisdiction):
    batch = factories.batch(clinic.vaccine)
    expired = factories.batch(clinic.vaccine, expires_in_days=-1)
    resident = api_client(users["resident"])
    assert post(resident, "/api/v1/vaccination/doses", dose_body(clinic, person_a, batch)).status_code == 403
    grid_worker = api_client(users["grid_worker"])
    assert (
        post(grid_worker, "/api/v1/vaccination/doses", dose_body(clinic, person_a, batch)).status_code == 403
    )
    old = post(vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person_a, expired))
    assert old.status_code == 400 and "expired" in old.json()["detail"]
    local = UserFactory(username="vacc_grid_a", role=Role.VACCINATOR, org_unit=jurisdiction.grid_a)
    out = post(api_client(local), "/api/v1/vaccination/doses", dose_body(clinic, person_b, batch))
    assert out.status_code == 404
    assert (
        post(
            vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person_a, batch, batch_id=10**9)
        ).status_code
        == 404
    )
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    ahead = post(vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person_a, batch, given_at=future))
    assert ahead.status_code == 400 and ahead.json()["field"] == "given_at"
    assert not Dose.objects.exists()


def test_an_override_records_a_dose_the_rules_refuse(vaccinator, jurisdiction):
    adults = factories.vaccine(min_age_years=100)
    site = factories.site(jurisdiction.grid_a, adults)
    person = PersonFactory(grid=jurisdiction.grid_a)
    clinic = SimpleNamespace(vaccine=adults, site=site)
    batch = factories.batch(adults)
    refused = post(vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person, batch))
    assert refused.status_code == 400 and "aged 100" in refused.json()["detail"]
    made = post(
        vaccinator, "/api/v1/vaccination/doses", dose_body(clinic, person, batch, override_reason="医嘱")
    )
    assert made.status_code == 201
    assert Dose.objects.get().override_reason == "医嘱"


def test_aefi_on_a_dose(vaccinator, users, api_client, clinic, person_a):
    dose = doses.dose_record(
        actor=None,
        person=person_a,
        vaccine=clinic.vaccine,
        batch=factories.batch(clinic.vaccine),
        site=clinic.site,
        given_at=timezone.now() - dt.timedelta(hours=2),
    )
    url = f"/api/v1/vaccination/doses/{dose.pk}/aefi"
    onset = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    made = post(vaccinator, url, {"onset_at": onset, "symptoms": "发热 38.5", "severity": "moderate"})
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["dose_id"], body["severity"], body["serious"], body["outcome"]) == (
        dose.pk,
        "moderate",
        False,
        "unknown",
    )
    severe = post(vaccinator, url, {"onset_at": onset, "symptoms": "过敏性休克", "severity": "severe"})
    assert severe.status_code == 201 and severe.json()["serious"] is True
    bad = post(vaccinator, url, {"onset_at": onset, "symptoms": "x", "severity": "awful"})
    assert bad.status_code == 400 and bad.json()["field"] == "severity"
    before = (dose.given_at - dt.timedelta(hours=1)).isoformat()
    assert post(vaccinator, url, {"onset_at": before, "symptoms": "x", "severity": "mild"}).status_code == 400
    resident = api_client(users["resident"])
    assert post(resident, url, {"onset_at": onset, "symptoms": "x", "severity": "mild"}).status_code == 403
    assert post(vaccinator, "/api/v1/vaccination/doses/999999/aefi", {}).status_code in (404, 422)
    assert AdverseEvent.objects.count() == 2


def test_dose_detail_needs_the_view_permission_for_staff(users, api_client, clinic, person_a):
    dose = doses.dose_record(
        actor=None,
        person=person_a,
        vaccine=clinic.vaccine,
        batch=factories.batch(clinic.vaccine),
        site=clinic.site,
        given_at=timezone.now() - dt.timedelta(hours=2),
    )
    assert get(api_client(users["sampler"]), f"/api/v1/vaccination/doses/{dose.pk}").status_code == 403
    assert get(api_client(users["commander"]), f"/api/v1/vaccination/doses/{dose.pk}").status_code == 200


# --- self-reports -----------------------------------------------------------------------------------------------


def photo_upload(data: bytes | None = None, name: str = "cert.jpg") -> io.BytesIO:
    if data is None:
        out = io.BytesIO()
        Image.new("RGB", (1600, 1200), "white").save(out, format="PNG")
        data = out.getvalue()
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def submit(client, vaccine, *, certificate=None, **fields):
    body = {
        "vaccine_id": vaccine.pk,
        "given_on": (timezone.localdate() - dt.timedelta(days=40)).isoformat(),
        "place": "外省某医院",
        "lot_number": "x202101",
        "certificate": certificate if certificate is not None else photo_upload(),
        **fields,
    }
    return client.post("/api/v1/vaccination/self-reports", body, HTTP_ACCEPT_LANGUAGE="en")


def test_a_resident_reports_a_dose_and_a_replay_reports_once(resident, clinic, person_a):
    client_id = str(uuid.uuid4())
    first = submit(resident, clinic.vaccine, client_id=client_id)
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["person_id"], body["status"], body["lot_number"]) == (person_a.pk, "pending", "X202101")
    assert "certificate" not in body
    stored = SelfReport.objects.get()
    assert max(Image.open(io.BytesIO(bytes(stored.certificate))).size) == 1280  # re-encoded, not the upload
    replay = submit(resident, clinic.vaccine, client_id=client_id)
    assert replay.status_code == 200 and replay.json()["id"] == body["id"]
    assert SelfReport.objects.count() == 1
    detail = get(resident, f"/api/v1/vaccination/self-reports/{body['id']}")
    assert detail.status_code == 200 and detail.json() == body


def test_bad_certificates_and_dates_are_400_and_store_nothing(resident, clinic):
    garbage = submit(resident, clinic.vaccine, certificate=photo_upload(b"this is not an image"))
    assert garbage.status_code == 400
    assert garbage.json()["field"] == "certificate" and "not an image" in garbage.json()["detail"]
    huge = submit(resident, clinic.vaccine, certificate=photo_upload(b"\xff" * (8 * 1024 * 1024 + 1)))
    assert huge.status_code == 400
    assert huge.json()["field"] == "certificate" and "larger than 8 MB" in huge.json()["detail"]
    future = submit(
        resident, clinic.vaccine, given_on=(timezone.localdate() + dt.timedelta(days=1)).isoformat()
    )
    assert future.status_code == 400 and future.json()["field"] == "given_on"
    no_place = submit(resident, clinic.vaccine, place="  ")
    assert no_place.status_code == 400 and no_place.json()["field"] == "place"
    assert not SelfReport.objects.exists()


def test_staff_verify_or_reject_self_reports(resident, vaccinator, users, api_client, clinic, person_a):
    first = submit(resident, clinic.vaccine).json()
    second = submit(
        resident, clinic.vaccine, given_on=(timezone.localdate() - dt.timedelta(days=10)).isoformat()
    ).json()
    assert post(resident, f"/api/v1/vaccination/self-reports/{first['id']}/verify").status_code == 403
    assert (
        post(
            api_client(users["grid_worker"]), f"/api/v1/vaccination/self-reports/{first['id']}/verify"
        ).status_code
        == 403
    )
    verified = post(vaccinator, f"/api/v1/vaccination/self-reports/{first['id']}/verify")
    assert verified.status_code == 200, verified.content
    assert verified.json()["status"] == "verified" and verified.json()["dose_id"]
    dose = Dose.objects.get(pk=verified.json()["dose_id"])
    assert (dose.person_id, dose.source, dose.dose_number) == (person_a.pk, "self_report", 1)
    assert post(vaccinator, f"/api/v1/vaccination/self-reports/{first['id']}/verify").status_code == 409

    no_reason = post(vaccinator, f"/api/v1/vaccination/self-reports/{second['id']}/reject", {"reason": " "})
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    rejected = post(
        vaccinator, f"/api/v1/vaccination/self-reports/{second['id']}/reject", {"reason": "照片看不清"}
    )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "照片看不清")
    seen = get(resident, f"/api/v1/vaccination/self-reports/{second['id']}").json()
    assert (seen["status"], seen["reason"]) == ("rejected", "照片看不清")


def test_self_reports_are_scoped(users, api_client, clinic, person_b, jurisdiction):
    theirs = doses.self_report_submit(
        actor=None,
        person=person_b,
        vaccine=clinic.vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=5),
        place="外地",
        photo=photo_upload().getvalue(),
    )
    url = f"/api/v1/vaccination/self-reports/{theirs.pk}"
    assert get(api_client(users["resident"]), url).status_code == 404
    assert get(api_client(users["grid_worker"]), url).status_code == 404
    assert get(api_client(users["vaccinator"]), url).status_code == 200
    local = UserFactory(username="vacc_a2", role=Role.VACCINATOR, org_unit=jurisdiction.grid_a)
    assert post(api_client(local), f"{url}/verify").status_code == 404
    # staff entering a report for someone name the person; a resident naming another is a 404
    made = submit(api_client(users["vaccinator"]), clinic.vaccine, person_id=person_b.pk)
    assert made.status_code == 201 and made.json()["person_id"] == person_b.pk
    assert submit(api_client(users["resident"]), clinic.vaccine, person_id=person_b.pk).status_code == 404
    assert SelfReport.objects.filter(person=person_b).count() == 2
