"""The catalogue and the sites (``vaccination.manage``): vaccines and their batches; vaccination sites with
their opening hours, capacity and vaccines, slots cut from the hours, and closed days.

Reads go through ``vaccination.selectors`` and ``core.selectors`` (a site out of scope answers 404), writes
through ``vaccination.services.catalogue``. A service's ``Forbidden`` becomes the 403 page; any other
``DomainError`` is shown beside the form it belongs to on the re-rendered page (400).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.models import OrgLevel, User
from epigrid.core.roles import Perm
from epigrid.vaccination import selectors
from epigrid.vaccination.forms import (
    BatchForm,
    CloseDayForm,
    SiteForm,
    SiteUpdateForm,
    SlotsForm,
    VaccineForm,
    disease_label,
    hours_formset,
    hours_text,
)
from epigrid.vaccination.models import VaccinationSite, Vaccine
from epigrid.vaccination.services import catalogue

SLOT_DAYS_SHOWN = 14


def _attempt(action: Callable[[], Any], form: forms.Form | None = None) -> tuple[Any, str]:
    """Run a service call: a refusal is the 403 page; another domain error comes back as its message, and
    is put on ``form`` (on the field it names when the form has it)."""
    try:
        return action(), ""
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        if form is not None:
            form.add_error(err.field if err.field in form.fields else None, err.message)
        return None, err.message


# --- vaccines and batches ------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.VACCINATION_MANAGE)
@require_http_methods(["GET", "POST"])
def vaccines(request: HttpRequest) -> HttpResponse:
    """The catalogue, in use or not, and the form that adds a vaccine."""
    user: User = request.user
    diseases = list(core_selectors.disease_list())
    form = VaccineForm(request.POST or None, diseases=diseases)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            vaccine, _error = _attempt(
                lambda: catalogue.vaccine_create(actor=user, data=form.to_input()), form
            )
            if vaccine is not None:
                messages.success(
                    request,
                    _("%(name)s is added to the catalogue. Register its batches next.")
                    % {"name": vaccine.name},
                )
                return redirect("vaccination:vaccine_detail", pk=vaccine.pk)
        status = 400
    rows = [
        {"vaccine": v, "disease": disease_label(v.disease)}
        for v in selectors.vaccine_list(active_only=False).order_by("-active", "name")
    ]
    return render_page(request, "vaccination/vaccines.html", {"rows": rows, "form": form}, status=status)


@never_cache
@staff_page(Perm.VACCINATION_MANAGE)
@require_http_methods(["GET", "POST"])
def vaccine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A vaccine's schedule and batches; register a batch, take the vaccine out of use or back."""
    user: User = request.user
    vaccine = selectors.vaccine_get(pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    batch_form = BatchForm(request.POST if action == "batch" else None)
    error, status = "", 200
    if action == "batch":
        if batch_form.is_valid():
            data = batch_form.cleaned_data
            batch, _error = _attempt(
                lambda: catalogue.batch_create(
                    actor=user, vaccine=vaccine, lot_number=data["lot_number"], expires_on=data["expires_on"]
                ),
                batch_form,
            )
            if batch is not None:
                messages.success(
                    request,
                    _("Batch %(lot)s is registered; it expires on %(day)s.")
                    % {"lot": batch.lot_number, "day": batch.expires_on.isoformat()},
                )
                return redirect("vaccination:vaccine_detail", pk=vaccine.pk)
        status = 400
    elif action in ("activate", "deactivate"):
        active = action == "activate"
        _done, error = _attempt(
            lambda: catalogue.vaccine_set_active(actor=user, vaccine=vaccine, active=active)
        )
        if not error:
            messages.success(
                request,
                (_("%(name)s is in use again.") if active else _("%(name)s is no longer in use."))
                % {"name": vaccine.name},
            )
            return redirect("vaccination:vaccine_detail", pk=vaccine.pk)
        status = 400
    elif action:
        status = 400
    today = timezone.localdate()
    context = {
        "vaccine": vaccine,
        "disease": disease_label(vaccine.disease),
        "batches": [{"batch": b, "expired": b.expires_on < today} for b in vaccine.batches.all()],
        "sites": list(selectors.site_list(actor=user).filter(vaccines=vaccine)),
        "batch_form": batch_form,
        "error": error,
    }
    return render_page(request, "vaccination/vaccine_detail.html", context, status=status)


# --- sites ---------------------------------------------------------------------------------------------


def _grid_choices(user: User) -> list[tuple[str, str]]:
    grids = core_selectors.orgunit_list(actor=user, level=OrgLevel.GRID)
    return [(u.code, f"{u.name} ({u.code})") for u in grids]


def _vaccine_choices(also: list[Vaccine] | None = None) -> tuple[list[tuple[int, str]], dict[int, Vaccine]]:
    """Vaccines in use (and those a site offers already, so that saving does not drop them silently)."""
    by_pk = {v.pk: v for v in selectors.vaccine_list()}
    for vaccine in also or []:
        by_pk.setdefault(vaccine.pk, vaccine)
    ordered = sorted(by_pk.values(), key=lambda v: v.name)
    return [(v.pk, v.name if v.active else f"{v.name} ({_('not in use')})") for v in ordered], by_pk


@never_cache
@staff_page(Perm.VACCINATION_MANAGE)
@require_http_methods(["GET", "POST"])
def sites(request: HttpRequest) -> HttpResponse:
    """The sites of the actor's area and the form that creates one, opening hours included."""
    user: User = request.user
    grids = _grid_choices(user)
    vaccine_choices, vaccines_by_pk = _vaccine_choices()
    data = request.POST if request.method == "POST" else None
    form = SiteForm(data, grids=grids, vaccines=vaccine_choices)
    hours = hours_formset(data)
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid() and hours.is_valid():
            clean = form.cleaned_data
            grid = core_selectors.orgunit_get(actor=user, code=clean["grid"])
            site, error = _attempt(
                lambda: catalogue.site_create(
                    actor=user,
                    data=catalogue.SiteInput(
                        name=clean["name"],
                        grid=grid,
                        address=clean["address"].strip(),
                        opening_hours=hours.periods(),
                        slot_minutes=clean["slot_minutes"],
                        capacity_per_slot=clean["capacity_per_slot"],
                        vaccines=[vaccines_by_pk[key] for key in clean["vaccines"]],
                    ),
                ),
            )
            if site is not None:
                messages.success(
                    request,
                    _("%(name)s is created. Generate its slots so that people can book.")
                    % {"name": site.name},
                )
                return redirect("vaccination:site_detail", pk=site.pk)
        status = 400
    rows = [
        {"site": s, "hours": hours_text(s.opening_hours)}
        for s in selectors.site_list(actor=user).order_by("name")
    ]
    context = {"rows": rows, "form": form, "hours": hours, "error": error, "has_grids": bool(grids)}
    return render_page(request, "vaccination/sites.html", context, status=status)


def _day_rows(site: VaccinationSite, days: int) -> list[dict[str, Any]]:
    """The site's open slots that have not started, by day: each day's capacity and places booked."""
    rows: dict[dt.date, dict[str, Any]] = {}
    for slot in selectors.slots_ahead(site=site, days=days).order_by("starts_at"):
        day = timezone.localdate(slot.starts_at)
        row = rows.setdefault(day, {"day": day, "slots": [], "capacity": 0, "booked": 0})
        row["slots"].append(slot)
        row["capacity"] += slot.capacity
        row["booked"] += slot.booked
    return list(rows.values())


def _site_page(
    request: HttpRequest, site: VaccinationSite, *, status: int = 200, **forms_: Any
) -> HttpResponse:
    today = timezone.localdate()
    offered = list(site.vaccines.all())
    vaccine_choices, _by_pk = _vaccine_choices(offered)
    wanted = request.GET.get("days", "")
    days = (
        min(int(wanted), catalogue.MAX_SLOT_DAYS) if wanted.isdigit() and int(wanted) > 0 else SLOT_DAYS_SHOWN
    )
    context = {
        "site": site,
        "offered": offered,
        "hours_lines": hours_text(site.opening_hours),
        "update_form": forms_.pop("update_form", None)
        or SiteUpdateForm(
            vaccines=vaccine_choices,
            initial={
                "capacity_per_slot": site.capacity_per_slot,
                "vaccines": [v.pk for v in offered],
                "active": site.active,
            },
        ),
        "hours": forms_.pop("hours", None) or hours_formset(opening_hours=site.opening_hours),
        "slots_form": forms_.pop("slots_form", None) or SlotsForm(initial={"start": today, "days": 14}),
        "close_form": forms_.pop("close_form", None)
        or CloseDayForm(initial={"day": today + dt.timedelta(days=1)}),
        "day_rows": _day_rows(site, days),
        "days_shown": days,
        "closures": [c for c in site.closures.all() if c.day >= today],
        "error": "",
        **forms_,
    }
    return render_page(request, "vaccination/site_detail.html", context, status=status)


@never_cache
@staff_page(Perm.VACCINATION_MANAGE)
@require_http_methods(["GET", "POST"])
def site_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A site: edit hours, capacity, vaccines and whether it is open; generate slots; close a day; see the
    upcoming slots with places booked, and the closed days."""
    user: User = request.user
    site = selectors.site_get(actor=user, pk=pk)  # 404 out of scope
    if request.method == "GET":
        return _site_page(request, site)
    action = request.POST.get("action", "")
    if action == "update":
        vaccine_choices, by_pk = _vaccine_choices(list(site.vaccines.all()))
        form = SiteUpdateForm(request.POST, vaccines=vaccine_choices)
        hours = hours_formset(request.POST)
        if form.is_valid() and hours.is_valid():
            clean = form.cleaned_data
            done, _error = _attempt(
                lambda: catalogue.site_update(
                    actor=user,
                    site=site,
                    opening_hours=hours.periods(),
                    capacity_per_slot=clean["capacity_per_slot"],
                    vaccines=[by_pk[key] for key in clean["vaccines"]],
                    active=clean["active"],
                ),
                form,
            )
            if done is not None:
                messages.success(request, _("The site is saved. Slots made before keep their capacity."))
                return redirect("vaccination:site_detail", pk=site.pk)
            site = selectors.site_get(actor=user, pk=pk)  # as stored: the refused change is not kept
        return _site_page(request, site, status=400, update_form=form, hours=hours)
    if action == "slots":
        form = SlotsForm(request.POST)
        if form.is_valid():
            clean = form.cleaned_data
            made, _error = _attempt(
                lambda: catalogue.slots_generate(
                    actor=user, site=site, start=clean["start"], days=clean["days"]
                ),
                form,
            )
            if made is not None:
                if made:
                    text = _("Slots made: %(n)d.") % {"n": made}
                else:
                    text = _(
                        "No new slot: the opening hours have no period on those days, the days are closed, "
                        "or their slots exist already."
                    )
                messages.success(request, text)
                return redirect("vaccination:site_detail", pk=site.pk)
        return _site_page(request, site, status=400, slots_form=form)
    if action == "close":
        form = CloseDayForm(request.POST)
        if form.is_valid():
            clean = form.cleaned_data
            closure, _error = _attempt(
                lambda: catalogue.site_close_day(
                    actor=user, site=site, day=clean["day"], reason=clean["reason"]
                ),
                form,
            )
            if closure is not None:
                messages.success(
                    request,
                    _(
                        "%(site)s is closed on %(day)s. The bookings of that day are cancelled and the "
                        "people told to book again."
                    )
                    % {"site": site.name, "day": closure.day.isoformat()},
                )
                return redirect("vaccination:site_detail", pk=site.pk)
        return _site_page(request, site, status=400, close_form=form)
    return _site_page(request, site, status=400)
