"""The forecast of needs: testing rounds in a point's area, quarantine occupancy, vaccination bookings, each
× the item's rate, against the stock on hand."""

from __future__ import annotations

import datetime as dt
import math

from django.utils import timezone

from epigrid.core.tests.factories import PersonFactory
from epigrid.quarantine import services as quarantine
from epigrid.supplies import selectors
from epigrid.supplies.models import ForecastDriver, PointKind
from epigrid.supplies.tests import factories
from epigrid.testing import services as testing
from epigrid.vaccination.services import bookings
from epigrid.vaccination.tests import factories as vaccination


def _rows(actor=None, days=7):
    return {(r.point.pk, r.item.pk): r for r in selectors.forecast(actor=actor, days=days)}


def test_testing_rounds_split_over_the_sampling_points_in_their_area(jurisdiction):
    for _ in range(24):
        PersonFactory(grid=jurisdiction.grid_a)
    swabs = factories.item(driver=ForecastDriver.PERSON_SAMPLED, rate="1")
    tubes = factories.item(driver=ForecastDriver.TUBE, rate="1.000")
    kits = factories.item(driver=ForecastDriver.PERSON_SAMPLED, rate="0.5")
    first = factories.point(jurisdiction.grid_a)
    second = factories.point(jurisdiction.grid_a)
    other = factories.point(jurisdiction.grid_b)
    store = factories.point(jurisdiction.community_a, kind=PointKind.COMMUNITY_STORE)
    today = timezone.localdate()
    round_a = testing.testing_round_create(
        actor=None, name="A街道核酸", area=jurisdiction.street_a, day=today + dt.timedelta(days=1)
    )
    testing.testing_round_create(
        actor=None, name="太晚", area=jurisdiction.street_a, day=today + dt.timedelta(days=7)
    )
    testing.testing_round_create(
        actor=None, name="昨天", area=jurisdiction.street_a, day=today - dt.timedelta(days=1)
    )
    factories.receive(first, swabs, 5)
    rows = _rows()
    people = round_a.target_population / 2
    assert round_a.target_population == 24
    assert rows[(first.pk, swabs.pk)].need == 12 and rows[(first.pk, swabs.pk)].on_hand == 5
    assert rows[(first.pk, swabs.pk)].shortfall == 7
    assert rows[(second.pk, swabs.pk)].shortfall == 12
    assert rows[(first.pk, tubes.pk)].need == math.ceil(people / 10) == 2
    assert rows[(first.pk, kits.pk)].need == 6
    assert not {key for key in rows if key[0] in (other.pk, store.pk)}  # no round in B; stores do not sample
    # A window of eight days reaches the later round too.
    assert _rows(days=8)[(first.pk, swabs.pk)].need == 24


def test_quarantine_occupancy_and_bookings(jurisdiction):
    masks = factories.item(driver=ForecastDriver.QUARANTINE_DAY, rate="2")
    syringes = factories.item(driver=ForecastDriver.DOSE, rate="1")
    site = quarantine.site_create(
        actor=None,
        name="A隔离酒店",
        grid=jurisdiction.grid_a,
        rooms=[("101", 1, 1), ("102", 1, 1), ("103", 1, 1)],
    )
    for _ in range(2):
        quarantine.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a), site=site)
    hotel = factories.point(jurisdiction.grid_a, kind=PointKind.QUARANTINE_SITE, quarantine_site=site)
    vaccine = vaccination.vaccine()
    clinic_site = vaccination.site(jurisdiction.grid_a, vaccine)
    for index in range(3):
        bookings.booking_create(
            actor=None,
            person=vaccination.person_born(jurisdiction.grid_a, dt.date(1990, 1, 1 + index)),
            slot=vaccination.future_slot(clinic_site, index=index),
            vaccine=vaccine,
        )
    clinic = factories.point(jurisdiction.grid_a, kind=PointKind.CLINIC, vaccination_site=clinic_site)
    factories.receive(hotel, masks, 30)
    rows = _rows()
    assert (rows[(hotel.pk, masks.pk)].amount, rows[(hotel.pk, masks.pk)].need) == (14, 28)
    assert rows[(hotel.pk, masks.pk)].shortfall == 0
    assert rows[(clinic.pk, syringes.pk)].need == 3
    assert (hotel.pk, syringes.pk) not in rows and (clinic.pk, masks.pk) not in rows


def test_the_forecast_is_scoped_and_set_based(jurisdiction, users, django_assert_max_num_queries):
    swabs = factories.item(driver=ForecastDriver.PERSON_SAMPLED, rate="1")
    for _ in range(4):
        PersonFactory(grid=jurisdiction.grid_b)
    points = [factories.point(jurisdiction.grid_b) for _ in range(10)]
    testing.testing_round_create(actor=None, name="B", area=jurisdiction.street_b, day=timezone.localdate())
    assert selectors.forecast(actor=users["community_officer"]) == []  # community A sees none of B's points
    with django_assert_max_num_queries(8):
        rows = selectors.forecast(actor=users["supplies_officer"])
    assert {r.point.pk for r in rows} == {p.pk for p in points} and all(r.item == swabs for r in rows)
