"""Reads of vaccination, scoped: staff see their area's records, a resident their own; the public sees the
sites and their free slots (nothing personal). Out of scope is 404."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone

from epigrid.core.models import OrgLevel, Person, User
from epigrid.core.scope import prefix_q, scoped
from epigrid.core.selectors import general_rule
from epigrid.vaccination import eligibility
from epigrid.vaccination.models import (
    Booking,
    BookingStatus,
    Dose,
    SelfReport,
    SelfReportStatus,
    Slot,
    VaccinationSite,
    VaccinationStatus,
    Vaccine,
    VaccineBatch,
)

# --- catalogue and sites ---------------------------------------------------------------------------------------


def vaccine_list(*, active_only: bool = True) -> QuerySet[Vaccine]:
    qs = Vaccine.objects.select_related("disease")
    return qs.filter(active=True) if active_only else qs


def vaccine_get(*, pk: int) -> Vaccine:
    vaccine = Vaccine.objects.select_related("disease").filter(pk=pk).first()
    if vaccine is None:
        raise Http404
    return vaccine


def batches_usable(*, vaccine: Vaccine, on: dt.date | None = None) -> QuerySet[VaccineBatch]:
    """Batches of the vaccine that have not expired on ``on`` (today), soonest expiry first: use those first."""
    return VaccineBatch.objects.filter(vaccine=vaccine, expires_on__gte=on or timezone.localdate())


def batch_get(*, pk: int) -> VaccineBatch:
    """A batch by id, expired or not (recording a dose says why an expired batch may not be used)."""
    batch = VaccineBatch.objects.select_related("vaccine").filter(pk=pk).first()
    if batch is None:
        raise Http404
    return batch


def site_list(*, actor: User) -> QuerySet[VaccinationSite]:
    """The sites of the actor's area (staff), for managing them."""
    return scoped(VaccinationSite.objects.select_related("grid"), actor).prefetch_related("vaccines")


def site_get(*, actor: User, pk: int) -> VaccinationSite:
    site = site_list(actor=actor).filter(pk=pk).first()
    if site is None:
        raise Http404
    return site


def bookable_sites(*, vaccine: Vaccine | None = None) -> QuerySet[VaccinationSite]:
    """Open sites anyone may book at (public information), optionally those offering ``vaccine``."""
    qs = VaccinationSite.objects.filter(active=True).select_related("grid").prefetch_related("vaccines")
    return qs.filter(vaccines=vaccine).distinct() if vaccine is not None else qs


def bookable_site_get(*, pk: int) -> VaccinationSite:
    site = bookable_sites().filter(pk=pk).first()
    if site is None:
        raise Http404
    return site


def slots_ahead(*, site: VaccinationSite, start: dt.date | None = None, days: int = 7) -> QuerySet[Slot]:
    """The site's open slots that have not started, from ``start`` (today) for ``days`` days."""
    tz = timezone.get_current_timezone()
    start = start or timezone.localdate()
    begin = max(dt.datetime.combine(start, dt.time.min, tzinfo=tz), timezone.now())
    end = dt.datetime.combine(start + dt.timedelta(days=days), dt.time.min, tzinfo=tz)
    return Slot.objects.filter(site=site, closed=False, starts_at__gt=begin, starts_at__lt=end)


def bookable_slot_get(*, pk: int) -> Slot:
    slot = Slot.objects.select_related("site").filter(pk=pk, site__active=True).first()
    if slot is None:
        raise Http404
    return slot


# --- bookings, doses and a person's record --------------------------------------------------------------------


def booking_list(*, actor: User) -> QuerySet[Booking]:
    return scoped(Booking.objects.select_related("slot__site", "vaccine", "person"), actor)


def booking_get(*, actor: User, pk: int) -> Booking:
    booking = booking_list(actor=actor).filter(pk=pk).first()
    if booking is None:
        raise Http404
    return booking


def booking_by_code(*, actor: User, code: str) -> Booking:
    """The booking with this code in the actor's scope (the vaccinator's desk, a resident's own)."""
    booking = booking_list(actor=actor).filter(code=(code or "").strip().upper()).first()
    if booking is None:
        raise Http404
    return booking


def dose_list(*, actor: User) -> QuerySet[Dose]:
    return scoped(Dose.objects.select_related("vaccine", "site", "batch"), actor)


def dose_get(*, actor: User, pk: int) -> Dose:
    dose = dose_list(actor=actor).filter(pk=pk).first()
    if dose is None:
        raise Http404
    return dose


@dataclass
class PersonRecord:
    """Everything vaccination holds about one person."""

    person: Person
    doses: list[Dose]
    bookings: list[Booking]
    self_reports: list[SelfReport]
    statuses: list[VaccinationStatus] = field(default_factory=list)

    @property
    def open_bookings(self) -> list[Booking]:
        return [b for b in self.bookings if b.status == BookingStatus.BOOKED]


def person_record(*, actor: User, person: Person) -> PersonRecord:
    """The person's doses, bookings, self-reports and standing; the caller has checked the person is in
    scope (``core.selectors.person_get`` or the resident's own record), and every list is scoped again."""
    return PersonRecord(
        person=person,
        doses=list(dose_list(actor=actor).filter(person=person).order_by("given_at")),
        bookings=list(booking_list(actor=actor).filter(person=person).order_by("-slot__starts_at")),
        self_reports=list(
            scoped(SelfReport.objects.select_related("vaccine"), actor)
            .filter(person=person)
            .defer("certificate")
        ),
        statuses=list(
            scoped(VaccinationStatus.objects.select_related("disease"), actor).filter(person=person)
        ),
    )


def eligibility_for(
    *, person: Person, vaccine: Vaccine, on: dt.date | None = None
) -> eligibility.Eligibility:
    doses = list(
        Dose.objects.filter(person=person, disease_id=vaccine.disease_id)
        .select_related("vaccine")
        .order_by("given_at")
    )
    return eligibility.assess(
        birth_date=person.birth_date, vaccine=vaccine, on=on or timezone.localdate(), doses=doses
    )


# --- self-reports ----------------------------------------------------------------------------------------------


def self_report_list(*, actor: User, status: str = SelfReportStatus.PENDING) -> QuerySet[SelfReport]:
    qs = scoped(SelfReport.objects.select_related("person", "vaccine").defer("certificate"), actor)
    return qs.filter(status=status).order_by("submitted_at") if status else qs


def self_report_get(*, actor: User, pk: int) -> SelfReport:
    report = scoped(SelfReport.objects.select_related("person", "vaccine"), actor).filter(pk=pk).first()
    if report is None:
        raise Http404
    return report


# --- coverage and overdue -------------------------------------------------------------------------------------

AGE_BANDS = ("0-2", "3-11", "12-17", "18-59", "60-69", "70-79", "80+")
UNKNOWN_AGE = "?"
_BAND_FLOORS = ((80, "80+"), (70, "70-79"), (60, "60-69"), (18, "18-59"), (12, "12-17"), (3, "3-11"))
_LEVEL_LENGTH = {OrgLevel.GRID: 15, OrgLevel.COMMUNITY: 12, OrgLevel.STREET: 9}


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _age_band(field_name: str, today: dt.date) -> Case:
    """The age band of a birth date column on ``today``, computed by the database (index-friendly ranges)."""
    whens = [
        When(**{f"{field_name}__lte": _years_ago(today, floor)}, then=Value(band))
        for floor, band in _BAND_FLOORS
    ]
    whens.append(When(**{f"{field_name}__isnull": False}, then=Value("0-2")))
    return Case(*whens, default=Value(UNKNOWN_AGE), output_field=CharField())


@dataclass
class CoverageRow:
    unit_code: str
    band: str
    population: int = 0
    first_dose: int = 0
    full_series: int = 0
    booster: int = 0

    @staticmethod
    def share(part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0


def coverage(
    *,
    actor: User,
    disease_id: int,
    level: str = OrgLevel.GRID,
    within: str = "",
    today: dt.date | None = None,
) -> list[CoverageRow]:
    """Residents and their vaccination per unit (grid, community or street) and age band: how many have
    a first dose, a full series, a booster. Two grouped queries (people; statuses), merged here."""
    today = today or timezone.localdate()
    length = _LEVEL_LENGTH.get(level, 15)
    people = scoped(Person.objects.filter(grid__isnull=False), actor)
    statuses = scoped(
        VaccinationStatus.objects.filter(disease_id=disease_id, person__grid__isnull=False), actor
    )
    if within:
        people = people.filter(prefix_q("org_code", within))
        statuses = statuses.filter(prefix_q("org_code", within))
    rows: dict[tuple[str, str], CoverageRow] = {}
    for item in (
        people.annotate(unit=Substr("org_code", 1, length), band=_age_band("birth_date", today))
        .values("unit", "band")
        .annotate(n=Count("pk"))
    ):
        rows[(item["unit"], item["band"])] = CoverageRow(item["unit"], item["band"], population=item["n"])
    for item in (
        statuses.annotate(unit=Substr("org_code", 1, length), band=_age_band("person__birth_date", today))
        .values("unit", "band")
        .annotate(
            first=Count("pk", filter=Q(doses__gte=1)),
            full=Count("pk", filter=Q(series_complete=True)),
            boost=Count("pk", filter=Q(boosters__gte=1)),
        )
    ):
        row = rows.setdefault((item["unit"], item["band"]), CoverageRow(item["unit"], item["band"]))
        row.first_dose, row.full_series, row.booster = item["first"], item["full"], item["boost"]
    order = {band: i for i, band in enumerate((*AGE_BANDS, UNKNOWN_AGE))}
    return sorted(rows.values(), key=lambda r: (r.unit_code, order.get(r.band, 99)))


def overdue_grace_days() -> int:
    return int(general_rule("vaccination_overdue_grace_days", 14) or 0)


def overdue(
    *, actor: User, disease_id: int, within: str = "", today: dt.date | None = None
) -> QuerySet[VaccinationStatus]:
    """People whose next dose (series or booster) fell due more than the grace period ago and who have no
    open booking for it, oldest first."""
    today = today or timezone.localdate()
    cutoff = today - dt.timedelta(days=overdue_grace_days())
    qs = scoped(
        VaccinationStatus.objects.filter(disease_id=disease_id, next_due_on__lte=cutoff).select_related(
            "person", "person__grid"
        ),
        actor,
    )
    if within:
        qs = qs.filter(prefix_q("org_code", within))
    booked = Booking.objects.filter(disease_id=disease_id, status=BookingStatus.BOOKED).values("person_id")
    return qs.exclude(person_id__in=booked).order_by("next_due_on", "person_id")


# --- the command center ---------------------------------------------------------------------------------------


def doses_given(*, actor: User, start: dt.datetime, end: dt.datetime) -> int:
    """Doses given (recorded at sites, or verified and imported doses given) in [start, end) in scope."""
    return dose_list(actor=actor).filter(given_at__gte=start, given_at__lt=end).count()


def site_day_load(*, actor: User, day: dt.date | None = None) -> list[dict]:
    """Each site in scope with today's slot capacity, places booked and doses given, for the map."""
    tz = timezone.get_current_timezone()
    day = day or timezone.localdate()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    today_slots = Q(slots__starts_at__gte=start, slots__starts_at__lt=end, slots__closed=False)
    sites = list(
        site_list(actor=actor)
        .filter(active=True)
        .annotate(
            capacity=Sum("slots__capacity", filter=today_slots),
            booked=Sum("slots__booked", filter=today_slots),
        )
    )
    given = dict(
        Dose.objects.filter(given_at__gte=start, given_at__lt=end, site__in=[s.pk for s in sites])
        .values("site_id")
        .annotate(n=Count("pk"))
        .values_list("site_id", "n")
    )
    return [
        {
            "id": s.pk,
            "name": s.name,
            "lat": s.lat,
            "lng": s.lng,
            "org_code": s.org_code,
            "capacity_today": s.capacity or 0,
            "booked_today": s.booked or 0,
            "doses_today": given.get(s.pk, 0),
        }
        for s in sites
    ]
