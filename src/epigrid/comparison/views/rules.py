"""Comparison rules and their action lists: the rules of the area with their last run (and the form that
saves a new one, with the parameters of each kind), a rule's parameters, edit form, "run now" and run history,
a run's action list (filter by grid, one-click grid tasks, Excel export).

Reads go through ``comparison.selectors`` (scoped: a rule or run out of scope answers 404), writes
through ``comparison.services.comparisons``. Reading needs comparison.view; saving and running rules
comparison.run; creating grid tasks also task.dispatch or grid.manage. Names and document numbers are masked
on the pages and in the file; nothing personal goes into a URL.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from epigrid.comparison import selectors
from epigrid.comparison.models import ComparisonKind, ComparisonRule, ComparisonRun, Schedule
from epigrid.comparison.services import comparisons
from epigrid.comparison.services.comparisons import KIND_PARAMS, Need, hit_reason
from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import PAGE_SIZE, is_htmx, query_without_page, render_page, staff_page
from epigrid.core.models import DiseaseProfile, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.spreadsheets import cell_safe
from epigrid.healthcode.models import RiskLevel
from epigrid.places.models import Venue

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
RUNS_SHOWN = 20
VENUE_CHOICES = 200  # the venue select offers this many (key places first); the search box finds the others
EXPORT_MAX_ROWS = 100_000
# Risk levels a rule may be limited to; the archive stores no "low" (a region that is no risk area is "").
LEVEL_CHOICES = [
    (RiskLevel.HIGH.value, RiskLevel.HIGH.label),
    (RiskLevel.MEDIUM.value, RiskLevel.MEDIUM.label),
]


def _may_run(user: User) -> bool:
    return has_perm(user, Perm.COMPARISON_RUN)


def _may_dispatch(user: User) -> bool:
    return _may_run(user) and (has_perm(user, Perm.TASK_DISPATCH) or has_perm(user, Perm.GRID_MANAGE))


def _attempt(action: Callable[[], Any], form: forms.Form | None = None) -> tuple[Any, str]:
    """Run a service call: a refusal is the 403 page; another domain error comes back as its message, put on
    ``form`` (on the field it names when the form has it)."""
    try:
        return action(), ""
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        if form is not None:
            form.add_error(err.field if err.field in form.fields else None, err.message)
        return None, err.message


def _disease_label(disease: DiseaseProfile) -> str:
    return disease.name_zh if (get_language() or "").startswith("zh") else disease.name_en


# --- the rule form ----------------------------------------------------------------------------------------


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def _datetime_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, required=False, widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )


class RuleForm(forms.Form):
    """A rule's name, schedule and the parameters of its kind (the fields of the other kinds are ignored).
    Its fields are named as the service's parameters, so that the service's messages land on them."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Compare"), choices=ComparisonKind.choices)
    schedule = forms.ChoiceField(
        label=gettext_lazy("Runs"), choices=Schedule.choices, initial=Schedule.MANUAL
    )
    hours = forms.IntegerField(
        label=gettext_lazy("Tested within (hours of arrival)"),
        required=False,
        min_value=1,
        max_value=comparisons.MAX_HOURS,
        initial=comparisons.DEFAULT_HOURS,
    )
    window_days = forms.IntegerField(
        label=gettext_lazy("Arrivals of the last (days)"),
        required=False,
        min_value=1,
        max_value=comparisons.MAX_WINDOW_DAYS,
        initial=comparisons.DEFAULT_WINDOW_DAYS,
    )
    levels = forms.MultipleChoiceField(
        label=gettext_lazy("From risk areas"),
        required=False,
        choices=LEVEL_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=comparisons.DEFAULT_LEVELS,
        help_text=gettext_lazy("None ticked: every arrival, wherever it came from."),
    )
    disease = forms.ChoiceField(label=gettext_lazy("Disease"), required=False)
    need = forms.ChoiceField(
        label=gettext_lazy("Needed"), required=False, choices=Need.choices, initial=Need.FULL
    )
    venue_id = forms.IntegerField(
        label=gettext_lazy("Venue"), required=False, min_value=1, widget=forms.Select
    )
    active = forms.BooleanField(
        label=gettext_lazy("Switched on (runs on its schedule)"), required=False, initial=True
    )

    def __init__(self, *args: Any, venues: Iterable[Venue], editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" and "to" are the parameters' names, not Python attributes.
        self.fields["from"] = _datetime_field(gettext_lazy("Present from"))
        self.fields["to"] = _datetime_field(gettext_lazy("Present until"))
        diseases = core_selectors.disease_list().exclude(code=core_selectors.GENERAL)
        self.fields["disease"].choices = [(d.code, _disease_label(d)) for d in diseases]
        self.fields["disease"].initial = comparisons.default_disease_code()
        self.fields["venue_id"].widget.choices = [("", _("(choose a venue)"))] + [
            (v.pk, f"{v.name} · {v.address}" if v.address else v.name) for v in venues
        ]
        if editing:
            del self.fields["kind"]  # a rule's kind is what it is; make another rule for another comparison
        else:
            del self.fields["active"]

    def params(self, kind: str) -> dict[str, Any]:
        """The parameters of ``kind`` as the service takes them (it fills in defaults and checks them)."""
        data = self.cleaned_data
        params: dict[str, Any] = {}
        for name in KIND_PARAMS.get(kind, ()):
            value = data.get(name)
            if name == "levels":
                params[name] = list(value or [])  # none ticked: every level
            elif value not in (None, ""):
                params[name] = value
        return params

    @staticmethod
    def initial_for(rule: ComparisonRule) -> dict[str, Any]:
        initial: dict[str, Any] = {"name": rule.name, "schedule": rule.schedule, "active": rule.active}
        for name, value in (rule.params or {}).items():
            if name in ("from", "to"):
                moment = parse_datetime(value or "")
                initial[name] = timezone.localtime(moment).strftime(DATETIME_LOCAL) if moment else ""
            else:
                initial[name] = value
        return initial


def _venues(user: User, query: str = "", keep: int | None = None) -> list[Venue]:
    """The venues the select offers: key places first, then by name; those matching ``query``; and the one
    a rule names already (``keep``) wherever it would sort."""
    from epigrid.places.selectors import venue_list

    found = list(venue_list(actor=user, search=query).order_by("-is_key_place", "name", "pk")[:VENUE_CHOICES])
    if keep and keep not in {v.pk for v in found}:
        kept = Venue.objects.filter(pk=keep).first()
        if kept is not None:
            found.insert(0, kept)
    return found


def _kinds_of(name: str) -> str:
    """The kinds that take parameter ``name`` (space separated, for the page's script)."""
    return " ".join(kind for kind, names in KIND_PARAMS.items() if name in names)


def _form_context(form: RuleForm, kind: str = "") -> dict[str, Any]:
    """The form and its parameter fields, each with the kinds it belongs to (the page shows those of the
    chosen kind); a rule being edited has one kind, and only its fields."""
    names = ("hours", "window_days", "levels", "disease", "need", "venue_id", "from", "to")
    if kind:
        names = tuple(name for name in names if name in KIND_PARAMS[kind])
    return {
        "form": form,
        "param_fields": [(form[name], _kinds_of(name)) for name in names if name in form.fields],
    }


# --- describing rules and hits --------------------------------------------------------------------------


def _moment(value: str) -> str:
    moment = parse_datetime(value or "")
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def describe(rule: ComparisonRule, venues: dict[int, Venue] | None = None) -> list[str]:
    """A rule's parameters in words, one line each."""
    params = comparisons.effective_params(rule)
    lines = []
    for name in KIND_PARAMS[rule.kind]:
        value = params.get(name)
        if name == "hours":
            lines.append(
                ngettext("Tested within %(n)d hour of arrival", "Tested within %(n)d hours of arrival", value)
                % {"n": value}
            )
        elif name == "window_days":
            lines.append(
                ngettext("Arrivals of the last %(n)d day", "Arrivals of the last %(n)d days", value)
                % {"n": value}
            )
        elif name == "levels":
            labels = [str(RiskLevel(level).label) for level in value or [] if level in RiskLevel.values]
            lines.append(
                _("From: %(levels)s") % {"levels": ", ".join(labels)}
                if labels
                else _("From anywhere (every arrival)")
            )
        elif name == "disease":
            disease = DiseaseProfile.objects.filter(code=value).first()
            lines.append(_("Disease: %(name)s") % {"name": _disease_label(disease) if disease else value})
        elif name == "need":
            lines.append(
                _("Needed: %(need)s") % {"need": Need(value).label if value in Need.values else value}
            )
        elif name == "venue_id":
            venue = (venues or {}).get(value) or Venue.objects.filter(pk=value).first()
            lines.append(_("Venue: %(name)s") % {"name": venue.name if venue else _("(no longer exists)")})
    if rule.kind == ComparisonKind.VENUE_VISITORS:
        lines.append(
            _("Present between %(start)s and %(end)s")
            % {"start": _moment(params.get("from", "")), "end": _moment(params.get("to", ""))}
        )
    return lines


def _level_label(level: str) -> str:
    return str(RiskLevel(level).label) if level in RiskLevel.values else _("not a risk area")


def _hit_rows(hits: Iterable, kind: str) -> list[dict[str, Any]]:
    rows = []
    for hit in hits:
        detail = hit.detail or {}
        arrived = parse_datetime(detail.get("arrived_at") or "")
        rows.append(
            {
                "hit": hit,
                "person": hit.person,
                "grid": hit.person.grid,
                "arrived_at": arrived,
                "origin": detail.get("origin", ""),
                "level": detail.get("risk_level", ""),
                "level_label": _level_label(detail.get("risk_level", "")),
                "reason": hit_reason(kind, detail) or hit.reason,
            }
        )
    return rows


# --- pages ------------------------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_http_methods(["GET", "POST"])
def rule_list(request: HttpRequest) -> HttpResponse:
    """The rules of the area with their last run, and the form that saves a new rule."""
    user: User = request.user
    venue_query = request.GET.get("venue_q", "").strip()[:100]
    if is_htmx(request) and "venue_q" in request.GET:
        # The venue search of a rule form (here or on a rule's page): the select with what matches.
        form = RuleForm(venues=_venues(user, venue_query))
        return render_page(request, "comparison/rule_form.html", {"field": form["venue_id"]}, partial="venue")
    if request.method == "POST" and not _may_run(user):
        raise PermissionDenied(_("Your role may not do this."))
    data = request.POST if request.method == "POST" else None
    chosen = (data or {}).get("venue_id") or None
    form = RuleForm(data, venues=_venues(user, keep=int(chosen) if str(chosen or "").isdigit() else None))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            kind = form.cleaned_data["kind"]
            rule, _error = _attempt(
                lambda: comparisons.rule_create(
                    actor=user,
                    name=form.cleaned_data["name"],
                    kind=kind,
                    params=form.params(kind),
                    schedule=form.cleaned_data["schedule"],
                ),
                form,
            )
            if rule is not None:
                messages.success(
                    request,
                    _("The rule %(name)s is saved. Run it now or wait for its schedule.")
                    % {"name": rule.name},
                )
                return redirect("comparison:rule_detail", pk=rule.pk)
        status = 400
    rules = list(selectors.rule_list(actor=user))
    venue_ids = {r.params.get("venue_id") for r in rules if r.kind == ComparisonKind.VENUE_VISITORS}
    venues = Venue.objects.in_bulk([v for v in venue_ids if v])
    context = {
        "rows": [{"rule": r, "lines": describe(r, venues)} for r in rules],
        "may_run": _may_run(user),
        **_form_context(form),
    }
    return render_page(request, "comparison/rules.html", context, status=status)


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_http_methods(["GET", "POST"])
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A rule's parameters and run history; "run now" and the edit form (comparison.run)."""
    user: User = request.user
    rule = selectors.rule_get(actor=user, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and not _may_run(user):
        raise PermissionDenied(_("Your role may not do this."))
    keep = rule.params.get("venue_id")
    if action == "update" and str(request.POST.get("venue_id", "")).isdigit():
        keep = int(request.POST["venue_id"])
    form = RuleForm(
        request.POST if action == "update" else None,
        venues=_venues(user, keep=keep),
        editing=True,
        initial=RuleForm.initial_for(rule),
    )
    status, error = 200, ""
    if action == "run":
        run, error = _attempt(lambda: comparisons.rule_run(actor=user, rule=rule))
        if run is not None:
            messages.success(
                request,
                ngettext(
                    "Compared %(compared)d arrivals: %(n)d person on the list.",
                    "Compared %(compared)d arrivals: %(n)d people on the list.",
                    run.hits,
                )
                % {"compared": run.compared, "n": run.hits},
            )
            return redirect("comparison:run_detail", pk=run.pk)
        status = 400
    elif action == "update":
        if form.is_valid():
            data = form.cleaned_data
            updated, _error = _attempt(
                lambda: comparisons.rule_update(
                    actor=user,
                    rule=rule,
                    name=data["name"],
                    params=form.params(rule.kind),
                    schedule=data["schedule"],
                    active=data["active"],
                ),
                form,
            )
            if updated is not None:
                messages.success(request, _("The rule is saved."))
                return redirect("comparison:rule_detail", pk=rule.pk)
        status = 400
    elif action:
        status = 400
    runs = Paginator(selectors.run_list(actor=user, rule=rule), RUNS_SHOWN).get_page(request.GET.get("page"))
    context = {
        "rule": rule,
        "lines": describe(rule),
        "runs": runs,
        "may_run": _may_run(user),
        "error": error,
        "editing": action == "update",
        **_form_context(form, rule.kind),
    }
    return render_page(request, "comparison/rule_detail.html", context, status=status)


def _within(request: HttpRequest) -> str:
    """The grid (or other unit) a list is narrowed to; one outside the actor's area is 404."""
    data = request.POST if request.method == "POST" else request.GET
    code = (data.get("grid") or "").strip()[:15]
    if code:
        core_selectors.orgunit_get(actor=request.user, code=code)
    return code


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A run's action list: masked people, their grid, arrival and reason; filter by grid; grid tasks for
    everyone on the (filtered) list; Excel export."""
    user: User = request.user
    run = selectors.run_get(actor=user, pk=pk)
    within = _within(request)
    hits = selectors.hit_list(actor=user, run=run, within=within)
    page = Paginator(hits, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = urlencode({"grid": within}) if within else ""
    grids = [
        (code, f"{unit.name} ({code})" if unit else code, n)
        for unit, code, n in selectors.hit_grids(actor=user, run=run)
    ]
    context = {
        "run": run,
        "rule": run.rule,
        "kind_label": run.rule.get_kind_display(),
        "page": page,
        "rows": _hit_rows(page.object_list, run.rule.kind),
        "query": query_without_page(request),
        "within": within,
        "grid_choices": grids,
        "may_dispatch": _may_dispatch(user),
        "may_dossier": has_perm(user, Perm.DOSSIER_VIEW),
        "export_url": reverse("comparison:run_export", args=[run.pk]) + (f"?{filters}" if filters else ""),
        "task_type": comparisons.TASK_TYPES[run.rule.kind],
    }
    return render_page(request, "comparison/run_detail.html", context, partial="rows")


@staff_page(Perm.COMPARISON_RUN)
@require_POST
def run_tasks(request: HttpRequest, pk: int) -> HttpResponse:
    """One grid task per person on the run's list (as filtered), routed to their grid; says how many are new."""
    user: User = request.user
    run = selectors.run_get(actor=user, pk=pk)
    within = _within(request)
    try:
        outcome = comparisons.run_tasks_create(actor=user, run=run, within=within)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    if outcome.created:
        messages.success(
            request,
            ngettext(
                "%(n)d new grid task, sent to the person's grid.",
                "%(n)d new grid tasks, each sent to the person's grid.",
                outcome.created,
            )
            % {"n": outcome.created},
        )
    if outcome.already:
        messages.info(
            request,
            ngettext(
                "%(n)d person on the list has such a task already and got no second.",
                "%(n)d people on the list have such a task already and got no second.",
                outcome.already,
            )
            % {"n": outcome.already},
        )
    if not outcome.hits:
        messages.info(request, _("Nobody on this list: no tasks."))
    target = reverse("comparison:run_detail", args=[run.pk])
    return redirect(f"{target}?{urlencode({'grid': within})}" if within else target)


# --- the workbook -----------------------------------------------------------------------------------------


def _local(moment: dt.datetime | None) -> dt.datetime | str:
    # Excel has no time zones: the local wall-clock time, naive.
    return timezone.localtime(moment).replace(tzinfo=None) if moment else ""


def run_xlsx(run: ComparisonRun, hits: Iterable) -> bytes:
    """The action list: masked name and document number only, grid, arrival, origin, level, reason, task."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=f"{run.started_at:%Y-%m-%d %H.%M}")
    widths = (12, 22, 17, 16, 17, 20, 12, 50, 10)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = [
        _("Name"),
        _("ID number"),
        _("Grid code"),
        _("Grid"),
        _("Arrived at"),
        _("Came from"),
        _("Risk level"),
        _("Reason"),
        _("Grid task"),
    ]
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    yes, no = _("yes"), _("no")
    for row in _hit_rows(hits, run.rule.kind):
        person, grid = row["person"], row["grid"]
        arrived = WriteOnlyCell(sheet, value=_local(row["arrived_at"]))
        arrived.number_format = "yyyy-mm-dd hh:mm"
        sheet.append(
            [
                cell_safe(person.name_masked),
                cell_safe(person.id_number_masked),
                grid.code if grid else "",
                cell_safe(grid.name) if grid else "",
                arrived,
                cell_safe(row["origin"]),
                row["level_label"],
                cell_safe(row["reason"]),
                yes if row["hit"].task_created else no,
            ]
        )
    sheet.append([])
    sheet.append([_("Rule"), cell_safe(run.rule.name), _("Run at"), _local(run.started_at)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@never_cache
@staff_page(Perm.COMPARISON_VIEW)
@require_GET
def run_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's action list (same grid filter) as an Excel workbook."""
    user: User = request.user
    run = selectors.run_get(actor=user, pk=pk)
    hits = selectors.hit_list(actor=user, run=run, within=_within(request))[:EXPORT_MAX_ROWS]
    response = HttpResponse(run_xlsx(run, hits.iterator(chunk_size=2000)), content_type=XLSX)
    # ASCII only: the header needs no RFC 5987 encoding.
    stamp = timezone.localtime(run.started_at)
    response["Content-Disposition"] = f'attachment; filename="comparison-{run.pk}-{stamp:%Y%m%d-%H%M}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response
