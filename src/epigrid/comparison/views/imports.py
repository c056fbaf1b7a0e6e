"""Pages of list imports: the lists and the upload form (with a new source on the spot), an import's
column mapping, its progress bar and its report, the Excel files of its rows, the correction of a rejected
row, and the saved sources with their mappings.

Reads go through ``comparison.selectors`` (an import or row out of scope answers 404), writes through
``comparison.services.imports``. A service's ``Forbidden`` becomes the 403 page; another ``DomainError`` is
shown beside the form it belongs to (400).

Personal data: pages show names, ID numbers and phones masked, the preview of an uploaded file too (the
guessed name column and every long run of digits). The correction form is prefilled with the list's full
values only for a role that may reveal personal data (the opening is audited); others see the masked value
and leave the field empty to keep it. Files: masked, unless a revealing role asks for the full values (the
file-layout download of rejected rows, to correct and upload again), audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.comparison import normalise, reading, selectors
from epigrid.comparison.models import ImportStatus, ListImport, ListRow, RowStatus, SourceKind
from epigrid.comparison.services import imports as services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import is_htmx, paginate, query_without_page, render_page, staff_page
from epigrid.core.masking import mask_document, mask_name, mask_phone
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm

PREVIEW_ROWS = 8
PROTECTED = ("name", "id_number", "phone")  # shown masked; full values need person.reveal
_LONG_DIGITS_RE = re.compile(r"[0-9Xx*]{7,}")
_NUMBER_GAPS_RE = re.compile(r"(?<=[0-9])[\s\-.]+(?=[0-9])")


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


def _may_import(user: User) -> bool:
    return has_perm(user, Perm.COMPARISON_IMPORT)


def _may_reveal(user: User) -> bool:
    return has_perm(user, Perm.PERSON_REVEAL)


# --- forms --------------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(
        label=gettext_lazy("Source"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("— a new source —"),
    )
    new_source_name = forms.CharField(
        label=gettext_lazy("New source: name"),
        max_length=120,
        required=False,
        help_text=gettext_lazy("E.g. 火车站到达旅客, 通信大数据推送, 外市协查函."),
    )
    new_source_kind = forms.ChoiceField(
        label=gettext_lazy("New source: kind"), choices=SourceKind.choices, initial=SourceKind.TRANSPORT
    )
    file = forms.FileField(
        label=gettext_lazy("List (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt,text/csv"}),
    )

    def __init__(self, *args: Any, sources: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = sources

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > reading.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(n)d MB; split it into smaller files.")
                % {"n": reading.MAX_BYTES // 2**20}
            )
        return upload

    def clean(self):
        data = super().clean()
        if not data.get("source") and not (data.get("new_source_name") or "").strip():
            self.add_error("new_source_name", _("Choose a source or name a new one."))
        return data


class SourceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=SourceKind.choices)


class MappingForm(forms.Form):
    """A select per field listing the file's headers, the guess preselected."""

    remember = forms.BooleanField(
        label=gettext_lazy("Remember this mapping for the next lists of this source"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, list_import: ListImport, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in this file —")), *((h, h) for h in list_import.header)]
        required = normalise.REQUIRED_BY_KIND.get(list_import.source.kind, ())
        for name in normalise.FIELDS:
            self.fields[name] = forms.ChoiceField(
                label=normalise.FIELD_LABELS[name],
                choices=choices,
                required=False,
                initial=list_import.mapping.get(name, ""),
                help_text=_("Required for this source.") if name in required else "",
            )
        self.order_fields([*normalise.FIELDS, "remember"])

    def mapping(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in normalise.FIELDS}


class CorrectForm(forms.Form):
    """The cells of a rejected row, one per field."""

    def __init__(
        self, *args: Any, initial_values: dict[str, str], hints: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        for name in normalise.FIELDS:
            self.fields[name] = forms.CharField(
                label=normalise.FIELD_LABELS[name],
                required=False,
                max_length=200,
                initial=initial_values.get(name, ""),
                help_text=hints.get(name, ""),
            )


# --- helpers ------------------------------------------------------------------------------------------


def _mask_cell(text: str) -> str:
    """A cell with every run of 7 or more digits masked (an ID number, a phone), spaces and dashes inside
    numbers and full-width digits included."""
    value = normalise.half_width(text)
    try:
        normalise.parse_when(value)
        return value  # a date or time, not a number to hide
    except normalise.DateUnreadable:
        pass
    compact = _NUMBER_GAPS_RE.sub("", value)
    if not _LONG_DIGITS_RE.search(compact):
        return value

    def mask(match: re.Match) -> str:
        digits = match.group(0)
        return mask_phone(digits) if len(digits) == 11 else mask_document(digits)

    return _LONG_DIGITS_RE.sub(mask, compact)


def _preview(list_import: ListImport) -> list[dict[str, Any]]:
    """The first rows as the file has them, masked: the guessed name column and every long run of digits."""
    name_column = list_import.mapping.get("name", "")
    out = []
    for row in list_import.rows.filter(corrects__isnull=True).order_by("row_number")[:PREVIEW_ROWS]:
        cells = []
        for column in list_import.header:
            text = row.raw.get(column, "")
            cells.append(mask_name(text) if column == name_column else _mask_cell(text))
        out.append({"number": row.row_number, "cells": cells})
    return out


def _row_view(row: ListRow) -> dict[str, Any]:
    return {
        "row": row,
        "name": mask_name(row.name),
        "problems": [
            {
                "field": str(normalise.FIELD_LABELS.get(e.get("field", ""), e.get("field", ""))),
                "message": e.get("message", ""),
                "level": e.get("level", normalise.WARNING),
            }
            for e in row.errors or []
        ],
    }


def _detail_url(list_import: ListImport, **query: str) -> str:
    url = reverse("comparison:import_detail", args=[list_import.pk])
    query = {k: v for k, v in query.items() if v}
    return f"{url}?{urlencode(query)}" if query else url


def _progress_context(list_import: ListImport) -> dict[str, Any]:
    total = max(list_import.total_rows, 1)
    processed = min(list_import.processed_rows, list_import.total_rows)
    return {
        "processed": processed,
        "total": list_import.total_rows,
        "percent": int(processed * 100 / total),
        "polling": list_import.status in (ImportStatus.QUEUED, ImportStatus.RUNNING),
    }


# --- the lists and the upload -------------------------------------------------------------------------


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """The lists the actor may see, newest first, and (for importers) the upload form."""
    user: User = request.user
    may_import = _may_import(user)
    if request.method == "POST" and not may_import:
        raise PermissionDenied(_("Your role may not upload lists."))
    form = None
    if may_import:
        form = UploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            sources=selectors.source_list(actor=user),
            initial={"source": request.GET.get("source") or None},
        )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            list_import, _error = _attempt(lambda: _upload(user, form), form)
            if list_import is not None:
                messages.success(
                    request,
                    _("%(file)s is uploaded: %(n)d rows. Check which column holds what.")
                    % {"file": list_import.file_name, "n": list_import.total_rows},
                )
                return redirect("comparison:import_detail", pk=list_import.pk)
        status = 400
    page = paginate(request, selectors.import_list(actor=user))
    context = {"page": page, "form": form, "may_import": may_import, "query": query_without_page(request)}
    return render_page(request, "comparison/imports.html", context, status=status)


def _upload(user: User, form: UploadForm) -> ListImport:
    data = form.cleaned_data
    source = data.get("source")
    if source is None:
        source = services.source_create(
            actor=user, name=data["new_source_name"], kind=data["new_source_kind"]
        )
    upload = data["file"]
    return services.import_upload(actor=user, source=source, file_name=upload.name, content=upload.read())


# --- one import: mapping, progress, report ------------------------------------------------------------


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping step (MAPPING), the progress bar (QUEUED, RUNNING, FAILED), then the report (DONE)."""
    user: User = request.user
    list_import = selectors.import_get(actor=user, pk=pk)
    own = selectors.import_is_own(actor=user, list_import=list_import)
    may_import = _may_import(user) and own
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and not may_import:
        raise PermissionDenied(_("Your role may not change this list."))
    status = 200
    mapping_form = None
    if list_import.status == ImportStatus.MAPPING and may_import:
        mapping_form = MappingForm(request.POST if action == "mapping" else None, list_import=list_import)
    if action == "mapping":
        if mapping_form is not None and mapping_form.is_valid():
            done, _error = _attempt(
                lambda: services.import_set_mapping(
                    actor=user,
                    list_import=list_import,
                    mapping=mapping_form.mapping(),
                    remember=mapping_form.cleaned_data.get("remember", False),
                ),
                mapping_form,
            )
            if done is not None:
                messages.success(request, _("The columns are mapped; the rows are being processed."))
                return redirect("comparison:import_detail", pk=list_import.pk)
        elif mapping_form is None:
            messages.error(request, _("The columns of this list are mapped already."))
            return redirect("comparison:import_detail", pk=list_import.pk)
        status = 400
    elif action == "resume":
        done, error = _attempt(lambda: services.import_resume(actor=user, list_import=list_import))
        if done is not None:
            messages.success(request, _("Processing resumes with the rows still waiting."))
        else:
            messages.error(request, error)
        return redirect("comparison:import_detail", pk=list_import.pk)
    elif action:
        status = 400

    context: dict[str, Any] = {
        "imp": list_import,
        "own": own,
        "may_import": may_import,
        "may_reveal": _may_reveal(user),
        "may_dossier": has_perm(user, Perm.DOSSIER_VIEW),
        "mapping_form": mapping_form,
        "mapping_rows": [
            (str(normalise.FIELD_LABELS[name]), list_import.mapping.get(name, ""))
            for name in normalise.FIELDS
        ],
        **_progress_context(list_import),
    }
    if list_import.status == ImportStatus.MAPPING:
        context["preview_header"] = list_import.header
        context["preview"] = _preview(list_import)
    if list_import.status in (ImportStatus.DONE, ImportStatus.FAILED):
        context.update(_report_context(request, list_import))
    return render_page(request, "comparison/import_detail.html", context, partial="rows", status=status)


def _report_context(request: HttpRequest, list_import: ListImport) -> dict[str, Any]:
    user: User = request.user
    chosen = request.GET.get("status", "")
    chosen = chosen if chosen in RowStatus.values else ""
    counts = selectors.import_status_counts(actor=user, list_import=list_import)
    page = paginate(request, selectors.import_rows(actor=user, list_import=list_import, status=chosen))
    export = reverse("comparison:import_rows_export", args=[list_import.pk])
    return {
        "report": True,
        "counts": [
            {
                "status": value,
                "label": label,
                "n": counts[value],
                "url": _detail_url(list_import, status=value),
                "current": value == chosen,
            }
            for value, label in RowStatus.choices
            if counts[value] or value == chosen
        ],
        "visible_rows": sum(counts.values()),
        "chosen": chosen,
        "all_url": _detail_url(list_import),
        "page": page,
        "rows": [_row_view(row) for row in page.object_list],
        "query": query_without_page(request),
        "export_url": f"{export}?{urlencode({'status': chosen})}" if chosen else export,
        "rejected_file_url": f"{export}?{urlencode({'status': RowStatus.REJECTED, 'layout': 'file'})}",
        "rejected_full_url": f"{export}?"
        + urlencode({"status": RowStatus.REJECTED, "layout": "file", "reveal": "1"}),
        "rejected_count": counts[RowStatus.REJECTED],
    }


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar (HTMX polls it every second); when processing ends the page reloads to the report.
    Without HTMX: the import's page."""
    list_import = selectors.import_get(actor=request.user, pk=pk)
    if not is_htmx(request):
        return redirect("comparison:import_detail", pk=list_import.pk)
    context = {"imp": list_import, **_progress_context(list_import)}
    response = render_page(request, "comparison/import_detail.html", context, partial="progress")
    if list_import.status in (ImportStatus.DONE, ImportStatus.FAILED):
        response["HX-Refresh"] = "true"
    return response


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_GET
def import_rows_export(request: HttpRequest, pk: int) -> HttpResponse:
    """An .xlsx of the import's rows the actor may see: ``status`` narrows, ``layout=file`` gives the
    file's own columns (to correct and upload again), ``reveal=1`` the full values (person.reveal, audited)."""
    user: User = request.user
    list_import = selectors.import_get(actor=user, pk=pk)
    status = request.GET.get("status", "")
    status = status if status in RowStatus.values else ""
    layout = "file" if request.GET.get("layout") == "file" else "report"
    reveal = request.GET.get("reveal") == "1"
    if reveal and not _may_reveal(user):
        raise PermissionDenied(_("Your role may not see full ID numbers and phones."))
    rows = selectors.import_rows(actor=user, list_import=list_import, status=status)
    content, error = _attempt(
        lambda: services.import_rows_workbook(
            actor=user, list_import=list_import, rows=rows, layout=layout, reveal=reveal
        )
    )
    if content is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type=services.XLSX)
    stem = f"list-{list_import.pk}-{status or 'all'}{'-file' if layout == 'file' else ''}"
    response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response


# --- correction of a rejected row ---------------------------------------------------------------------


@never_cache
@staff_page(Perm.COMPARISON_IMPORT)
@require_http_methods(["GET", "POST"])
def row_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """A rejected row's cells in a form: correct them and the row is processed again at once."""
    user: User = request.user
    row = selectors.row_get(actor=user, pk=pk)
    list_import = row.list_import
    reveal = _may_reveal(user)
    if row.status != RowStatus.REJECTED:
        messages.info(request, _("Row %(n)d is not rejected (any more).") % {"n": row.row_number})
        return redirect(_detail_url(list_import, status=row.status))
    raw = row.raw
    if reveal and request.method == "GET":
        raw = _attempt(lambda: services.row_reveal(actor=user, row=row))[0]
    initial, hints = {}, {}
    for name in normalise.FIELDS:
        text = raw.get(services.correction_column(list_import, name), "")
        if name in PROTECTED and not reveal:
            if text:
                masked = {"name": mask_name, "id_number": _mask_cell, "phone": _mask_cell}[name](text)
                hints[name] = _("The list has %(v)s; leave empty to keep it.") % {"v": masked}
            continue
        initial[name] = text
    form = CorrectForm(request.POST or None, initial_values=initial, hints=hints)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = dict(form.cleaned_data)
            if not reveal:  # an empty protected field keeps what the list had
                for name in PROTECTED:
                    if not values.get(name):
                        values.pop(name, None)
            new, _error = _attempt(lambda: services.row_correct(actor=user, row=row, values=values), form)
            if new is not None:
                if new.status == RowStatus.REJECTED:
                    messages.warning(
                        request,
                        _("Row %(n)d is corrected but still rejected; see its reasons.")
                        % {"n": new.row_number},
                    )
                    return redirect("comparison:row_correct", pk=new.pk)
                messages.success(
                    request,
                    _("Row %(n)d is corrected: %(status)s.")
                    % {"n": new.row_number, "status": new.get_status_display()},
                )
                return redirect(_detail_url(list_import, status=RowStatus.REJECTED))
        status = 400
    context = {"imp": list_import, "row": _row_view(row), "form": form, "reveal": reveal}
    return render_page(request, "comparison/row_correct.html", context, status=status)


# --- sources ------------------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_http_methods(["GET", "POST"])
def sources(request: HttpRequest) -> HttpResponse:
    """The saved sources with the mapping each remembers; importers add sources here."""
    user: User = request.user
    may_import = _may_import(user)
    if request.method == "POST" and not may_import:
        raise PermissionDenied(_("Your role may not add sources."))
    form = SourceForm(request.POST or None) if may_import else None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            source, _error = _attempt(
                lambda: services.source_create(
                    actor=user, name=form.cleaned_data["name"], kind=form.cleaned_data["kind"]
                ),
                form,
            )
            if source is not None:
                messages.success(request, _("The source %(name)s is added.") % {"name": source.name})
                return redirect("comparison:sources")
        status = 400
    rows = [
        {
            "source": source,
            "mapping": [
                (str(normalise.FIELD_LABELS[name]), source.mapping[name])
                for name in normalise.FIELDS
                if source.mapping.get(name)
            ],
            "upload_url": f"{reverse('comparison:imports')}?{urlencode({'source': source.pk})}",
        }
        for source in selectors.source_list(actor=user)
    ]
    return render_page(
        request,
        "comparison/sources.html",
        {"rows": rows, "form": form, "may_import": may_import},
        status=status,
    )
