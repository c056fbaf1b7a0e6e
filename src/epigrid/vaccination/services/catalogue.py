"""Vaccines and batches, sites with opening hours, slots cut from those hours, and closed days."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError
from epigrid.core.models import DiseaseProfile, OrgLevel, OrgUnit, User
from epigrid.core.roles import Perm
from epigrid.vaccination.models import (
    Booking,
    BookingStatus,
    SiteClosure,
    Slot,
    VaccinationSite,
    Vaccine,
    VaccineBatch,
)
from epigrid.vaccination.services.common import require

MAX_SLOT_DAYS = 62  # slots are cut at most two months ahead
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass
class VaccineInput:
    disease: DiseaseProfile
    code: str
    name: str
    manufacturer: str
    kind: str
    doses_in_series: int = 2
    min_interval_days: int = 21
    booster_interval_days: int | None = None
    max_boosters: int = 0
    booster_min_age_years: int = 18
    min_age_years: int = 3
    max_age_years: int | None = None


def _check_vaccine(data: VaccineInput) -> None:
    if not data.name.strip() or not data.manufacturer.strip():
        raise DomainError(_("A vaccine needs a product name and a manufacturer."), field="name")
    if not 1 <= data.doses_in_series <= 5:
        raise DomainError(_("A series has 1 to 5 doses."), field="doses_in_series")
    if data.max_boosters and data.booster_interval_days is None:
        raise DomainError(_("Boosters need a minimum interval."), field="booster_interval_days")
    if data.max_age_years is not None and data.max_age_years < data.min_age_years:
        raise DomainError(_("The maximum age is below the minimum age."), field="max_age_years")


def vaccine_create(*, actor: User | None, data: VaccineInput) -> Vaccine:
    require(actor, Perm.VACCINATION_MANAGE)
    _check_vaccine(data)
    if Vaccine.objects.filter(code=data.code).exists():
        raise Conflict(_("A vaccine with code %(code)s exists already.") % {"code": data.code}, field="code")
    with transaction.atomic():
        vaccine = Vaccine.objects.create(**vars(data))
        audit_record(actor=actor, action="vaccination.vaccine_create", obj=vaccine)
    return vaccine


def vaccine_set_active(*, actor: User | None, vaccine: Vaccine, active: bool) -> Vaccine:
    require(actor, Perm.VACCINATION_MANAGE)
    with transaction.atomic():
        vaccine.active = active
        vaccine.save(update_fields=["active"])
        audit_record(actor=actor, action="vaccination.vaccine_active", obj=vaccine, detail={"active": active})
    return vaccine


def batch_create(
    *, actor: User | None, vaccine: Vaccine, lot_number: str, expires_on: dt.date
) -> VaccineBatch:
    require(actor, Perm.VACCINATION_MANAGE)
    lot_number = (lot_number or "").strip().upper()
    if not lot_number or len(lot_number) > 40:
        raise DomainError(_("Enter the batch number (at most 40 characters)."), field="lot_number")
    try:
        with transaction.atomic():
            batch = VaccineBatch.objects.create(vaccine=vaccine, lot_number=lot_number, expires_on=expires_on)
            audit_record(actor=actor, action="vaccination.batch_create", obj=batch)
    except IntegrityError:
        raise Conflict(
            _("Batch %(lot)s of this vaccine is registered already.") % {"lot": lot_number},
            field="lot_number",
        ) from None
    return batch


def parse_opening_hours(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checked opening periods: weekday 0-6 (Monday 0), start before end, "HH:MM" local time."""
    clean = []
    for period in periods:
        try:
            weekday = int(period["weekday"])
            start, end = str(period["start"]), str(period["end"])
        except (KeyError, TypeError, ValueError):
            raise DomainError(
                _("Each opening period needs a weekday, a start and an end."), field="opening_hours"
            ) from None
        if not 0 <= weekday <= 6 or not _HHMM.match(start) or not _HHMM.match(end) or start >= end:
            raise DomainError(
                _("Opening period %(start)s-%(end)s is not a valid time range.")
                % {"start": start, "end": end},
                field="opening_hours",
            )
        clean.append({"weekday": weekday, "start": start, "end": end})
    return sorted(clean, key=lambda p: (p["weekday"], p["start"]))


@dataclass
class SiteInput:
    name: str
    grid: OrgUnit
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    opening_hours: list[dict[str, Any]] | None = None
    slot_minutes: int = 30
    capacity_per_slot: int = 20
    vaccines: list[Vaccine] | None = None


def site_create(*, actor: User | None, data: SiteInput) -> VaccinationSite:
    require(actor, Perm.VACCINATION_MANAGE)
    if not data.name.strip():
        raise DomainError(_("A site needs a name."), field="name")
    if data.grid.level != OrgLevel.GRID:
        raise DomainError(_("Choose the grid the site lies in."), field="grid")
    if not 5 <= data.slot_minutes <= 240 or not 1 <= data.capacity_per_slot <= 1000:
        raise DomainError(_("Slots last 5 to 240 minutes and hold 1 to 1000 people."), field="slot_minutes")
    hours = parse_opening_hours(data.opening_hours or [])
    with transaction.atomic():
        site = VaccinationSite.objects.create(
            name=data.name.strip(),
            grid=data.grid,
            org_code=data.grid.code,
            address=data.address,
            lat=data.lat if data.lat is not None else data.grid.centroid_lat,
            lng=data.lng if data.lng is not None else data.grid.centroid_lng,
            opening_hours=hours,
            slot_minutes=data.slot_minutes,
            capacity_per_slot=data.capacity_per_slot,
        )
        site.vaccines.set(data.vaccines or [])
        audit_record(actor=actor, action="vaccination.site_create", obj=site)
    return site


def site_update(
    *,
    actor: User | None,
    site: VaccinationSite,
    opening_hours: list[dict[str, Any]] | None = None,
    capacity_per_slot: int | None = None,
    vaccines: list[Vaccine] | None = None,
    active: bool | None = None,
) -> VaccinationSite:
    """Change what future slot generation uses; slots already cut keep their capacity and bookings."""
    require(actor, Perm.VACCINATION_MANAGE)
    changed = []
    with transaction.atomic():
        if opening_hours is not None:
            site.opening_hours = parse_opening_hours(opening_hours)
            changed.append("opening_hours")
        if capacity_per_slot is not None:
            if not 1 <= capacity_per_slot <= 1000:
                raise DomainError(_("Slots hold 1 to 1000 people."), field="capacity_per_slot")
            site.capacity_per_slot = capacity_per_slot
            changed.append("capacity_per_slot")
        if active is not None:
            site.active = active
            changed.append("active")
        if changed:
            site.save(update_fields=changed)
        if vaccines is not None:
            site.vaccines.set(vaccines)
            changed.append("vaccines")
        audit_record(actor=actor, action="vaccination.site_update", obj=site, detail={"fields": changed})
    return site


def _slot_times(site: VaccinationSite, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    tz = timezone.get_current_timezone()
    step = dt.timedelta(minutes=site.slot_minutes)
    times = []
    for period in site.opening_hours:
        if period["weekday"] != day.weekday():
            continue
        start = dt.datetime.combine(day, dt.time.fromisoformat(period["start"]), tzinfo=tz)
        end = dt.datetime.combine(day, dt.time.fromisoformat(period["end"]), tzinfo=tz)
        while start + step <= end:
            times.append((start, start + step))
            start += step
    return times


def slots_generate(*, actor: User | None, site: VaccinationSite, start: dt.date, days: int) -> int:
    """Cut the site's slots for ``days`` days from ``start`` out of its opening hours, skipping closed days
    and slots that exist already (running it twice makes nothing twice). Returns how many were made."""
    require(actor, Perm.VACCINATION_MANAGE)
    if not 1 <= days <= MAX_SLOT_DAYS:
        raise DomainError(
            _("Slots are made for 1 to %(n)s days at a time.") % {"n": MAX_SLOT_DAYS}, field="days"
        )
    closed = set(SiteClosure.objects.filter(site=site).values_list("day", flat=True))
    wanted = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        if day not in closed:
            wanted.extend(_slot_times(site, day))
    if not wanted:
        return 0
    existing = set(
        Slot.objects.filter(site=site, starts_at__gte=wanted[0][0], starts_at__lte=wanted[-1][0]).values_list(
            "starts_at", flat=True
        )
    )
    fresh = [
        Slot(site=site, org_code=site.org_code, starts_at=a, ends_at=b, capacity=site.capacity_per_slot)
        for a, b in wanted
        if a not in existing
    ]
    with transaction.atomic():
        Slot.objects.bulk_create(fresh, batch_size=500)
        audit_record(
            actor=actor,
            action="vaccination.slots_generate",
            obj=site,
            detail={"from": start.isoformat(), "days": days, "made": len(fresh)},
        )
    return len(fresh)


def site_close_day(*, actor: User | None, site: VaccinationSite, day: dt.date, reason: str) -> SiteClosure:
    """Close a site for a day: its slots that day close and their bookings are cancelled, each person told
    to book again (``vaccination.booking_cancelled`` with ``reason: site_closed``)."""
    from epigrid.vaccination.services.bookings import bookings_cancel_for_closure

    require(actor, Perm.VACCINATION_MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the site is closed."), field="reason")
    if day < timezone.localdate():
        raise DomainError(_("A past day cannot be closed."), field="day")
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    with transaction.atomic():
        closure, made = SiteClosure.objects.get_or_create(
            site=site, day=day, defaults={"reason": reason[:200]}
        )
        if not made:
            raise Conflict(_("The site is already closed that day."), field="day")
        slots = Slot.objects.filter(
            site=site, starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1)
        )
        slots.update(closed=True)
        bookings = list(
            Booking.objects.filter(slot__in=slots, status=BookingStatus.BOOKED).select_related(
                "person", "slot"
            )
        )
        bookings_cancel_for_closure(actor=actor, bookings=bookings, reason=reason)
        audit_record(
            actor=actor,
            action="vaccination.site_close_day",
            obj=site,
            detail={"day": day.isoformat(), "reason": reason, "cancelled": len(bookings)},
        )
        events.publish(
            "vaccination.site_closed",
            payload={"site_id": site.pk, "day": day.isoformat(), "cancelled": len(bookings)},
            org_code=site.org_code,
        )
    return closure
