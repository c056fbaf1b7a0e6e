"""Vaccination API: the catalogue and bookable sites, eligibility, bookings, doses, AEFI, self-reports.

Residents act on their own record (``person_id`` omitted); staff name the person, who must be in their
area (404 otherwise), and need ``vaccination.view`` to read and ``vaccination.record`` to write (403).
Submissions that carry a ``client_id`` are idempotent: a replay answers 200 with what the first
submission made (201), and makes nothing new.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.images import MAX_PHOTO_BYTES
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.schemas import ErrorOut
from epigrid.vaccination import selectors
from epigrid.vaccination.models import (
    AdverseEvent,
    Booking,
    BookingStatus,
    Dose,
    SelfReport,
    Slot,
    VaccinationSite,
    Vaccine,
)
from epigrid.vaccination.schemas import (
    AefiIn,
    AefiOut,
    BookingIn,
    BookingOut,
    CancelIn,
    DoseIn,
    DoseOut,
    EligibilityOut,
    RejectIn,
    RescheduleIn,
    SelfReportIn,
    SelfReportOut,
    SiteOut,
    SlotOut,
    VaccineOut,
)
from epigrid.vaccination.services import bookings, doses

router = Router(tags=["vaccination"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
MAX_LIST = 5000


# --- who acts for whom ------------------------------------------------------------------------------------------


def _require(user: User, perm: str) -> None:
    if not has_perm(user, perm):
        raise Forbidden(_("Your role may not do this."))


def _reader(user: User) -> None:
    """Residents read their own records; staff need ``vaccination.view`` (scope does the rest)."""
    if is_staff_role(user.role):
        _require(user, Perm.VACCINATION_VIEW)


def _person_for(user: User, person_id: int | None, perm: str) -> Person:
    """The person a request is about: a resident's own (``person_id`` omitted or their own), or for staff
    with ``perm`` the person ``person_id`` in their area (404 outside it, like a missing one)."""
    if not is_staff_role(user.role):
        person = user.person if user.person_id else None
        if person is None:
            raise Forbidden(_("No personal record is linked to this account yet."))
        if person_id is not None and person_id != person.pk:
            raise Http404
        return person
    _require(user, perm)
    if person_id is None:
        raise DomainError(_("Choose the person (person_id)."), field="person_id")
    return core_selectors.person_get(actor=user, pk=person_id)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _window(limit: int, offset: int) -> slice:
    offset = max(offset, 0)
    return slice(offset, offset + max(1, min(limit, MAX_LIST)))


# --- output -----------------------------------------------------------------------------------------------------


def _vaccine_out(v: Vaccine) -> dict:
    return {
        "id": v.pk,
        "code": v.code,
        "name": v.name,
        "manufacturer": v.manufacturer,
        "kind": v.kind,
        "disease": v.disease.code,
        "doses_in_series": v.doses_in_series,
        "min_interval_days": v.min_interval_days,
        "booster_interval_days": v.booster_interval_days,
        "max_boosters": v.max_boosters,
        "booster_min_age_years": v.booster_min_age_years,
        "min_age_years": v.min_age_years,
        "max_age_years": v.max_age_years,
    }


def _site_out(s: VaccinationSite) -> dict:
    return {
        "id": s.pk,
        "name": s.name,
        "address": s.address,
        "lat": s.lat,
        "lng": s.lng,
        "vaccine_ids": sorted(v.pk for v in s.vaccines.all()),  # prefetched
    }


def _slot_out(s: Slot) -> dict:
    return {
        "id": s.pk,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
        "booked": s.booked,
        "free": s.free,
    }


def _booking_out(b: Booking) -> dict:
    slot = b.slot
    return {
        "id": b.pk,
        "code": b.code,
        "status": b.status,
        "person_id": b.person_id,
        "person_name": b.person.name_masked,
        "slot_id": b.slot_id,
        "site_id": slot.site_id,
        "site_name": slot.site.name,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "vaccine_id": b.vaccine_id,
        "vaccine_name": b.vaccine.name,
        "dose_number": b.dose_number,
        "cancel_reason": b.cancel_reason,
    }


def _dose_out(d: Dose) -> dict:
    return {
        "id": d.pk,
        "person_id": d.person_id,
        "person_name": d.person.name_masked,
        "vaccine_id": d.vaccine_id,
        "vaccine_name": d.vaccine.name,
        "dose_number": d.dose_number,
        "kind": d.kind,
        "given_at": d.given_at,
        "given_on": d.given_on,
        "lot_number": d.lot_number,
        "site_id": d.site_id,
        "place": d.place,
        "source": d.source,
        "booking_id": d.booking_id,
    }


def _aefi_out(e: AdverseEvent) -> dict:
    return {
        "id": e.pk,
        "dose_id": e.dose_id,
        "person_id": e.person_id,
        "onset_at": e.onset_at,
        "symptoms": e.symptoms,
        "severity": e.severity,
        "serious": e.serious,
        "outcome": e.outcome,
        "reported_at": e.reported_at,
    }


def _self_report_out(r: SelfReport) -> dict:
    return {
        "id": r.pk,
        "person_id": r.person_id,
        "person_name": r.person.name_masked,
        "vaccine_id": r.vaccine_id,
        "vaccine_name": r.vaccine.name,
        "given_on": r.given_on,
        "place": r.place,
        "lot_number": r.lot_number,
        "status": r.status,
        "reason": r.reason,
        "submitted_at": r.submitted_at,
        "reviewed_at": r.reviewed_at,
        "dose_id": r.dose_id,
    }


# --- the catalogue and bookable sites (anyone signed in) ------------------------------------------------------


@router.get("vaccination/vaccines", response=list[VaccineOut])
def vaccine_list(request: HttpRequest):
    """Vaccines in use."""
    return [_vaccine_out(v) for v in selectors.vaccine_list()]


@router.get("vaccination/sites", response={200: list[SiteOut], **ERRORS})
def site_list(request: HttpRequest, vaccine_id: int | None = None):
    """Open sites anyone may book at; with ``vaccine_id`` only those offering that vaccine."""
    vaccine = selectors.vaccine_get(pk=vaccine_id) if vaccine_id is not None else None
    return [_site_out(s) for s in selectors.bookable_sites(vaccine=vaccine)]


@router.get("vaccination/sites/{site_id}/slots", response={200: list[SlotOut], **ERRORS})
def slot_list(request: HttpRequest, site_id: int, start: dt.date | None = None, days: int = 7):
    """The site's open slots that have not started, from ``start`` (today) for ``days`` (1-62) days."""
    site = selectors.bookable_site_get(pk=site_id)
    days = max(1, min(days, 62))
    return [_slot_out(s) for s in selectors.slots_ahead(site=site, start=start, days=days)]


@router.get("vaccination/eligibility", response={200: EligibilityOut, **ERRORS})
def eligibility(
    request: HttpRequest, vaccine_id: int, person_id: int | None = None, on: dt.date | None = None
):
    """May the person (a resident: themselves) have this vaccine on ``on`` (today)? If not, why not."""
    person = _person_for(request.user, person_id, Perm.VACCINATION_VIEW)
    vaccine = selectors.vaccine_get(pk=vaccine_id)
    verdict = selectors.eligibility_for(person=person, vaccine=vaccine, on=on)
    return {
        "eligible": verdict.eligible,
        "dose_number": verdict.dose_number,
        "kind": verdict.kind,
        "reasons": verdict.reasons,
        "earliest_on": verdict.earliest_on,
    }


# --- bookings -------------------------------------------------------------------------------------------------


@router.post("vaccination/bookings", response={200: BookingOut, 201: BookingOut, **ERRORS})
def booking_create(request: HttpRequest, payload: BookingIn):
    """Book a slot: 201 with the booking and its code. A replay of the same ``client_id`` answers 200 with
    the booking made the first time. Not eligible: 400 with the reasons; slot full or an open booking
    for this disease already: 409."""
    started = timezone.now()
    user = request.user
    person = _person_for(user, payload.person_id, Perm.VACCINATION_RECORD)
    slot = selectors.bookable_slot_get(pk=payload.slot_id)  # with its site
    vaccine = selectors.vaccine_get(pk=payload.vaccine_id)
    booking = bookings.booking_create(
        actor=user, person=person, slot=slot, vaccine=vaccine, client_id=payload.client_id
    )
    if booking.created_at < started:  # made by an earlier submission
        return Status(200, _booking_out(selectors.booking_get(actor=user, pk=booking.pk)))
    return Status(201, _booking_out(booking))


@router.get("vaccination/bookings", response={200: list[BookingOut], **ERRORS})
def booking_list(request: HttpRequest, status: str = "", limit: int = 500, offset: int = 0):
    """Bookings, newest first: a resident's own, or those of people in the staff member's area."""
    _reader(request.user)
    qs = selectors.booking_list(actor=request.user)
    if status:
        if status not in BookingStatus.values:
            raise DomainError(
                _("Unknown status; use one of: %(choices)s.") % {"choices": ", ".join(BookingStatus.values)},
                field="status",
            )
        qs = qs.filter(status=status)
    return [_booking_out(b) for b in qs[_window(limit, offset)]]


@router.get("vaccination/bookings/{code}", response={200: BookingOut, **ERRORS})
def booking_detail(request: HttpRequest, code: str):
    _reader(request.user)
    return _booking_out(selectors.booking_by_code(actor=request.user, code=code))


@router.post("vaccination/bookings/{code}/reschedule", response={200: BookingOut, **ERRORS})
def booking_reschedule(request: HttpRequest, code: str, payload: RescheduleIn):
    """Move an open booking to another slot; a full slot (409) leaves it where it was."""
    _reader(request.user)
    booking = selectors.booking_by_code(actor=request.user, code=code)
    slot = selectors.bookable_slot_get(pk=payload.slot_id)
    return _booking_out(bookings.booking_reschedule(actor=request.user, booking=booking, slot=slot))


@router.post("vaccination/bookings/{code}/cancel", response={200: BookingOut, **ERRORS})
def booking_cancel(request: HttpRequest, code: str, payload: CancelIn):
    _reader(request.user)
    booking = selectors.booking_by_code(actor=request.user, code=code)
    return _booking_out(bookings.booking_cancel(actor=request.user, booking=booking, reason=payload.reason))


# --- doses and adverse events ---------------------------------------------------------------------------------


@router.post("vaccination/doses", response={201: DoseOut, **ERRORS})
def dose_record(request: HttpRequest, payload: DoseIn):
    """Record a dose given at a site (vaccinators). A person the rules would refuse needs
    ``override_reason``; their open booking for the disease is marked attended."""
    user = request.user
    _require(user, Perm.VACCINATION_RECORD)
    person = core_selectors.person_get(actor=user, pk=payload.person_id)
    vaccine = selectors.vaccine_get(pk=payload.vaccine_id)
    batch = selectors.batch_get(pk=payload.batch_id)
    site = selectors.site_get(actor=user, pk=payload.site_id)
    booking = (
        selectors.booking_by_code(actor=user, code=payload.booking_code) if payload.booking_code else None
    )
    dose = doses.dose_record(
        actor=user,
        person=person,
        vaccine=vaccine,
        batch=batch,
        site=site,
        given_at=_aware(payload.given_at),
        booking=booking,
        override_reason=payload.override_reason,
    )
    return Status(201, _dose_out(dose))


@router.get("vaccination/doses/{dose_id}", response={200: DoseOut, **ERRORS})
def dose_detail(request: HttpRequest, dose_id: int):
    _reader(request.user)
    dose = selectors.dose_get(actor=request.user, pk=dose_id)
    return _dose_out(dose)


@router.post("vaccination/doses/{dose_id}/aefi", response={201: AefiOut, **ERRORS})
def aefi_report(request: HttpRequest, dose_id: int, payload: AefiIn):
    """An adverse event following the dose; serious ones alarm the command center."""
    _require(request.user, Perm.VACCINATION_RECORD)
    dose = selectors.dose_get(actor=request.user, pk=dose_id)
    event = doses.aefi_report(
        actor=request.user,
        dose=dose,
        onset_at=_aware(payload.onset_at),
        symptoms=payload.symptoms,
        severity=payload.severity,
        serious=payload.serious,
        outcome=payload.outcome,
    )
    return Status(201, _aefi_out(event))


# --- self-reports ---------------------------------------------------------------------------------------------


@router.post("vaccination/self-reports", response={200: SelfReportOut, 201: SelfReportOut, **ERRORS})
def self_report_submit(
    request: HttpRequest,
    payload: Form[SelfReportIn],
    certificate: UploadedFile = File(...),  # noqa: B008 - ninja's marker for a file part
):
    """A dose received elsewhere, as multipart form data with a photo of the certificate (JPEG or PNG, at
    most 8 MB). 201; a replay of the same ``client_id`` answers 200 with the first report. Not an image,
    too large, a date in the future: 400 and nothing stored."""
    started = timezone.now()
    user = request.user
    person = _person_for(user, payload.person_id, Perm.VACCINATION_RECORD)
    vaccine = selectors.vaccine_get(pk=payload.vaccine_id)
    if certificate.size is not None and certificate.size > MAX_PHOTO_BYTES:
        raise DomainError(_("The photo is larger than 8 MB."), field="certificate")
    try:
        report = doses.self_report_submit(
            actor=user,
            person=person,
            vaccine=vaccine,
            given_on=payload.given_on,
            place=payload.place,
            photo=certificate.read(MAX_PHOTO_BYTES + 1),
            lot_number=payload.lot_number,
            client_id=payload.client_id,
        )
    except DomainError as err:
        if err.field == "photo":
            err.field = "certificate"
        raise
    fresh = report.submitted_at >= started
    if not fresh:
        report = selectors.self_report_get(actor=user, pk=report.pk)
    return Status(201 if fresh else 200, _self_report_out(report))


@router.get("vaccination/self-reports/{report_id}", response={200: SelfReportOut, **ERRORS})
def self_report_detail(request: HttpRequest, report_id: int):
    """A self-report's details and review state (the certificate photo is not part of it)."""
    _reader(request.user)
    return _self_report_out(selectors.self_report_get(actor=request.user, pk=report_id))


@router.post("vaccination/self-reports/{report_id}/verify", response={200: SelfReportOut, **ERRORS})
def self_report_verify(request: HttpRequest, report_id: int):
    """Accept the report: its dose joins the person's record (``dose_id``). Reviewed already: 409."""
    _require(request.user, Perm.VACCINATION_RECORD)
    report = selectors.self_report_get(actor=request.user, pk=report_id)
    doses.self_report_verify(actor=request.user, report=report)
    return _self_report_out(selectors.self_report_get(actor=request.user, pk=report_id))


@router.post("vaccination/self-reports/{report_id}/reject", response={200: SelfReportOut, **ERRORS})
def self_report_reject(request: HttpRequest, report_id: int, payload: RejectIn):
    """Reject the report with a reason the resident reads. Reviewed already: 409."""
    _require(request.user, Perm.VACCINATION_RECORD)
    report = selectors.self_report_get(actor=request.user, pk=report_id)
    doses.self_report_reject(actor=request.user, report=report, reason=payload.reason)
    return _self_report_out(selectors.self_report_get(actor=request.user, pk=report_id))
