"""Scope cases of vaccination's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

import datetime as dt
import io

from django.utils import timezone
from PIL import Image

from epigrid.core.testing import scope_case
from epigrid.vaccination.services import bookings, doses
from epigrid.vaccination.tests import factories


def _site(grid):
    vaccine = factories.vaccine()
    return factories.site(grid, vaccine), vaccine


def _dose(grid, person):
    site, vaccine = _site(grid)
    return doses.dose_record(
        actor=None,
        person=person,
        vaccine=vaccine,
        batch=factories.batch(vaccine),
        site=site,
        given_at=timezone.now() - dt.timedelta(hours=1),
    )


@scope_case("vaccination.vaccinationsite")
def make_site(grid, person):
    return _site(grid)[0]


@scope_case("vaccination.slot")
def make_slot(grid, person):
    return factories.future_slot(_site(grid)[0])


@scope_case("vaccination.booking")
def make_booking(grid, person):
    site, vaccine = _site(grid)
    return bookings.booking_create(
        actor=None, person=person, slot=factories.future_slot(site), vaccine=vaccine
    )


@scope_case("vaccination.dose", detail_urls=["/api/v1/vaccination/doses/{pk}"])
def make_dose(grid, person):
    return _dose(grid, person)


@scope_case("vaccination.vaccinationstatus")
def make_status(grid, person):
    return _dose(grid, person).person.vaccination_status.get()


@scope_case("vaccination.adverseevent")
def make_aefi(grid, person):
    dose = _dose(grid, person)
    return doses.aefi_report(actor=None, dose=dose, onset_at=timezone.now(), symptoms="发热", severity="mild")


@scope_case("vaccination.selfreport", detail_urls=["/api/v1/vaccination/self-reports/{pk}"])
def make_self_report(grid, person):
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(photo, format="PNG")
    return doses.self_report_submit(
        actor=None,
        person=person,
        vaccine=factories.vaccine(),
        given_on=timezone.localdate() - dt.timedelta(days=30),
        place="外省某医院",
        photo=photo.getvalue(),
    )
