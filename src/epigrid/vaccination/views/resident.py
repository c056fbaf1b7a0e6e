"""The resident's vaccination pages, for a phone in a hurry: my record, booking (vaccine, site, slot), my
booking with its code as text and QR, rescheduling and cancelling, and reporting a dose given elsewhere.

Residents act on their own Person only; staff accounts get a 404 here (their pages are the desk and the
lists). Reads go through ``vaccination.selectors`` (scoped: someone else's booking code is a 404), writes
through the services; a service's refusal is shown on the page and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from functools import wraps
from itertools import groupby
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import render_page
from epigrid.core.images import MAX_PHOTO_BYTES
from epigrid.core.models import DiseaseProfile, Person
from epigrid.core.roles import is_staff_role
from epigrid.vaccination import selectors
from epigrid.vaccination.models import Booking, BookingStatus, Slot, VaccinationSite, Vaccine
from epigrid.vaccination.resident_forms import CancelForm, SelfReportForm, SlotChoiceForm
from epigrid.vaccination.services import bookings, doses

SLOT_DAYS = 14  # how far ahead the slot pages look


def _resident_page(view: Callable) -> Callable:
    """Signed in, a resident account with a registered person (``request.person``); staff get a 404."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if is_staff_role(user.role):
            raise Http404
        if not user.person_id:
            raise PermissionDenied(_("This page is for residents with a registered person."))
        try:
            request.person = core_selectors.person_get(actor=user, pk=user.person_id)
        except Http404:
            raise PermissionDenied(_("This page is for residents with a registered person.")) from None
        return view(request, *args, **kwargs)

    return wrapped


def _disease_name(disease: DiseaseProfile) -> str:
    return disease.name_zh if (get_language() or "").startswith("zh") else disease.name_en


def _qr_svg(text: str) -> str:
    # segno draws the SVG from the booking code (our own alphabet); no user markup reaches it.
    return segno.make(text, error="m").svg_inline(border=4, omitsize=True, title="")


def _days(slots: Iterable[Slot]) -> list[tuple[dt.date, list[Slot]]]:
    """Slots grouped by local day, in order."""
    return [
        (day, list(group)) for day, group in groupby(slots, key=lambda s: timezone.localdate(s.starts_at))
    ]


def _slot_window(person: Person, vaccine: Vaccine, site: VaccinationSite) -> tuple[Any, dt.date | None]:
    """The site's slots from the first day the person may have the vaccine (today, or the end of the
    interval since the last dose), and that day when it is later than today."""
    today = timezone.localdate()
    verdict = selectors.eligibility_for(person=person, vaccine=vaccine, on=today)
    start = verdict.earliest_on if verdict.earliest_on and verdict.earliest_on > today else today
    days = max(SLOT_DAYS - (start - today).days, 1)
    return selectors.slots_ahead(site=site, start=start, days=days), start if start > today else None


# --- my record --------------------------------------------------------------------------------------------------


@_resident_page
@require_GET
def my(request: HttpRequest) -> HttpResponse:
    """My doses, my open appointment, my self-reports and where I stand per disease."""
    record = selectors.person_record(actor=request.user, person=request.person)
    standing = [
        {
            "disease": _disease_name(s.disease),
            "doses": s.doses,
            "series_complete": s.series_complete,
            "boosters": s.boosters,
            "last_dose_on": s.last_dose_on,
            "next_due_on": s.next_due_on,
            "next_due_kind": s.get_next_due_kind_display() if s.next_due_kind else "",
            "overdue": s.next_due_on is not None and s.next_due_on < timezone.localdate(),
        }
        for s in record.statuses
    ]
    context = {
        "person": request.person,
        "doses": record.doses,
        "open_bookings": record.open_bookings,
        "past_bookings": [b for b in record.bookings if b.status != BookingStatus.BOOKED][:5],
        "self_reports": record.self_reports,
        "standing": standing,
    }
    return render_page(request, "vaccination/my.html", context)


# --- booking ----------------------------------------------------------------------------------------------------


def _open_booking_for(person: Person, disease_id: int, user: Any) -> Booking | None:
    return (
        selectors.booking_list(actor=user)
        .filter(person=person, disease_id=disease_id, status=BookingStatus.BOOKED)
        .first()
    )


@_resident_page
@require_GET
def book(request: HttpRequest) -> HttpResponse:
    """Step 1: the vaccines the person may have (and why not the others); step 2 (``?vaccine=``): the sites
    offering the chosen one."""
    person, user = request.person, request.user
    today = timezone.localdate()
    open_by_disease = {
        b.disease_id: b
        for b in selectors.booking_list(actor=user).filter(person=person, status=BookingStatus.BOOKED)
    }
    eligible, refused = [], []
    for vaccine in selectors.vaccine_list():
        verdict = selectors.eligibility_for(person=person, vaccine=vaccine, on=today)
        from_day = None
        if not verdict.eligible and verdict.earliest_on and verdict.earliest_on > today:
            # Too soon today; bookable for a slot on or after the day the interval ends?
            later = selectors.eligibility_for(person=person, vaccine=vaccine, on=verdict.earliest_on)
            if later.eligible:
                verdict, from_day = later, verdict.earliest_on
        entry = {"vaccine": vaccine, "verdict": verdict, "from_day": from_day}
        booked = open_by_disease.get(vaccine.disease_id)
        if booked is not None:
            entry["booking"] = booked
            entry["reasons"] = [
                _("You already have an appointment for this vaccination; reschedule or cancel it.")
            ]
            refused.append(entry)
        elif verdict.eligible:
            eligible.append(entry)
        else:
            entry["reasons"] = verdict.reasons
            refused.append(entry)
    chosen, sites = None, []
    wanted = request.GET.get("vaccine", "")
    if wanted.isdigit():
        chosen = next((e for e in eligible if e["vaccine"].pk == int(wanted)), None)
        if chosen is None:
            messages.error(request, _("You cannot book this vaccine now; see the reasons below."))
        else:
            sites = list(selectors.bookable_sites(vaccine=chosen["vaccine"]))
    context = {
        "person": person,
        "eligible": eligible,
        "refused": refused,
        "open_bookings": list(open_by_disease.values()),
        "chosen": chosen,
        "sites": sites,
    }
    return render_page(request, "vaccination/book.html", context)


def _vaccine_param(request: HttpRequest, site_pk: int) -> Vaccine | None:
    raw = request.POST.get("vaccine") or request.GET.get("vaccine") or ""
    if not raw.isdigit():
        return None
    vaccine = selectors.vaccine_list().filter(pk=int(raw), sites__pk=site_pk).first()
    return vaccine


@_resident_page
@require_http_methods(["GET", "POST"])
def book_slots(request: HttpRequest, site_pk: int) -> HttpResponse:
    """Step 3: the site's free slots of the coming days, by day; a tap books (once, whatever the taps)."""
    site = selectors.bookable_site_get(pk=site_pk)
    vaccine = _vaccine_param(request, site.pk)
    if vaccine is None:
        messages.info(request, _("Choose a vaccine first."))
        return redirect("vaccination:book")
    person = request.person
    error, status = "", 200
    if request.method == "POST":
        form = SlotChoiceForm(request.POST)
        if not form.is_valid():
            error, status = _("Choose a time slot."), 400
        else:
            try:
                slot = selectors.bookable_slot_get(pk=form.cleaned_data["slot"])
                if slot.site_id != site.pk:
                    raise Http404
                booking = bookings.booking_create(
                    actor=request.user,
                    person=person,
                    slot=slot,
                    vaccine=vaccine,
                    client_id=form.cleaned_data["client_id"],
                )
            except Forbidden as err:
                raise PermissionDenied(err.message) from None
            except DomainError as err:
                error, status = err.message, err.status
            else:
                messages.success(request, _("Your appointment is booked."))
                return redirect("vaccination:booking", code=booking.code)
    slots, from_day = _slot_window(person, vaccine, site)
    context = {
        "person": person,
        "site": site,
        "vaccine": vaccine,
        "days": _days(slots),
        "from_day": from_day,
        "client_id": uuid.uuid4(),
        "error": error,
        "open_booking": _open_booking_for(person, vaccine.disease_id, request.user),
    }
    return render_page(request, "vaccination/book_slots.html", context, status=status)


# --- my booking -------------------------------------------------------------------------------------------------


@_resident_page
@require_http_methods(["GET", "POST"])
def booking_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The appointment: its code large and as a QR for the vaccinator's scanner; change the time (same
    site) or cancel it (after a confirmation). Someone else's code is a 404."""
    booking = selectors.booking_by_code(actor=request.user, code=code)
    if booking.code != code:
        return redirect("vaccination:booking", code=booking.code)  # typed in lower case
    step = request.POST.get("action") or request.GET.get("step") or ""
    error, status = "", 200
    cancel_form = CancelForm(request.POST if request.method == "POST" and step == "cancel" else None)
    if request.method == "POST":
        try:
            if step == "cancel":
                reason = cancel_form.cleaned_data["reason"] if cancel_form.is_valid() else ""
                bookings.booking_cancel(actor=request.user, booking=booking, reason=reason)
                messages.success(request, _("Your appointment is cancelled."))
                return redirect("vaccination:booking", code=booking.code)
            if step == "reschedule":
                form = SlotChoiceForm(request.POST)
                if not form.is_valid():
                    raise DomainError(_("Choose a time slot."), field="slot")
                slot = selectors.bookable_slot_get(pk=form.cleaned_data["slot"])
                if slot.site_id != booking.slot.site_id:
                    raise Http404
                bookings.booking_reschedule(actor=request.user, booking=booking, slot=slot)
                messages.success(request, _("Your appointment is moved."))
                return redirect("vaccination:booking", code=booking.code)
            raise DomainError(_("Choose what to do."))
        except Forbidden as err:
            raise PermissionDenied(err.message) from None
        except DomainError as err:
            error, status = err.message, err.status
    is_open = booking.status == BookingStatus.BOOKED
    days = []
    if is_open and step == "reschedule":
        slots, _from = _slot_window(request.person, booking.vaccine, booking.slot.site)
        days = _days(s for s in slots if s.pk != booking.slot_id)
    context = {
        "person": request.person,
        "booking": booking,
        "is_open": is_open,
        "qr_svg": _qr_svg(booking.code) if is_open else "",
        "step": step if is_open else "",
        "days": days,
        "cancel_form": cancel_form,
        "error": error,
    }
    return render_page(request, "vaccination/booking_detail.html", context, status=status)


# --- a dose given elsewhere -------------------------------------------------------------------------------------


@_resident_page
@require_http_methods(["GET", "POST"])
def self_report_new(request: HttpRequest) -> HttpResponse:
    """Report a dose received elsewhere, with a photo of the certificate; staff verify it."""
    vaccines = selectors.vaccine_list(active_only=False)
    status = 200
    if request.method == "POST":
        form = SelfReportForm(request.POST, request.FILES, vaccines=vaccines)
        if form.is_valid():
            data = form.cleaned_data
            upload = data["certificate"]
            try:
                if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
                    raise DomainError(_("The photo is larger than 8 MB."), field="photo")
                doses.self_report_submit(
                    actor=request.user,
                    person=request.person,
                    vaccine=data["vaccine"],
                    given_on=data["given_on"],
                    place=data["place"],
                    photo=upload.read(MAX_PHOTO_BYTES + 1),
                    lot_number=data["lot_number"],
                    client_id=data["client_id"],
                )
            except Forbidden as err:
                raise PermissionDenied(err.message) from None
            except DomainError as err:
                field = {"photo": "certificate"}.get(err.field or "", err.field)
                form.add_error(field if field in form.fields else None, err.message)
            else:
                messages.success(request, _("Your report is sent; staff will check it and tell you."))
                return redirect("vaccination:my")
        status = 400
        # a fresh id only when the first one was lost; a resubmission of this form must stay one report
        if form.has_error("client_id"):
            form.data = form.data.copy()
            form.data["client_id"] = str(uuid.uuid4())
    else:
        form = SelfReportForm(vaccines=vaccines, initial={"client_id": uuid.uuid4()})
    return render_page(request, "vaccination/self_report_new.html", {"form": form}, status=status)
