"""The catalogue and the sites through the Django test client: who may manage them, creating vaccines and
batches (and their refusals), taking a vaccine out of use, creating a site with its opening hours table,
editing it, generating slots and closing a day; bad input says why and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.models import DiseaseProfile, Notice
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows
from epigrid.core.tests.factories import UserFactory
from epigrid.vaccination.forms import hours_rows
from epigrid.vaccination.models import (
    Booking,
    BookingStatus,
    SiteClosure,
    Slot,
    VaccinationSite,
    Vaccine,
    VaccineBatch,
)
from epigrid.vaccination.services import bookings
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db

VACCINES = reverse("vaccination:vaccines")
SITES = reverse("vaccination:sites")


def site_url(site: VaccinationSite) -> str:
    return reverse("vaccination:site_detail", args=[site.pk])


def vaccine_url(vaccine: Vaccine) -> str:
    return reverse("vaccination:vaccine_detail", args=[vaccine.pk])


def hours(*rows: tuple[str, str, str], blank: int = 2) -> dict[str, str]:
    """The opening-hours table as posted: ``rows`` of (day, from, to) and ``blank`` empty rows."""
    data = {"hours-TOTAL_FORMS": str(len(rows) + blank), "hours-INITIAL_FORMS": "0"}
    for i, (day, start, end) in enumerate(rows):
        data.update({f"hours-{i}-weekday": day, f"hours-{i}-start": start, f"hours-{i}-end": end})
    return data


@pytest.fixture
def admin(users, login_client):
    return login_client(users["district_admin"])


@pytest.fixture
def vaccine(jurisdiction):
    return factories.vaccine()


@pytest.fixture
def site(jurisdiction, vaccine):
    return factories.site(jurisdiction.grid_a, vaccine, capacity=4)


# --- access -----------------------------------------------------------------------------------------------


def test_manage_pages_per_role(site, vaccine, users, login_client, client):
    urls = [VACCINES, vaccine_url(vaccine), SITES, site_url(site)]
    for role in Role:
        browser = login_client(users[role.value])
        for url in urls:
            expected = 200 if may(role.value, Perm.VACCINATION_MANAGE) else 403
            assert browser.get(url).status_code == expected, (role.value, url)
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    vaccinator = login_client(users["vaccinator"])
    assert vaccinator.post(VACCINES, {"name": "x"}).status_code == 403
    assert vaccinator.post(site_url(site), {"action": "slots"}).status_code == 403


def test_a_site_out_of_scope_is_404(jurisdiction, site, login_client):
    admin_b = UserFactory(username="admin_b", role=Role.DISTRICT_ADMIN, org_unit=jurisdiction.street_b)
    browser = login_client(admin_b)
    assert browser.get(site_url(site)).status_code == 404
    start = timezone.localdate() + dt.timedelta(days=20)
    response = browser.post(site_url(site), {"action": "slots", "start": start.isoformat(), "days": "3"})
    assert response.status_code == 404
    assert not Slot.objects.filter(site=site, starts_at__date__gte=start).exists()
    assert f'data-site="{site.pk}"' not in browser.get(SITES).content.decode()


# --- vaccines and batches ---------------------------------------------------------------------------------


def vaccine_form(**overrides) -> dict[str, str]:
    return {
        "disease": str(DiseaseProfile.objects.get(code="covid19").pk),
        "code": "covid-protein-x",
        "name": "重组蛋白疫苗X",
        "manufacturer": "某生物",
        "kind": "protein",
        "doses_in_series": "3",
        "min_interval_days": "28",
        "booster_interval_days": "180",
        "max_boosters": "1",
        "min_age_years": "18",
        "max_age_years": "",
        **overrides,
    }


def test_create_a_vaccine_and_its_refusals(admin):
    response = admin.post(VACCINES, vaccine_form())
    vaccine = Vaccine.objects.get(code="covid-protein-x")
    assert response.status_code == 302 and response["Location"] == vaccine_url(vaccine)
    assert (vaccine.doses_in_series, vaccine.min_interval_days, vaccine.max_age_years) == (3, 28, None)
    assert shows(
        admin.get(response["Location"]).content.decode(),
        "%(name)s is added to the catalogue. Register its batches next.",
        name="重组蛋白疫苗X",
    )
    assert f'data-vaccine="{vaccine.pk}" data-active="true"' in admin.get(VACCINES).content.decode()
    again = admin.post(VACCINES, vaccine_form(name="另一个"))
    assert again.status_code == 400
    assert shows(
        again.content.decode(), "A vaccine with code %(code)s exists already.", code="covid-protein-x"
    )
    ages = admin.post(VACCINES, vaccine_form(code="ages", min_age_years="60", max_age_years="18"))
    assert ages.status_code == 400
    assert shows(ages.content.decode(), "The maximum age is below the minimum age.")
    boosters = admin.post(VACCINES, vaccine_form(code="boost", booster_interval_days="", max_boosters="2"))
    assert boosters.status_code == 400
    assert shows(boosters.content.decode(), "Boosters need a minimum interval.")
    assert Vaccine.objects.count() == 1


def test_batches_are_registered_and_expired_or_twice_refused(vaccine, admin):
    url = vaccine_url(vaccine)
    expires = timezone.localdate() + dt.timedelta(days=200)
    response = admin.post(
        url, {"action": "batch", "lot_number": " b2024-01 ", "expires_on": expires.isoformat()}
    )
    assert response.status_code == 302
    batch = VaccineBatch.objects.get(vaccine=vaccine)
    assert (batch.lot_number, batch.expires_on) == ("B2024-01", expires)
    html = admin.get(url).content.decode()
    assert 'data-batch="B2024-01" data-expired="false"' in html
    assert shows(
        html, "Batch %(lot)s is registered; it expires on %(day)s.", lot="B2024-01", day=expires.isoformat()
    )
    twice = admin.post(url, {"action": "batch", "lot_number": "B2024-01", "expires_on": expires.isoformat()})
    assert twice.status_code == 400
    assert shows(
        twice.content.decode(), "Batch %(lot)s of this vaccine is registered already.", lot="B2024-01"
    )
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    expired = admin.post(url, {"action": "batch", "lot_number": "OLD", "expires_on": past})
    assert expired.status_code == 400
    assert shows(
        expired.content.decode(), "This batch has expired already; an expired batch may not be used."
    )
    blank = admin.post(url, {"action": "batch", "lot_number": "", "expires_on": expires.isoformat()})
    assert blank.status_code == 400
    assert VaccineBatch.objects.filter(vaccine=vaccine).count() == 1


def test_take_a_vaccine_out_of_use_and_back(vaccine, admin):
    url = vaccine_url(vaccine)
    assert admin.post(url, {"action": "deactivate"}).status_code == 302
    vaccine.refresh_from_db()
    assert not vaccine.active
    html = admin.get(url).content.decode()
    assert 'data-active="false"' in html and 'data-testid="activate"' in html
    assert shows(html, "%(name)s is no longer in use.", name=vaccine.name)
    assert admin.post(url, {"action": "activate"}).status_code == 302
    vaccine.refresh_from_db()
    assert vaccine.active


# --- sites ------------------------------------------------------------------------------------------------


def site_form(jurisdiction, vaccine, **overrides) -> dict[str, object]:
    return {
        "name": "幸福社区接种点",
        "grid": jurisdiction.grid_a.code,
        "address": "幸福路8号",
        "slot_minutes": "30",
        "capacity_per_slot": "10",
        "vaccines": [str(vaccine.pk)],
        **hours(("workdays", "08:30", "11:30"), ("5", "09:00", "10:00")),
        **overrides,
    }


def test_create_a_site_with_its_opening_hours(jurisdiction, vaccine, admin):
    html = admin.get(SITES).content.decode()
    assert f'value="{jurisdiction.grid_a.code}"' in html and 'data-testid="hours-editor"' in html
    response = admin.post(SITES, site_form(jurisdiction, vaccine))
    site = VaccinationSite.objects.get(name="幸福社区接种点")
    assert response.status_code == 302 and response["Location"] == site_url(site)
    assert site.opening_hours == [
        *({"weekday": d, "start": "08:30", "end": "11:30"} for d in range(5)),
        {"weekday": 5, "start": "09:00", "end": "10:00"},
    ]
    assert (site.org_code, site.capacity_per_slot, list(site.vaccines.all())) == (
        jurisdiction.grid_a.code,
        10,
        [vaccine],
    )
    page = admin.get(response["Location"]).content.decode()
    assert shows(page, "%(name)s is created. Generate its slots so that people can book.", name=site.name)
    assert 'data-testid="no-slots"' in page
    # the editor shows the stored hours as they were entered: one row for Monday to Friday
    assert hours_rows(site.opening_hours) == [
        {"weekday": "workdays", "start": "08:30", "end": "11:30"},
        {"weekday": "5", "start": "09:00", "end": "10:00"},
    ]
    assert 'value="workdays" selected' in page


def test_bad_opening_hours_or_site_data_say_why_and_write_nothing(jurisdiction, vaccine, admin):
    backwards = admin.post(SITES, site_form(jurisdiction, vaccine, **hours(("0", "12:00", "08:00"))))
    assert backwards.status_code == 400
    assert shows(
        backwards.content.decode(),
        "Opening period %(start)s-%(end)s is not a valid time range.",
        start="12:00",
        end="08:00",
    )
    half = admin.post(SITES, site_form(jurisdiction, vaccine, **hours(("1", "08:00", ""))))
    assert half.status_code == 400
    assert shows(
        half.content.decode(),
        "Fill in the day, the start and the end of each opening period, or leave the row empty.",
    )
    nameless = admin.post(SITES, site_form(jurisdiction, vaccine, name=""))
    assert nameless.status_code == 400
    nowhere = admin.post(SITES, site_form(jurisdiction, vaccine, grid=jurisdiction.street_a.code))
    assert nowhere.status_code == 400
    assert not VaccinationSite.objects.exists()


def test_generate_slots_and_see_them_with_places_booked(site, person_a, vaccine, admin):
    url = site_url(site)
    start = timezone.localdate() + dt.timedelta(days=10)
    response = admin.post(url, {"action": "slots", "start": start.isoformat(), "days": "2"})
    assert response.status_code == 302
    made = Slot.objects.filter(
        site=site, starts_at__gte=timezone.make_aware(dt.datetime.combine(start, dt.time()))
    )
    assert made.count() == 16  # 08:00-12:00 in half hours, two days
    assert shows(admin.get(url).content.decode(), "Slots made: %(n)d.", n=16)
    again = admin.post(url, {"action": "slots", "start": start.isoformat(), "days": "2"})
    assert again.status_code == 302 and made.count() == 16  # nothing made twice
    slot = factories.future_slot(site, days=1)
    bookings.booking_create(actor=None, person=person_a, slot=slot, vaccine=vaccine)
    html = admin.get(url).content.decode()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert f'data-day="{tomorrow}" data-booked="1" data-capacity="32"' in html
    assert f'data-slot="{slot.pk}" data-booked="1" data-capacity="4"' in html
    too_many = admin.post(url, {"action": "slots", "start": start.isoformat(), "days": "90"})
    assert too_many.status_code == 400


def test_close_a_day_cancels_its_bookings_and_needs_a_reason(site, person_a, vaccine, admin):
    url = site_url(site)
    day = timezone.localdate() + dt.timedelta(days=2)
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site, days=2), vaccine=vaccine
    )
    nothing = admin.post(url, {"action": "close", "day": day.isoformat(), "reason": " "})
    assert nothing.status_code == 400
    assert shows(nothing.content.decode(), "Say why the site is closed.")
    assert not SiteClosure.objects.exists()
    response = admin.post(url, {"action": "close", "day": day.isoformat(), "reason": "疫苗配送延误"})
    assert response.status_code == 302
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    html = admin.get(url).content.decode()
    assert f'data-closure="{day.isoformat()}"' in html and "疫苗配送延误" in html
    assert f'data-day="{day.isoformat()}"' not in html  # its slots are closed
    assert Notice.objects.filter(
        user__person=person_a, kind="vaccination_closed", body="疫苗配送延误"
    ).exists()
    twice = admin.post(url, {"action": "close", "day": day.isoformat(), "reason": "again"})
    assert twice.status_code == 400
    assert shows(twice.content.decode(), "The site is already closed that day.")


def test_edit_hours_capacity_vaccines_and_open(site, vaccine, admin):
    other = factories.vaccine()
    url = site_url(site)
    form = {
        "action": "update",
        "capacity_per_slot": "6",
        "vaccines": [str(vaccine.pk), str(other.pk)],
        **hours(("daily", "13:00", "15:00")),
    }
    assert admin.post(url, form).status_code == 302
    site.refresh_from_db()
    assert site.capacity_per_slot == 6 and not site.active  # the box was not ticked
    assert site.opening_hours == [{"weekday": d, "start": "13:00", "end": "15:00"} for d in range(7)]
    assert set(site.vaccines.all()) == {vaccine, other}
    assert admin.post(url, {**form, "active": "on"}).status_code == 302
    site.refresh_from_db()
    assert site.active
    bad = admin.post(url, {**form, **hours(("2", "25:00", "26:00")), "capacity_per_slot": "9"})
    assert bad.status_code == 400
    assert shows(
        bad.content.decode(),
        "Opening period %(start)s-%(end)s is not a valid time range.",
        start="25:00",
        end="26:00",
    )
    site.refresh_from_db()
    assert site.capacity_per_slot == 6 and len(site.opening_hours) == 7
