"""Eligibility rules: age limits, the series interval, boosters — through the booking and dose services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core.errors import DomainError
from epigrid.core.tests.factories import PersonFactory
from epigrid.vaccination import selectors
from epigrid.vaccination.models import DoseKind
from epigrid.vaccination.services import bookings, doses
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db


def _born(years_ago: int, days: int = 0) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years_ago) - dt.timedelta(days=days)


def _give(person, vaccine, site, days_ago: int):
    return doses.dose_record(
        actor=None,
        person=person,
        vaccine=vaccine,
        batch=factories.batch(vaccine),
        site=site,
        given_at=timezone.now() - dt.timedelta(days=days_ago),
    )


@pytest.fixture
def setup(jurisdiction):
    vaccine = factories.vaccine(min_age_years=3, max_age_years=80)
    site = factories.site(jurisdiction.grid_a, vaccine)
    return vaccine, site


def test_age_limits_at_both_ends(jurisdiction, setup):
    vaccine, _site = setup
    today = timezone.localdate()
    child = factories.person_born(jurisdiction.grid_a, _born(3, days=-1))  # three tomorrow
    assert not selectors.eligibility_for(person=child, vaccine=vaccine, on=today).eligible
    assert selectors.eligibility_for(person=child, vaccine=vaccine, on=today + dt.timedelta(days=1)).eligible
    old = factories.person_born(jurisdiction.grid_a, _born(81))
    verdict = selectors.eligibility_for(person=old, vaccine=vaccine, on=today)
    assert not verdict.eligible and "80" in verdict.reasons[0]
    exactly_80 = factories.person_born(jurisdiction.grid_a, _born(80))
    assert selectors.eligibility_for(person=exactly_80, vaccine=vaccine, on=today).eligible


def test_unknown_birth_date_is_not_eligible(jurisdiction, setup):
    vaccine, _site = setup
    person = PersonFactory(grid=jurisdiction.grid_a)
    person.birth_date = None
    verdict = selectors.eligibility_for(person=person, vaccine=vaccine)
    assert not verdict.eligible and "birth date" in verdict.reasons[0]


def test_second_dose_waits_for_the_interval_to_the_day(person_a, setup):
    vaccine, site = setup
    _give(person_a, vaccine, site, days_ago=20)
    today = timezone.localdate()
    too_soon = selectors.eligibility_for(person=person_a, vaccine=vaccine, on=today)
    assert not too_soon.eligible
    assert too_soon.earliest_on == today + dt.timedelta(days=1)
    on_time = selectors.eligibility_for(person=person_a, vaccine=vaccine, on=today + dt.timedelta(days=1))
    assert on_time.eligible and on_time.dose_number == 2 and on_time.kind == DoseKind.SERIES
    with pytest.raises(DomainError, match="Too soon"):
        _give(person_a, vaccine, site, days_ago=0)


def test_booking_refuses_a_slot_before_the_interval_allows(person_a, setup):
    vaccine, site = setup
    _give(person_a, vaccine, site, days_ago=15)  # the next dose is possible in 6 days
    with pytest.raises(DomainError, match="Too soon"):
        bookings.booking_create(
            actor=None, person=person_a, slot=factories.future_slot(site, days=5), vaccine=vaccine
        )
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site, days=6), vaccine=vaccine
    )
    assert booking.dose_number == 2


def test_booster_after_series_then_nothing_more(person_a, setup):
    vaccine, site = setup
    _give(person_a, vaccine, site, days_ago=400)
    _give(person_a, vaccine, site, days_ago=370)
    today = timezone.localdate()
    verdict = selectors.eligibility_for(person=person_a, vaccine=vaccine, on=today)
    assert verdict.eligible and verdict.kind == DoseKind.BOOSTER and verdict.dose_number == 3
    booster = _give(person_a, vaccine, site, days_ago=0)
    assert (booster.dose_number, booster.kind) == (3, DoseKind.BOOSTER)
    later = selectors.eligibility_for(person=person_a, vaccine=vaccine, on=today + dt.timedelta(days=400))
    assert not later.eligible and "no further booster" in later.reasons[0]


def test_booster_too_early_after_series(person_a, setup):
    vaccine, site = setup
    _give(person_a, vaccine, site, days_ago=60)
    _give(person_a, vaccine, site, days_ago=30)
    verdict = selectors.eligibility_for(person=person_a, vaccine=vaccine)
    assert not verdict.eligible
    assert verdict.earliest_on == timezone.localdate() + dt.timedelta(days=150)


def test_single_dose_product_completes_the_series_in_one(person_a, jurisdiction):
    one_shot = factories.vaccine(doses_in_series=1, booster_interval_days=None, max_boosters=0, kind="vector")
    site = factories.site(jurisdiction.grid_a, one_shot)
    _give(person_a, one_shot, site, days_ago=10)
    status = person_a.vaccination_status.get()
    assert (status.doses, status.series_complete, status.next_due_on) == (1, True, None)
    assert not selectors.eligibility_for(person=person_a, vaccine=one_shot).eligible


def test_series_continues_with_another_product_at_the_first_products_interval(person_a, jurisdiction):
    first = factories.vaccine(min_interval_days=28)
    other = factories.vaccine(min_interval_days=14)
    site = factories.site(jurisdiction.grid_a, first, other)
    _give(person_a, first, site, days_ago=20)
    assert not selectors.eligibility_for(person=person_a, vaccine=other).eligible  # 28 days, not 14
    assert selectors.eligibility_for(
        person=person_a, vaccine=other, on=timezone.localdate() + dt.timedelta(days=8)
    ).eligible


def test_override_records_an_ineligible_dose_with_its_reason(person_a, setup, users):
    vaccine, site = setup
    _give(person_a, vaccine, site, days_ago=10)
    dose = doses.dose_record(
        actor=users["vaccinator"],
        person=person_a,
        vaccine=vaccine,
        batch=factories.batch(vaccine),
        site=site,
        override_reason="出国留学，按医嘱提前接种",
    )
    assert dose.dose_number == 2 and dose.override_reason


def test_children_get_no_booster_and_are_not_overdue_for_one(jurisdiction, users):
    vaccine = factories.vaccine(booster_min_age_years=18)
    site = factories.site(jurisdiction.grid_a, vaccine)
    child = factories.person_born(jurisdiction.grid_a, _born(12))
    _give(child, vaccine, site, days_ago=400)
    _give(child, vaccine, site, days_ago=370)
    verdict = selectors.eligibility_for(person=child, vaccine=vaccine)
    assert not verdict.eligible and "18" in verdict.reasons[0]
    status = child.vaccination_status.get()
    assert status.series_complete and status.next_due_kind == "booster"
    assert status.next_due_on == _born(12).replace(year=_born(12).year + 18)  # due on the 18th birthday
    adult = factories.person_born(jurisdiction.grid_a, _born(30))
    _give(adult, vaccine, site, days_ago=400)
    _give(adult, vaccine, site, days_ago=370)
    overdue = set(
        selectors.overdue(actor=users["epidemiologist"], disease_id=vaccine.disease_id).values_list(
            "person_id", flat=True
        )
    )
    assert adult.pk in overdue and child.pk not in overdue
