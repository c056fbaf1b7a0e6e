"""Vaccination progress pages: coverage per unit and age band, the overdue list with its one-click grid tasks,
their Excel exports, and one person's vaccination record for staff.

Reads go through ``vaccination.selectors`` (scoped; an out-of-scope person or unit is 404 like a missing
one), the tasks through ``services.followup``. Personal data is masked on the pages and in the files.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import Forbidden
from epigrid.core.htmx import PAGE_SIZE, query_without_page, render_page, staff_page
from epigrid.core.models import DiseaseProfile, OrgLevel, OrgUnit, User
from epigrid.core.roles import Perm, has_perm
from epigrid.vaccination import export, selectors
from epigrid.vaccination.export import LEVELS, disease_chosen, disease_label, diseases
from epigrid.vaccination.models import VaccinationStatus
from epigrid.vaccination.services.followup import overdue_tasks_create

# The units a list can be narrowed to: streets, communities and grids of the actor's area.
WITHIN_LEVELS = (OrgLevel.STREET, OrgLevel.COMMUNITY, OrgLevel.GRID)
# Raw spreadsheet rows are cheap; a workbook of every overdue person of a city is not. Beyond this the file
# holds the first rows (oldest due dates first) and says so.
EXPORT_MAX_ROWS = 100_000


def _may_dispatch(user: User) -> bool:
    return has_perm(user, Perm.TASK_DISPATCH) or has_perm(user, Perm.GRID_MANAGE)


def _within(actor: User, code: str) -> OrgUnit | None:
    """The unit a list is narrowed to, or None for the actor's whole area. A unit outside it is 404."""
    code = (code or "").strip()
    return core_selectors.orgunit_get(actor=actor, code=code) if code else None


def _within_choices(actor: User) -> list[tuple[str, str]]:
    units = core_selectors.orgunit_list(actor=actor).filter(level__in=WITHIN_LEVELS).order_by("code")
    return [(code, f"{name} ({code})") for code, name in units.values_list("code", "name")]


def _level(value: str) -> str:
    return value if value in LEVELS else OrgLevel.GRID


def _filters(request: HttpRequest) -> tuple[list[DiseaseProfile], DiseaseProfile, OrgUnit | None]:
    """The disease chooser's options, the chosen disease and the chosen unit, from the query or the form."""
    data = request.POST if request.method == "POST" else request.GET
    choices = diseases()
    disease = disease_chosen(data.get("disease", ""), choices)
    return choices, disease, _within(request.user, data.get("within", ""))


def _chooser_context(request: HttpRequest, choices: list[DiseaseProfile], disease, within) -> dict[str, Any]:
    return {
        "disease": disease,
        "disease_name": disease_label(disease),
        "disease_choices": [(d.code, disease_label(d)) for d in choices],
        "within": within,
        "within_code": within.code if within else "",
        "within_choices": _within_choices(request.user),
        "today": timezone.localdate(),
    }


def _xlsx(content: bytes, stem: str, disease: DiseaseProfile, today: dt.date) -> HttpResponse:
    response = HttpResponse(content, content_type=export.XLSX)
    # ASCII only (disease codes are slugs): the header needs no RFC 5987 encoding.
    response["Content-Disposition"] = f'attachment; filename="{stem}-{disease.code}-{today:%Y%m%d}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response


# --- coverage -----------------------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    """Population and first dose, full series and booster per unit (grid, community or street) and age band."""
    choices, disease, within = _filters(request)
    level = _level(request.GET.get("level", ""))
    context = _chooser_context(request, choices, disease, within)
    table = export.coverage_report(
        actor=request.user, disease=disease, level=level, within=within.code if within else ""
    )
    query = urlencode({"disease": disease.code, "level": level, "within": context["within_code"]})
    context.update(
        {
            "level": level,
            "level_choices": [(value, label) for value, label in OrgLevel.choices if value in LEVELS],
            "table": table,
            "query": query,
            "export_url": f"{reverse('vaccination:coverage_export')}?{query}",
            "overdue_url": f"{reverse('vaccination:overdue')}?"
            + urlencode({"disease": disease.code, "within": context["within_code"]}),
        }
    )
    return render_page(request, "vaccination/coverage.html", context, partial="table")


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_GET
def coverage_export(request: HttpRequest) -> HttpResponse:
    """The coverage table as it is on the page (same choices), as an Excel workbook."""
    _choices, disease, within = _filters(request)
    level = _level(request.GET.get("level", ""))
    today = timezone.localdate()
    table = export.coverage_report(
        actor=request.user, disease=disease, level=level, within=within.code if within else "", today=today
    )
    content = export.coverage_xlsx(table, disease=disease_label(disease), level=level, today=today)
    return _xlsx(content, "coverage", disease, today)


# --- overdue ------------------------------------------------------------------------------------------------


def _overdue(request: HttpRequest, disease: DiseaseProfile, within: OrgUnit | None) -> QuerySet:
    # The masked columns are all a list shows: the encrypted document number and phone stay undecrypted.
    return selectors.overdue(
        actor=request.user, disease_id=disease.pk, within=within.code if within else ""
    ).defer("person__id_number", "person__phone", "person__address")


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_GET
def overdue(request: HttpRequest) -> HttpResponse:
    """People whose next dose fell due longer ago than the grace period, with no booking for it."""
    choices, disease, within = _filters(request)
    context = _chooser_context(request, choices, disease, within)
    page = Paginator(_overdue(request, disease, within), PAGE_SIZE).get_page(request.GET.get("page"))
    today = context["today"]
    for status in page.object_list:
        status.days_overdue = (today - status.next_due_on).days
    filters = urlencode({"disease": disease.code, "within": context["within_code"]})
    context.update(
        {
            "page": page,
            "query": query_without_page(request),
            "grace_days": selectors.overdue_grace_days(),
            "may_dispatch": _may_dispatch(request.user),
            "export_url": f"{reverse('vaccination:overdue_export')}?{filters}",
            "coverage_url": f"{reverse('vaccination:coverage')}?{filters}",
        }
    )
    return render_page(request, "vaccination/overdue.html", context, partial="rows")


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_GET
def overdue_export(request: HttpRequest) -> HttpResponse:
    """The overdue list (same choices) as an Excel workbook: masked names and ID numbers only."""
    _choices, disease, within = _filters(request)
    today = timezone.localdate()
    statuses = _overdue(request, disease, within)[:EXPORT_MAX_ROWS].iterator(chunk_size=2000)
    content = export.overdue_xlsx(statuses, disease=disease_label(disease), today=today)
    return _xlsx(content, "overdue", disease, today)


@staff_page(Perm.VACCINATION_VIEW)
@require_POST
def overdue_tasks(request: HttpRequest) -> HttpResponse:
    """One grid task per person on the overdue list (the same disease and unit), routed to their grid. A
    person followed up already for the same due date gets none, so a second click makes nothing new."""
    _choices, disease, within = _filters(request)
    statuses: list[VaccinationStatus] = list(_overdue(request, disease, within))
    try:
        made = overdue_tasks_create(actor=request.user, statuses=statuses)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    if made:
        messages.success(
            request,
            ngettext(
                "%(n)d new grid task for the people on this list.",
                "%(n)d new grid tasks for the people on this list.",
                made,
            )
            % {"n": made},
        )
    else:
        messages.info(request, _("No new tasks: everybody on this list has a follow-up task already."))
    filters = urlencode({"disease": disease.code, "within": within.code if within else ""})
    return redirect(f"{reverse('vaccination:overdue')}?{filters}")


# --- one person's record ------------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.VACCINATION_VIEW)
@require_GET
def person_vaccinations(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's doses, standing per disease, bookings and self-reports; out of scope is 404."""
    person = core_selectors.person_get(actor=request.user, pk=pk)
    record = selectors.person_record(actor=request.user, person=person)
    context = {
        "person": person,
        "record": record,
        "statuses": [(disease_label(s.disease), s) for s in record.statuses],
        "fhir_url": reverse("api:vaccination_person_immunizations", kwargs={"person_id": person.pk}),
        "today": timezone.localdate(),
    }
    return render(request, "vaccination/person.html", context)
