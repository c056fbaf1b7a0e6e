"""The vaccinator's desk, on a phone or tablet at the site: find the person — ID number typed or read from a
photo of the card (the browser posts it to ``/api/v1/ocr/id-card``, as the sampling station does), or a
booking code — then see their doses and open booking, choose the vaccine with its eligibility, record the
dose; and report an adverse event after a dose.

Reads go through ``core.selectors`` and ``vaccination.selectors`` (out of scope answers like missing), writes
through ``vaccination.services.doses``. A service's ``Forbidden`` becomes the 403 page, any other
``DomainError`` a message on the re-rendered page (400). Names and ID numbers are shown masked; a typed ID
number is posted, never put in a URL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from epigrid.core import selectors as core_selectors
from epigrid.core import services as core_services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.vaccination import eligibility, selectors
from epigrid.vaccination.forms import AefiForm, BookingCodeForm, DoseRecordForm, PersonFindForm
from epigrid.vaccination.models import BookingStatus, Dose, DoseKind, Vaccine
from epigrid.vaccination.services import doses

OCR_URL = "/api/v1/ocr/id-card"
SITE_SESSION = "epigrid.vaccination.desk_site"  # the site this desk recorded at last: chosen again


def _person_in_scope(user: User, person: Person | None) -> Person | None:
    if person is None:
        return None
    try:
        return core_selectors.person_get(actor=user, pk=person.pk)
    except Http404:
        return None


# --- finding the person --------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.VACCINATION_RECORD)
@require_http_methods(["GET", "POST"])
def desk(request: HttpRequest) -> HttpResponse:
    """Find the person: by ID number (typed, or read from a photo of the card) or by booking code."""
    user: User = request.user
    action = request.POST.get("action", "") if request.method == "POST" else ""
    find_form = PersonFindForm(request.POST if action == "id" else None)
    code_form = BookingCodeForm(request.POST if action == "code" else None)
    error, status = "", 200
    if action == "id":
        if find_form.is_valid():
            data = find_form.cleaned_data
            try:
                found = core_services.person_find_by_document(
                    id_type=data["id_type"], id_number=data["id_number"]
                )
            except DomainError as err:
                find_form.add_error("id_number", err.message)
                status = 400
            else:
                person = _person_in_scope(user, found)
                if person is not None:
                    return redirect("vaccination:desk_person", pk=person.pk)
                # Unknown and out of scope read the same: the desk learns nothing about other areas.
                error = _("Nobody with this ID number is registered in your area. Check the number.")
                status = 404
        else:
            status = 400
    elif action == "code":
        if code_form.is_valid():
            code = code_form.cleaned_data["code"]
            try:
                booking = selectors.booking_by_code(actor=user, code=code)
            except Http404:
                error = _("There is no booking %(code)s in your area. Check the code.") % {"code": code}
                status = 404
            else:
                if booking.status == BookingStatus.BOOKED:
                    messages.info(
                        request,
                        _("Booking %(code)s: %(vaccine)s, dose %(n)d.")
                        % {"code": booking.code, "vaccine": booking.vaccine.name, "n": booking.dose_number},
                    )
                else:
                    messages.warning(
                        request,
                        _("Booking %(code)s is %(status)s; it cannot be used for this visit.")
                        % {"code": booking.code, "status": booking.get_status_display()},
                    )
                url = reverse("vaccination:desk_person", args=[booking.person_id])
                return redirect(f"{url}?vaccine={booking.vaccine_id}")
        else:
            status = 400
    elif action:
        status = 400
    context = {
        "find_form": find_form,
        "code_form": code_form,
        "error": error,
        "ocr_url": OCR_URL if has_perm(user, Perm.PERSON_EDIT) else "",
        "pending_reports": selectors.self_report_list(actor=user).count(),
    }
    return render_page(request, "vaccination/desk.html", context, status=status)


# --- the person: record a dose -------------------------------------------------------------------------


def _chosen_vaccine(request: HttpRequest, vaccines: list[Vaccine], record: Any) -> Vaccine | None:
    """The vaccine asked for, else the open booking's, else the one the series started with, else the
    first on the list."""
    by_pk = {v.pk: v for v in vaccines}
    wanted = request.GET.get("vaccine", "")
    if wanted.isdigit() and int(wanted) in by_pk:
        return by_pk[int(wanted)]
    for booking in record.open_bookings:
        if booking.vaccine_id in by_pk:
            return by_pk[booking.vaccine_id]
    for dose in reversed(record.doses):
        if dose.vaccine_id in by_pk:
            return by_pk[dose.vaccine_id]
    return vaccines[0] if vaccines else None


def _dose_form(request: HttpRequest, vaccine: Vaccine, data: Any = None) -> DoseRecordForm:
    user: User = request.user
    today = timezone.localdate()
    usable = list(selectors.batches_usable(vaccine=vaccine, on=today))
    in_scope = list(selectors.site_list(actor=user))
    offering = [s for s in in_scope if s.active and any(v.pk == vaccine.pk for v in s.vaccines.all())]
    last_site = request.session.get(SITE_SESSION)
    initial = {
        "vaccine": vaccine.pk,
        "batch": usable[0].pk if usable else None,
        "site": last_site if any(s.pk == last_site for s in offering) else None,
    }
    return DoseRecordForm(
        data,
        initial=initial,
        # Any batch of the vaccine and any site of the area may be named; the service judges them.
        batches={b.pk: b for b in vaccine.batches.all()} if data is not None else {},
        batch_choices=[
            (b.pk, _("%(lot)s (expires %(day)s)") % {"lot": b.lot_number, "day": b.expires_on})
            for b in usable
        ],
        sites={s.pk: s for s in in_scope},
        site_choices=[(s.pk, s.name) for s in offering],
    )


def _choice(person: Person, vaccine: Vaccine, today: dt.date) -> dict[str, Any]:
    verdict = selectors.eligibility_for(person=person, vaccine=vaccine, on=today)
    return {"vaccine": vaccine, "verdict": verdict, "kind": DoseKind(verdict.kind).label}


def _person_page(
    request: HttpRequest,
    person: Person,
    *,
    vaccine: Vaccine | None = None,
    form: DoseRecordForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user: User = request.user
    record = selectors.person_record(actor=user, person=person)
    prefetch_related_objects(record.doses, "adverse_events")
    vaccines = list(selectors.vaccine_list())
    if vaccine is None:
        vaccine = _chosen_vaccine(request, vaccines, record)
    today = timezone.localdate()
    choices = [_choice(person, v, today) for v in vaccines]
    chosen = next((c for c in choices if vaccine is not None and c["vaccine"].pk == vaccine.pk), None)
    if chosen is None and vaccine is not None:  # a vaccine no longer in use, named by a booking or a form
        chosen = _choice(person, vaccine, today)
    if form is None and vaccine is not None:
        form = _dose_form(request, vaccine)
    verdict = chosen["verdict"] if chosen else None
    context = {
        "person": person,
        "record": record,
        "open_bookings": [
            {"booking": b, "today": timezone.localdate(b.slot.starts_at) == today}
            for b in record.open_bookings
        ],
        "choices": choices,
        "chosen": chosen,
        "verdict": verdict,
        "form": form,
        "show_override": verdict is not None
        and (not verdict.eligible or bool(form is not None and form.data.get("override_reason"))),
        "error": error,
        "today": today,
        "age": eligibility.age_on(person.birth_date, today) if person.birth_date else None,
    }
    return render_page(request, "vaccination/desk_person.html", context, status=status)


@never_cache
@staff_page(Perm.VACCINATION_RECORD)
@require_http_methods(["GET", "POST"])
def desk_person(request: HttpRequest, pk: int) -> HttpResponse:
    """The person's doses and open booking, the vaccines with their eligibility, and the dose form."""
    user: User = request.user
    person = core_selectors.person_get(actor=user, pk=pk)  # 404 out of scope
    if request.method == "GET":
        return _person_page(request, person)
    wanted = request.POST.get("vaccine", "")
    if not wanted.isdigit():
        raise Http404
    vaccine = selectors.vaccine_get(pk=int(wanted))
    form = _dose_form(request, vaccine, request.POST)
    if not form.is_valid():
        return _person_page(request, person, vaccine=vaccine, form=form, status=400)
    data = form.cleaned_data
    try:
        dose = doses.dose_record(
            actor=user,
            person=person,
            vaccine=vaccine,
            batch=data["batch"],
            site=data["site"],
            override_reason=data["override_reason"],
        )
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        return _person_page(request, person, vaccine=vaccine, form=form, error=err.message, status=400)
    request.session[SITE_SESSION] = data["site"].pk
    messages.success(
        request,
        _("Recorded: dose %(n)d (%(kind)s) of %(vaccine)s for %(name)s, batch %(lot)s.")
        % {
            "n": dose.dose_number,
            "kind": dose.get_kind_display(),
            "vaccine": vaccine.name,
            "name": person.name_masked,
            "lot": dose.lot_number,
        },
    )
    url = reverse("vaccination:desk_person", args=[person.pk])
    return redirect(f"{url}?vaccine={vaccine.pk}#dose-{dose.pk}")


# --- adverse events ------------------------------------------------------------------------------------


def _aefi_page(
    request: HttpRequest, dose: Dose, form: AefiForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "dose": dose,
        "person": dose.person,
        "form": form,
        "events": list(dose.adverse_events.all()),
        "error": error,
    }
    return render_page(request, "vaccination/aefi_new.html", context, status=status)


@never_cache
@staff_page(Perm.VACCINATION_RECORD)
@require_http_methods(["GET", "POST"])
def aefi_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Report an adverse event following one dose: onset, symptoms, severity, serious, outcome."""
    user: User = request.user
    dose = selectors.dose_get(actor=user, pk=pk)  # 404 out of scope
    if request.method == "GET":
        form = AefiForm(initial={"onset_at": timezone.localtime().replace(second=0, microsecond=0)})
        return _aefi_page(request, dose, form)
    form = AefiForm(request.POST)
    if not form.is_valid():
        return _aefi_page(request, dose, form, status=400)
    data = form.cleaned_data
    try:
        event = doses.aefi_report(
            actor=user,
            dose=dose,
            onset_at=data["onset_at"],
            symptoms=data["symptoms"],
            severity=data["severity"],
            serious=data["serious"],
            outcome=data["outcome"],
        )
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        return _aefi_page(request, dose, form, error=err.message, status=400)
    text = _("The adverse event after dose %(n)d of %(vaccine)s is reported.") % {
        "n": dose.dose_number,
        "vaccine": dose.vaccine.name,
    }
    if event.serious:
        text = f"{text} {_('It is serious: the command center is alerted.')}"
    messages.success(request, text)
    url = reverse("vaccination:desk_person", args=[dose.person_id])
    return redirect(f"{url}#dose-{dose.pk}")
