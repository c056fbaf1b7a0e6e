"""Vaccination test data: vaccines, batches, sites with slots — all through the services."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from epigrid.core.identity import compose_resident_id
from epigrid.core.models import DiseaseProfile, OrgUnit, Person
from epigrid.core.tests.factories import PersonFactory
from epigrid.vaccination.models import Slot, VaccinationSite, Vaccine, VaccineBatch
from epigrid.vaccination.services import catalogue

_codes = itertools.count(1)
EVERY_DAY = [{"weekday": d, "start": "08:00", "end": "12:00"} for d in range(7)]


def covid() -> DiseaseProfile:
    return DiseaseProfile.objects.get(code="covid19")


def person_born(grid: OrgUnit, birth_date: dt.date) -> Person:
    """A resident of ``grid`` born on ``birth_date`` (their ID number says so)."""
    return PersonFactory(grid=grid, id_number=compose_resident_id("370602", birth_date, 500 + next(_codes)))


def vaccine(**overrides) -> Vaccine:
    """An inactivated two-dose vaccine (21 days apart), one booster after 180 days, age 3 and over."""
    n = next(_codes)
    data = {
        "disease": covid(),
        "code": f"test-vaccine-{n}",
        "name": f"新冠灭活疫苗{n}",
        "manufacturer": "测试生物",
        "kind": "inactivated",
        "doses_in_series": 2,
        "min_interval_days": 21,
        "booster_interval_days": 180,
        "max_boosters": 1,
        "min_age_years": 3,
        **overrides,
    }
    return catalogue.vaccine_create(actor=None, data=catalogue.VaccineInput(**data))


def batch(of: Vaccine, *, lot: str = "", expires_in_days: int = 365) -> VaccineBatch:
    return catalogue.batch_create(
        actor=None,
        vaccine=of,
        lot_number=lot or f"LOT{next(_codes):05d}",
        expires_on=timezone.localdate() + dt.timedelta(days=expires_in_days),
    )


def site(grid: OrgUnit, *vaccines: Vaccine, capacity: int = 20, name: str = "") -> VaccinationSite:
    """A site open 08:00-12:00 every day in half-hour slots, with slots cut for the next week."""
    made = catalogue.site_create(
        actor=None,
        data=catalogue.SiteInput(
            name=name or "社区卫生服务中心接种点",
            grid=grid,
            address="人民路1号",
            opening_hours=EVERY_DAY,
            capacity_per_slot=capacity,
            vaccines=list(vaccines),
        ),
    )
    catalogue.slots_generate(actor=None, site=made, start=timezone.localdate(), days=7)
    return made


def future_slot(of: VaccinationSite, *, days: int = 1, index: int = 0) -> Slot:
    """The ``index``-th slot ``days`` days from today."""
    day = timezone.localdate() + dt.timedelta(days=days)
    slots = [
        s
        for s in Slot.objects.filter(site=of).order_by("starts_at")
        if timezone.localdate(s.starts_at) == day
    ]
    return slots[index]
