"""The resident's vaccination pages through HTTP: my record, booking (vaccine, site, slot; double taps, full
slots, refusals), my appointment with its code and QR, rescheduling and cancelling, self-reports; staff and
other people's codes get 404s; names stay masked. Pages are served in zh-Hans: strings are compared through
the catalogue."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from epigrid.core.testing import shows
from epigrid.core.tests.factories import PersonFactory
from epigrid.vaccination.models import Booking, BookingStatus, SelfReport, Slot
from epigrid.vaccination.services import bookings, doses
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(jurisdiction):
    vaccine = factories.vaccine()
    site = factories.site(jurisdiction.grid_a, vaccine, capacity=2, name="东山接种点")
    return vaccine, site


@pytest.fixture
def resident(users, login_client):
    return login_client(users["resident"])


def png(size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, format="PNG")
    return out.getvalue()


def past_dose(person, vaccine, site, days_ago: int):
    return doses.dose_record(
        actor=None,
        person=person,
        vaccine=vaccine,
        batch=factories.batch(vaccine),
        site=site,
        given_at=timezone.now() - dt.timedelta(days=days_ago),
    )


# --- access -----------------------------------------------------------------------------------------------------


def test_resident_pages_are_for_residents(users, login_client, client, clinic, person_a):
    _vaccine, site = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site), vaccine=clinic[0]
    )
    urls = [
        reverse("vaccination:my"),
        reverse("vaccination:book"),
        reverse("vaccination:book_slots", args=[site.pk]) + f"?vaccine={clinic[0].pk}",
        reverse("vaccination:booking", args=[booking.code]),
        reverse("vaccination:self_report_new"),
    ]
    resident = login_client(users["resident"])
    for url in urls:
        assert resident.get(url).status_code == 200, url
        for staff in ("vaccinator", "district_admin", "grid_worker"):
            assert login_client(users[staff]).get(url).status_code == 404, (staff, url)
        assert client.get(url).status_code == 302  # to the login page


def test_someone_elses_booking_code_is_404(resident, clinic, person_b):
    vaccine, site = clinic
    theirs = bookings.booking_create(
        actor=None, person=person_b, slot=factories.future_slot(site), vaccine=vaccine
    )
    assert resident.get(reverse("vaccination:booking", args=[theirs.code])).status_code == 404
    assert (
        resident.post(reverse("vaccination:booking", args=[theirs.code]), {"action": "cancel"}).status_code
        == 404
    )
    assert resident.get(reverse("vaccination:booking", args=["NOSUCH23"])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == BookingStatus.BOOKED


# --- my record --------------------------------------------------------------------------------------------------


def test_my_page_shows_doses_booking_reports_and_standing(resident, clinic, person_a):
    vaccine, site = clinic
    past_dose(person_a, vaccine, site, days_ago=30)
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site), vaccine=vaccine
    )
    rejected = doses.self_report_submit(
        actor=None,
        person=person_a,
        vaccine=vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=300),
        place="外省人民医院",
        photo=png(),
    )
    doses.self_report_reject(actor=None, report=rejected, reason="照片看不清")
    doses.self_report_submit(
        actor=None,
        person=person_a,
        vaccine=vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=200),
        place="另一医院",
        photo=png(),
    )
    response = resident.get(reverse("vaccination:my"))
    html = response.content.decode()
    assert response.status_code == 200
    assert person_a.name_masked in html and person_a.name not in html
    # the dose: number, product, date, place, source
    assert re.search(r'data-testid="dose" data-number="1" data-source="recorded"', html)
    assert vaccine.name in html and site.name in html
    assert (timezone.localdate() - dt.timedelta(days=30)).isoformat() in html
    assert shows(html, "Recorded at a site")
    # the open booking and its code
    assert f'data-code="{booking.code}"' in html
    assert reverse("vaccination:booking", args=[booking.code]) in html
    # self-reports with status and the rejection reason
    assert 'data-status="rejected"' in html and 'data-status="pending"' in html
    assert "照片看不清" in html and shows(html, "Waiting for verification")
    # standing: one dose of two, next dose due 21 days after the first
    assert 'data-doses="1" data-complete="0"' in html
    due = (timezone.localdate() - dt.timedelta(days=30) + dt.timedelta(days=21)).isoformat()
    assert due in html and shows(html, "Series not complete")
    assert reverse("vaccination:book") in html and reverse("vaccination:self_report_new") in html


def test_my_page_when_nothing_is_recorded(resident):
    html = resident.get(reverse("vaccination:my")).content.decode()
    assert shows(html, "No doses recorded yet.") and shows(html, "No vaccination recorded yet.")


# --- booking ----------------------------------------------------------------------------------------------------


def test_book_lists_what_the_person_may_have_and_why_not_the_rest(resident, clinic, jurisdiction):
    vaccine, site = clinic
    elderly = factories.vaccine(min_age_years=100)
    factories.site(jurisdiction.grid_b, elderly, name="西山接种点")
    html = resident.get(reverse("vaccination:book")).content.decode()
    assert f'data-testid="vaccine" data-vaccine="{vaccine.pk}"' in html
    assert f'data-testid="vaccine" data-vaccine="{elderly.pk}"' not in html
    assert f'data-testid="refused-vaccine" data-vaccine="{elderly.pk}"' in html
    assert shows(html, "%(vaccine)s is for people aged %(age)s and over.", vaccine=elderly.name, age=100)
    # step 2: the sites offering the chosen vaccine
    chosen = resident.get(reverse("vaccination:book") + f"?vaccine={vaccine.pk}").content.decode()
    assert f'data-site="{site.pk}"' in chosen and "西山接种点" not in chosen
    assert reverse("vaccination:book_slots", args=[site.pk]) + f"?vaccine={vaccine.pk}" in chosen
    # an ineligible vaccine cannot be chosen by editing the address
    sneaky = resident.get(reverse("vaccination:book") + f"?vaccine={elderly.pk}").content.decode()
    assert 'data-testid="site"' not in sneaky
    assert shows(sneaky, "You cannot book this vaccine now; see the reasons below.")


def test_too_soon_today_is_bookable_from_the_end_of_the_interval(resident, clinic, person_a):
    vaccine, site = clinic
    past_dose(person_a, vaccine, site, days_ago=18)  # the second dose is possible in 3 days
    html = resident.get(reverse("vaccination:book")).content.decode()
    earliest = (timezone.localdate() - dt.timedelta(days=18) + dt.timedelta(days=21)).isoformat()
    assert f'data-vaccine="{vaccine.pk}"' in html and 'data-testid="from-day"' in html and earliest in html
    slots = resident.get(
        reverse("vaccination:book_slots", args=[site.pk]) + f"?vaccine={vaccine.pk}"
    ).content.decode()
    shown = [int(pk) for pk in re.findall(r'data-testid="slot" data-slot="(\d+)"', slots)]
    assert shown
    days = {timezone.localdate(s.starts_at) for s in Slot.objects.filter(pk__in=shown)}
    assert min(days).isoformat() == earliest


def test_slots_by_day_and_a_double_tap_books_once(resident, clinic, person_a):
    vaccine, site = clinic
    url = reverse("vaccination:book_slots", args=[site.pk])
    page = resident.get(f"{url}?vaccine={vaccine.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert tomorrow.isoformat() in html
    client_id = re.search(r'name="client_id" value="([0-9a-f-]{36})"', html).group(1)
    slot = factories.future_slot(site, days=2, index=3)
    form = {"vaccine": vaccine.pk, "client_id": client_id, "slot": slot.pk}
    first = resident.post(url, form)
    second = resident.post(url, form)
    booking = Booking.objects.get(person=person_a)
    target = reverse("vaccination:booking", args=[booking.code])
    assert (first.status_code, first.url) == (302, target)
    assert (second.status_code, second.url) == (302, target)
    assert booking.slot_id == slot.pk and Booking.objects.count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1


def test_a_full_slot_says_so_and_books_nothing(resident, clinic, person_a, jurisdiction):
    vaccine, site = clinic
    slot = factories.future_slot(site)
    for _ in range(slot.capacity):
        bookings.booking_create(
            actor=None, person=PersonFactory(grid=jurisdiction.grid_a), slot=slot, vaccine=vaccine
        )
    url = reverse("vaccination:book_slots", args=[site.pk])
    html = resident.get(f"{url}?vaccine={vaccine.pk}").content.decode()
    assert re.search(rf'data-slot="{slot.pk}"\s+disabled', html)
    response = resident.post(url, {"vaccine": vaccine.pk, "client_id": str(uuid.uuid4()), "slot": slot.pk})
    assert response.status_code == 409
    assert shows(response.content.decode(), "This time slot is full; choose another.")
    assert not Booking.objects.filter(person=person_a).exists()


def test_not_eligible_says_why_and_books_nothing(resident, jurisdiction, person_a):
    elderly = factories.vaccine(min_age_years=100)
    site = factories.site(jurisdiction.grid_a, elderly)
    url = reverse("vaccination:book_slots", args=[site.pk])
    response = resident.post(
        url,
        {"vaccine": elderly.pk, "client_id": str(uuid.uuid4()), "slot": factories.future_slot(site).pk},
    )
    assert response.status_code == 400
    assert shows(
        response.content.decode(),
        "%(vaccine)s is for people aged %(age)s and over.",
        vaccine=elderly.name,
        age=100,
    )
    assert not Booking.objects.exists()


def test_slots_without_a_vaccine_go_back_to_the_choice(resident, clinic, jurisdiction):
    _vaccine, site = clinic
    url = reverse("vaccination:book_slots", args=[site.pk])
    assert resident.get(url).url == reverse("vaccination:book")
    elsewhere = factories.vaccine()
    assert resident.get(f"{url}?vaccine={elsewhere.pk}").url == reverse("vaccination:book")
    assert resident.get(reverse("vaccination:book_slots", args=[10**6])).status_code == 404


def test_a_second_booking_for_the_disease_is_refused(resident, clinic, person_a):
    vaccine, site = clinic
    first = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site), vaccine=vaccine
    )
    book = resident.get(reverse("vaccination:book")).content.decode()
    assert f'data-testid="refused-vaccine" data-vaccine="{vaccine.pk}"' in book and first.code in book
    url = reverse("vaccination:book_slots", args=[site.pk])
    response = resident.post(
        url,
        {
            "vaccine": vaccine.pk,
            "client_id": str(uuid.uuid4()),
            "slot": factories.future_slot(site, index=1).pk,
        },
    )
    assert response.status_code == 409
    assert shows(
        response.content.decode(),
        "You already have an appointment for this vaccination; reschedule or cancel it.",
    )
    assert Booking.objects.filter(person=person_a).count() == 1


# --- my appointment ---------------------------------------------------------------------------------------------


def test_booking_page_shows_the_code_and_its_qr(resident, clinic, person_a):
    vaccine, site = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site), vaccine=vaccine
    )
    url = reverse("vaccination:booking", args=[booking.code])
    html = resident.get(url).content.decode()
    assert f'data-testid="booking-code">{booking.code}<' in html
    qr = re.search(r'data-testid="booking-qr" data-code="([A-Z0-9]+)"[^>]*><svg', html)
    assert qr and qr.group(1) == booking.code
    assert site.name in html and vaccine.name in html
    assert person_a.name_masked in html and person_a.name not in html
    lower = resident.get(reverse("vaccination:booking", args=[booking.code.lower()]))
    assert (lower.status_code, lower.url) == (302, url)


def test_reschedule_to_another_slot(resident, clinic, person_a, jurisdiction):
    vaccine, site = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site), vaccine=vaccine
    )
    url = reverse("vaccination:booking", args=[booking.code])
    html = resident.get(f"{url}?step=reschedule").content.decode()
    shown = {int(pk) for pk in re.findall(r'data-testid="slot" data-slot="(\d+)"', html)}
    assert booking.slot_id not in shown and shown
    target = factories.future_slot(site, days=3, index=2)
    assert target.pk in shown
    moved = resident.post(url, {"action": "reschedule", "slot": target.pk})
    assert (moved.status_code, moved.url) == (302, url)
    booking.refresh_from_db()
    assert booking.slot_id == target.pk and booking.status == BookingStatus.BOOKED
    # a full slot leaves the booking where it is and says why
    full = factories.future_slot(site, days=4)
    for _ in range(full.capacity):
        bookings.booking_create(
            actor=None, person=PersonFactory(grid=jurisdiction.grid_a), slot=full, vaccine=vaccine
        )
    refused = resident.post(url, {"action": "reschedule", "slot": full.pk})
    assert refused.status_code == 409
    assert shows(refused.content.decode(), "This time slot is full; choose another.")
    booking.refresh_from_db()
    assert booking.slot_id == target.pk
    # a slot of another site is not this booking's to take
    other_site = factories.site(jurisdiction.grid_a, vaccine, name="另一接种点")
    stranger = resident.post(url, {"action": "reschedule", "slot": factories.future_slot(other_site).pk})
    assert stranger.status_code == 404


def test_cancel_after_a_confirmation(resident, clinic, person_a):
    vaccine, site = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site), vaccine=vaccine
    )
    url = reverse("vaccination:booking", args=[booking.code])
    page = resident.get(url).content.decode()
    assert 'data-testid="cancel-link"' in page and 'data-testid="cancel-confirm"' not in page
    confirm = resident.get(f"{url}?step=cancel").content.decode()
    assert 'data-testid="cancel-confirm"' in confirm
    assert shows(confirm, "Cancel this appointment?")
    done = resident.post(url, {"action": "cancel", "reason": "临时出差"})
    assert (done.status_code, done.url) == (302, url)
    booking.refresh_from_db()
    assert (booking.status, booking.cancel_reason) == (BookingStatus.CANCELLED, "临时出差")
    booking.slot.refresh_from_db()
    assert booking.slot.booked == 0
    after = resident.get(url).content.decode()
    assert 'data-status="cancelled"' in after and 'data-testid="booking-qr"' not in after
    assert 'data-testid="cancel-link"' not in after
    again = resident.post(url, {"action": "cancel"})
    assert again.status_code == 409


# --- self-reports -----------------------------------------------------------------------------------------------


def report_form(vaccine, **extra):
    return {
        "vaccine": vaccine.pk,
        "given_on": (timezone.localdate() - dt.timedelta(days=60)).isoformat(),
        "place": "上海市某社区卫生服务中心",
        "lot_number": "b2021",
        "client_id": str(uuid.uuid4()),
        "certificate": SimpleUploadedFile("cert.png", png(), content_type="image/png"),
        **extra,
    }


def test_self_report_form_takes_a_photo(resident):
    html = resident.get(reverse("vaccination:self_report_new")).content.decode()
    assert 'type="file"' in html and 'accept="image/*"' in html and "capture=" in html
    assert 'enctype="multipart/form-data"' in html
    assert re.search(r'name="client_id" value="[0-9a-f-]{36}"', html)


def test_self_report_is_stored_once_and_shown_on_my_page(resident, clinic, person_a):
    vaccine, _site = clinic
    form = report_form(vaccine)
    response = resident.post(reverse("vaccination:self_report_new"), form)
    assert (response.status_code, response.url) == (302, reverse("vaccination:my"))
    form["certificate"] = SimpleUploadedFile("cert.png", png(), content_type="image/png")
    assert resident.post(reverse("vaccination:self_report_new"), form).status_code == 302
    report = SelfReport.objects.get()
    assert (report.person_id, report.lot_number, report.status) == (person_a.pk, "B2021", "pending")
    html = resident.get(reverse("vaccination:my")).content.decode()
    assert 'data-testid="self-report" data-status="pending"' in html


def test_self_report_refusals_are_clear_and_store_nothing(resident, clinic):
    vaccine, _site = clinic
    url = reverse("vaccination:self_report_new")
    future = resident.post(
        url, report_form(vaccine, given_on=(timezone.localdate() + dt.timedelta(days=2)).isoformat())
    )
    assert future.status_code == 400
    assert shows(future.content.decode(), "The date of the dose is in the future.")
    garbage = resident.post(
        url,
        report_form(
            vaccine, certificate=SimpleUploadedFile("cert.jpg", b"not a photo", content_type="image/jpeg")
        ),
    )
    assert garbage.status_code == 400
    assert shows(garbage.content.decode(), "The photo is not an image (send a JPEG or PNG).")
    missing = resident.post(url, {k: v for k, v in report_form(vaccine).items() if k != "certificate"})
    assert missing.status_code == 400
    assert not SelfReport.objects.exists()
