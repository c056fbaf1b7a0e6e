"""The vaccinator's desk through the Django test client: who may use it, finding a person by ID number or
booking code (unknown and out of scope read alike), recording a dose (eligible; not eligible, refused
without and recorded with a clinical reason; an expired batch), and reporting an adverse event."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.identity import compose_resident_id
from epigrid.core.models import Event
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows, shows_start, zh
from epigrid.core.tests.factories import TEST_PASSWORD, PersonFactory, UserFactory
from epigrid.vaccination.models import AdverseEvent, Booking, BookingStatus, Dose
from epigrid.vaccination.services import bookings, doses
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db

DESK = reverse("vaccination:desk")


def person_page(person) -> str:
    return reverse("vaccination:desk_person", args=[person.pk])


@pytest.fixture
def clinic(jurisdiction):
    vaccine = factories.vaccine()
    batch = factories.batch(vaccine)
    site = factories.site(jurisdiction.grid_a, vaccine)
    return vaccine, batch, site


@pytest.fixture
def desk(users, login_client):
    return login_client(users["vaccinator"])


def record_form(vaccine, batch, site, **extra) -> dict:
    return {"vaccine": vaccine.pk, "batch": batch.pk, "site": site.pk, **extra}


# --- access -----------------------------------------------------------------------------------------------


def test_desk_pages_per_role(clinic, person_a, users, login_client, client):
    vaccine, batch, site = clinic
    dose = doses.dose_record(
        actor=None,
        person=person_a,
        vaccine=vaccine,
        batch=batch,
        site=site,
        given_at=timezone.now() - dt.timedelta(hours=1),
    )
    urls = [DESK, person_page(person_a), reverse("vaccination:aefi_new", args=[dose.pk])]
    for role in Role:
        browser = login_client(users[role.value])
        for url in urls:
            expected = 200 if may(role.value, Perm.VACCINATION_RECORD) else 403
            assert browser.get(url).status_code == expected, (role.value, url)
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page


def test_a_resident_or_grid_worker_cannot_record(clinic, person_a, users, login_client):
    vaccine, batch, site = clinic
    for role in ("resident", "grid_worker", "district_admin"):
        browser = login_client(users[role])
        response = browser.post(person_page(person_a), record_form(vaccine, batch, site))
        assert response.status_code == 403, role
        assert browser.post(DESK, {"action": "id", "id_type": "ric", "id_number": "x"}).status_code == 403
    assert not Dose.objects.exists()


# --- finding the person -----------------------------------------------------------------------------------


def test_desk_offers_the_id_card_photo_and_both_searches(desk):
    html = desk.get(DESK).content.decode()
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert 'data-ocr-url="/api/v1/ocr/id-card"' in html
    assert 'data-testid="find-id"' in html and 'data-testid="find-code"' in html
    assert 'method="post"' in html


def test_find_by_id_number_shows_the_masked_person(clinic, person_a, desk):
    response = desk.post(DESK, {"action": "id", "id_type": "ric", "id_number": person_a.id_number.lower()})
    assert response.status_code == 302 and response["Location"] == person_page(person_a)
    assert person_a.id_number not in response["Location"]
    html = desk.get(response["Location"]).content.decode()
    assert person_a.name_masked in html and person_a.id_number_masked in html
    assert person_a.name not in html and person_a.id_number not in html


def test_a_bad_id_number_says_what_is_wrong(clinic, desk):
    good = compose_resident_id("370602", dt.date(1990, 5, 17), 123)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    response = desk.post(DESK, {"action": "id", "id_type": "ric", "id_number": wrong_check})
    assert response.status_code == 400
    html = response.content.decode()
    assert shows_start(
        html, "The ID number's check character is %(got)s but should be %(want)s: a digit is mistyped."
    )
    short = desk.post(DESK, {"action": "id", "id_type": "ric", "id_number": "3706021990"})
    assert short.status_code == 400
    assert shows(short.content.decode(), "An ID number has 18 characters; this one has %(n)d.", n=10)
    empty = desk.post(DESK, {"action": "id", "id_type": "ric", "id_number": ""})
    assert empty.status_code == 400


def test_unknown_and_out_of_scope_people_read_alike(jurisdiction, person_b, login_client):
    local = UserFactory(username="vacc_a", role=Role.VACCINATOR, org_unit=jurisdiction.street_a)
    browser = login_client(local)
    nobody = compose_resident_id("370602", dt.date(1975, 3, 9), 77)
    unknown = browser.post(DESK, {"action": "id", "id_type": "ric", "id_number": nobody})
    elsewhere = browser.post(DESK, {"action": "id", "id_type": "ric", "id_number": person_b.id_number})
    message = "Nobody with this ID number is registered in your area. Check the number."
    for response in (unknown, elsewhere):
        assert response.status_code == 404
        html = response.content.decode()
        assert shows(html, message)
        assert person_b.name_masked not in html
    assert browser.get(person_page(person_b)).status_code == 404


def test_find_by_booking_code_opens_the_person_with_the_booked_vaccine(clinic, person_a, desk):
    vaccine, _batch, site = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site, days=1), vaccine=vaccine
    )
    response = desk.post(DESK, {"action": "code", "code": f" {booking.code.lower()} "})
    assert response.status_code == 302
    assert response["Location"] == f"{person_page(person_a)}?vaccine={vaccine.pk}"
    html = desk.get(response["Location"]).content.decode()
    assert f'data-booking="{booking.code}"' in html
    assert shows(
        html, "Booking %(code)s: %(vaccine)s, dose %(n)d.", code=booking.code, vaccine=vaccine.name, n=1
    )
    assert f'data-testid="chosen-vaccine" data-vaccine="{vaccine.pk}"' in html


def test_a_cancelled_booking_opens_the_person_with_a_warning(clinic, person_a, desk):
    vaccine, _batch, site = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site, days=1), vaccine=vaccine
    )
    bookings.booking_cancel(actor=None, booking=booking, reason="改期")
    response = desk.post(DESK, {"action": "code", "code": booking.code}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="open-booking"' not in html
    assert shows(
        html,
        "Booking %(code)s is %(status)s; it cannot be used for this visit.",
        code=booking.code,
        status=zh("Cancelled"),
    )


def test_booking_code_unknown_or_out_of_scope(clinic, jurisdiction, person_b, login_client):
    vaccine, _batch, _site = clinic
    site_b = factories.site(jurisdiction.grid_b, vaccine, name="B接种点")
    booking = bookings.booking_create(
        actor=None, person=person_b, slot=factories.future_slot(site_b), vaccine=vaccine
    )
    browser = login_client(
        UserFactory(username="vacc_a", role=Role.VACCINATOR, org_unit=jurisdiction.street_a)
    )
    for code in (booking.code, "ZZZZ2222"):
        response = browser.post(DESK, {"action": "code", "code": code})
        assert response.status_code == 404
        assert shows(
            response.content.decode(), "There is no booking %(code)s in your area. Check the code.", code=code
        )


# --- recording a dose -------------------------------------------------------------------------------------


def test_record_a_dose_and_see_it(clinic, person_a, desk):
    vaccine, batch, site = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site, days=1), vaccine=vaccine
    )
    html = desk.get(person_page(person_a)).content.decode()
    assert 'data-testid="verdict" data-eligible="true" data-dose="1"' in html
    assert 'data-testid="override"' not in html  # eligible: no override field
    assert f'<option value="{batch.pk}" selected>' in html
    assert 'data-testid="booking-other-day"' in html  # the booking is for tomorrow
    response = desk.post(person_page(person_a), record_form(vaccine, batch, site))
    assert response.status_code == 302
    dose = Dose.objects.get(person=person_a)
    assert (dose.dose_number, dose.batch_id, dose.site_id, dose.override_reason) == (1, batch.pk, site.pk, "")
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ATTENDED
    page = desk.get(response["Location"]).content.decode()
    assert f'data-dose="{dose.pk}" data-number="1"' in page
    assert shows(
        page,
        "Recorded: dose %(n)d (%(kind)s) of %(vaccine)s for %(name)s, batch %(lot)s.",
        n=1,
        kind=zh("Series dose"),
        vaccine=vaccine.name,
        name=person_a.name_masked,
        lot=batch.lot_number,
    )
    # the next visit: dose 2 is not due yet, and the site chosen last time is chosen again
    assert f'<option value="{site.pk}" selected>' in page
    assert 'data-testid="verdict" data-eligible="false" data-dose="2"' in page


def test_not_eligible_shows_reasons_refuses_without_override_and_records_with_one(clinic, person_a, desk):
    vaccine, batch, site = clinic
    first = doses.dose_record(
        actor=None,
        person=person_a,
        vaccine=vaccine,
        batch=batch,
        site=site,
        given_at=timezone.now() - dt.timedelta(days=5),
    )
    html = desk.get(person_page(person_a)).content.decode()
    assert 'data-testid="verdict" data-eligible="false" data-dose="2"' in html
    assert shows_start(html, "Too soon after the last dose: the next dose is possible from %(day)s.")
    assert 'data-testid="earliest"' in html
    assert 'data-testid="override"' in html
    refused = desk.post(person_page(person_a), record_form(vaccine, batch, site))
    assert refused.status_code == 400
    assert 'data-testid="error"' in refused.content.decode()
    assert shows_start(
        refused.content.decode(), "Too soon after the last dose: the next dose is possible from %(day)s."
    )
    assert Dose.objects.filter(person=person_a).count() == 1
    forced = desk.post(
        person_page(person_a), record_form(vaccine, batch, site, override_reason="出境需要，医生同意")
    )
    assert forced.status_code == 302
    second = Dose.objects.exclude(pk=first.pk).get(person=person_a)
    assert (second.dose_number, second.override_reason) == (2, "出境需要，医生同意")
    assert "出境需要，医生同意" in desk.get(forced["Location"]).content.decode()


def test_too_young_person_shows_the_age_reason(clinic, jurisdiction, desk):
    vaccine, _batch, _site = clinic
    child = factories.person_born(jurisdiction.grid_a, timezone.localdate() - dt.timedelta(days=400))
    html = desk.get(person_page(child)).content.decode()
    assert 'data-eligible="false"' in html
    assert shows(html, "%(vaccine)s is for people aged %(age)s and over.", vaccine=vaccine.name, age=3)


def test_an_expired_batch_is_not_offered_and_is_refused(clinic, person_a, desk):
    vaccine, _batch, site = clinic
    old = factories.batch(vaccine, lot="OLD001", expires_in_days=-1)
    html = desk.get(person_page(person_a)).content.decode()
    assert f'<option value="{old.pk}"' not in html
    response = desk.post(person_page(person_a), record_form(vaccine, old, site))
    assert response.status_code == 400
    assert shows_start(response.content.decode(), "Batch %(lot)s expired on %(day)s; do not use it.")
    assert "OLD001" in response.content.decode()
    assert not Dose.objects.filter(person=person_a).exists()


def test_a_batch_of_another_vaccine_or_a_site_out_of_scope_is_refused(
    clinic, jurisdiction, person_a, login_client
):
    vaccine, batch, site = clinic
    other = factories.vaccine()
    foreign = factories.batch(other)
    site_b = factories.site(jurisdiction.grid_b, vaccine, name="B接种点")
    browser = login_client(
        UserFactory(username="vacc_a", role=Role.VACCINATOR, org_unit=jurisdiction.street_a)
    )
    wrong_batch = browser.post(person_page(person_a), record_form(vaccine, foreign, site))
    assert wrong_batch.status_code == 400
    assert shows(wrong_batch.content.decode(), "Choose a batch of this vaccine.")
    wrong_site = browser.post(person_page(person_a), record_form(vaccine, batch, site_b))
    assert wrong_site.status_code == 400
    assert shows(wrong_site.content.decode(), "Choose a site of your area.")
    assert not Dose.objects.exists()


# --- adverse events ---------------------------------------------------------------------------------------


def test_report_an_adverse_event(clinic, person_a, desk):
    vaccine, batch, site = clinic
    dose = doses.dose_record(
        actor=None,
        person=person_a,
        vaccine=vaccine,
        batch=batch,
        site=site,
        given_at=timezone.now() - dt.timedelta(hours=2),
    )
    url = reverse("vaccination:aefi_new", args=[dose.pk])
    html = desk.get(url).content.decode()
    assert person_a.name_masked in html and person_a.name not in html
    onset = timezone.localtime() - dt.timedelta(hours=1)
    form = {
        "onset_at": onset.strftime("%Y-%m-%dT%H:%M"),
        "symptoms": "注射部位红肿，发热38.5",
        "severity": "severe",
        "outcome": "recovering",
    }
    response = desk.post(url, form)
    assert response.status_code == 302 and response["Location"].startswith(person_page(person_a))
    event = AdverseEvent.objects.get(dose=dose)
    assert (event.severity, event.serious, event.outcome) == ("severe", True, "recovering")
    assert Event.objects.filter(type="vaccination.aefi", payload__serious=True).exists()
    page = desk.get(response["Location"]).content.decode()
    assert 'data-testid="aefi-count">1<' in page
    assert shows(
        page,
        "The adverse event after dose %(n)d of %(vaccine)s is reported.",
        n=1,
        vaccine=vaccine.name,
    )


def test_adverse_event_bad_input_writes_nothing(clinic, person_a, desk):
    vaccine, batch, site = clinic
    dose = doses.dose_record(
        actor=None,
        person=person_a,
        vaccine=vaccine,
        batch=batch,
        site=site,
        given_at=timezone.now() - dt.timedelta(hours=2),
    )
    url = reverse("vaccination:aefi_new", args=[dose.pk])
    now = timezone.localtime()
    empty = desk.post(url, {"onset_at": now.strftime("%Y-%m-%dT%H:%M"), "symptoms": " ", "severity": "mild"})
    assert empty.status_code == 400
    assert shows(empty.content.decode(), "Describe the symptoms.")
    before = (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    early = desk.post(url, {"onset_at": before, "symptoms": "头痛", "severity": "mild", "outcome": "unknown"})
    assert early.status_code == 400
    assert shows(early.content.decode(), "The onset must lie between the dose and now.")
    assert not AdverseEvent.objects.exists()


def test_adverse_event_of_a_dose_out_of_scope_is_404(clinic, jurisdiction, person_b, login_client):
    vaccine, batch, _site = clinic
    site_b = factories.site(jurisdiction.grid_b, vaccine, name="B接种点")
    dose = doses.dose_record(
        actor=None,
        person=person_b,
        vaccine=vaccine,
        batch=batch,
        site=site_b,
        given_at=timezone.now() - dt.timedelta(hours=2),
    )
    browser = login_client(
        UserFactory(username="vacc_a", role=Role.VACCINATOR, org_unit=jurisdiction.street_a)
    )
    url = reverse("vaccination:aefi_new", args=[dose.pk])
    assert browser.get(url).status_code == 404
    assert browser.post(url, {"symptoms": "x", "severity": "mild"}).status_code == 404
    assert not AdverseEvent.objects.exists()


def test_people_out_of_scope_cannot_be_recorded(clinic, jurisdiction, person_b, login_client):
    vaccine, batch, site = clinic
    browser = login_client(
        UserFactory(username="vacc_a", role=Role.VACCINATOR, org_unit=jurisdiction.street_a)
    )
    assert browser.post(person_page(person_b), record_form(vaccine, batch, site)).status_code == 404
    assert not Dose.objects.exists()
    other = PersonFactory(grid=jurisdiction.grid_a)
    assert browser.get(person_page(other)).status_code == 200


# --- in a real browser, at a phone's size -----------------------------------------------------------------


@pytest.mark.browser
def test_phone_desk_reads_the_id_card_and_records_a_dose(transactional_db, users, jurisdiction, phone_page):
    """The vaccinator photographs the card (the OCR endpoint fills the number), finds the person, records."""
    from epigrid.testing.idcard import make_card

    card = make_card(seed=11, variant="clean")
    person = PersonFactory(name=card.truth.name, id_number=card.truth.id_number, grid=jurisdiction.grid_a)
    vaccine = factories.vaccine(min_age_years=0)
    batch = factories.batch(vaccine)
    factories.site(jurisdiction.grid_a, vaccine)
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", "vaccinator")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")
    page.goto(DESK)
    page.set_input_files(
        "[data-testid=idcard-photo]",
        files=[{"name": "card.png", "mimeType": card.content_type, "buffer": card.data}],
    )
    page.wait_for_function("document.body.dataset.ocr === 'done'", timeout=30_000)
    assert page.input_value("input[name=id_number]") == card.truth.id_number
    page.click("[data-testid=find-id-submit]")
    page.wait_for_url(f"**{person_page(person)}")
    assert page.locator("[data-testid=verdict]").get_attribute("data-eligible") == "true"
    assert card.truth.id_number not in page.content() and person.id_number_masked in page.content()
    page.select_option("select[name=site]", index=0)
    page.click("[data-testid=record-dose]")
    page.locator("[data-testid=doses] tr[data-number='1']").wait_for()
    dose = Dose.objects.get(person=person)
    assert (dose.batch_id, dose.dose_number) == (batch.pk, 1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone
    assert not errors, errors
