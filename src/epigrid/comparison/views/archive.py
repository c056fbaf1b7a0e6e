"""The key-region archive (重点地区人员档案库) and the one-person dossier (一人一档).

The archive lists the people in the reader's area who arrived from elsewhere — one row per person with their
arrivals, the health code's arrival fact and the status of each required action — filtered by date, origin,
risk level, source, unit and "actions outstanding"; masked, paginated, downloadable as Excel (the same rows,
masked as on screen). The dossier joins every archive about one person; each opening is audited.
"""

from __future__ import annotations

import io

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from epigrid.comparison import selectors
from epigrid.comparison.models import ArrivalSource
from epigrid.comparison.selectors import LEVEL_NONE, ArrivalFilters
from epigrid.comparison.services.archive import dossier_open, test_within_hours, travel_mode_label
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.roles import Perm, has_perm
from epigrid.core.spreadsheets import cell_safe
from epigrid.healthcode.models import RiskLevel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_MAX_PEOPLE = 20_000

LEVEL_CHOICES = (
    ("", gettext_lazy("Any level")),
    (RiskLevel.HIGH.value, gettext_lazy("High risk")),
    (RiskLevel.MEDIUM.value, gettext_lazy("Medium risk")),
    (LEVEL_NONE, gettext_lazy("No risk area")),
)


class ArrivalFilterForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("Arrived from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    origin = forms.CharField(
        label=gettext_lazy("Came from"),
        required=False,
        max_length=120,
        help_text=gettext_lazy("A place, or a region code (31 = Shanghai)."),
    )
    level = forms.ChoiceField(
        label=gettext_lazy("Risk level at arrival"), choices=LEVEL_CHOICES, required=False
    )
    source = forms.ChoiceField(label=gettext_lazy("Source"), required=False)
    grid = forms.ChoiceField(label=gettext_lazy("Within"), required=False)
    outstanding = forms.BooleanField(label=gettext_lazy("Actions outstanding only"), required=False)

    def __init__(self, *args, units=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", _("Any source")), *ArrivalSource.choices]
        self.fields["grid"].choices = [("", _("My whole area")), *((u.code, u.name) for u in units)]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end lies before the start."))
        return data

    def filters(self) -> ArrivalFilters:
        data = self.cleaned_data
        return ArrivalFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            origin=data.get("origin") or "",
            level=data.get("level") or "",
            source=data.get("source") or "",
            grid=data.get("grid") or "",
            outstanding=bool(data.get("outstanding")),
        )


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _export(request: HttpRequest, people, filters: ArrivalFilters) -> HttpResponse:
    """The archive as an Excel workbook, one row per arrival: masked exactly as on screen."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Key-region arrivals"))
    header = [
        _("Name"),
        _("ID number"),
        _("Phone"),
        _("Grid"),
        _("Arrived at"),
        _("Came from"),
        _("Region code"),
        _("Risk level at arrival"),
        _("Travel"),
        _("Source"),
        _("Tested since arrival"),
        _("Screened by the grid"),
        _("Fully vaccinated"),
        _("Actions outstanding"),
    ]
    cells = []
    for title in header:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)
    ids = [row["person_id"] for row in people[:EXPORT_MAX_PEOPLE]]
    labels = {"test": _("test"), "screening": _("screening"), "vaccination": _("vaccination")}
    for start in range(0, len(ids), 500):
        for row in selectors.arrival_rows(
            actor=request.user, person_ids=ids[start : start + 500], filters=filters
        ):
            person = row.person
            for status in row.arrivals:
                arrival = status.arrival
                sheet.append(
                    [
                        cell_safe(person.name_masked),
                        person.id_number_masked,
                        person.phone_masked,
                        cell_safe(person.grid.name if person.grid else ""),
                        _local(arrival.arrived_at),
                        cell_safe(arrival.origin),
                        arrival.origin_region_code,
                        str(RiskLevel(arrival.risk_level).label)
                        if arrival.risk_level in RiskLevel.values
                        else "",
                        cell_safe(travel_mode_label(arrival.travel_mode)),
                        arrival.get_source_display(),
                        _local(status.tested_at),
                        _local(status.screened_at),
                        _("yes") if status.vaccinated else _("no"),
                        ", ".join(str(labels[k]) for k in status.outstanding),
                    ]
                )
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="arrivals-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_GET
def arrival_list(request: HttpRequest, **kwargs) -> HttpResponse:
    """Arrivals in the reader's area, per person, with the status of the actions each arrival requires."""
    user = request.user
    units = list(selectors.arrival_grids(actor=user))
    form = ArrivalFilterForm(request.GET or None, units=units)
    filters = form.filters() if form.is_bound and form.is_valid() else ArrivalFilters()
    people = selectors.arrival_people(actor=user, filters=filters)
    if request.GET.get("export") == "xlsx":
        return _export(request, people, filters)
    page = paginate(request, people)
    rows = selectors.arrival_rows(
        actor=user, person_ids=[row["person_id"] for row in page.object_list], filters=filters
    )
    query = query_without_page(request)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    export_query["export"] = "xlsx"
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query,
        "export_query": export_query.urlencode(),
        "test_hours": test_within_hours(),
        "may_open_dossier": has_perm(user, Perm.DOSSIER_VIEW),
        "may_view_person": has_perm(user, Perm.PERSON_VIEW),
    }
    return render_page(request, "comparison/arrival_list.html", context, partial="rows")


@never_cache
@staff_page(Perm.DOSSIER_VIEW)
@require_GET
def dossier(request: HttpRequest, pk: int, **kwargs) -> HttpResponse:
    """One person's dossier: out of the reader's scope is 404; every opening is audited."""
    found = selectors.dossier_get(actor=request.user, pk=pk)
    dossier_open(actor=request.user, person=found.person, sections=found.allowed)
    context = {
        "dossier": found,
        "person": found.person,
        "can_reveal": has_perm(request.user, Perm.PERSON_REVEAL),
        "test_hours": test_within_hours(),
    }
    return render(request, "comparison/dossier.html", context)
