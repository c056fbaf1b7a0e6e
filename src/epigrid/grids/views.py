"""Pages of grid management for leaders, community officers and the command center: the task board (filters,
overdue and escalation, assign, cancel, dispatch by hand), staffing (coverage, duty lists, assign and
remove), sentinel points, patrol routes, emergencies (any staff reports; dispatchers assign and close) and the
monthly assessment with its Excel export. The workers' phone app is ``pwa.py``.

Reads go through ``grids.selectors`` (out of scope answers 404 like missing), writes through
``grids.services``. A service's ``Forbidden`` becomes the 403 page; any other ``DomainError`` is shown beside
its form on the re-rendered page with status 400. People are shown masked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.models import OrgLevel, User
from epigrid.core.roles import Perm, has_perm
from epigrid.grids import exports, selectors, services, tasktypes
from epigrid.grids.forms import (
    AssessmentForm,
    AssignForm,
    CancelForm,
    DispatchForm,
    EmergencyAssignForm,
    EmergencyCloseForm,
    EmergencyReportForm,
    PatrolRouteForm,
    SentinelForm,
    StaffAssignForm,
    TaskFilterForm,
)
from epigrid.grids.models import OPEN_STATES, GridRole, Task
from epigrid.places import selectors as place_selectors

VENUE_CHOICES = 300
ACCOUNT_CHOICES = 500

# Duty lists per grid role when the general rule ``grid_duties`` ({role: [duty, ...]}) does not set them.
DEFAULT_DUTIES: dict[str, tuple[Any, ...]] = {
    GridRole.LEADER: (
        gettext_lazy("Leads the grid's work and checks that every task is done on time"),
        gettext_lazy("Takes over overdue tasks and reports what the grid cannot solve"),
        gettext_lazy("Keeps the grid's staff, sentinel points and patrol routes up to date"),
    ),
    GridRole.WORKER: (
        gettext_lazy("Screens arrivals door to door and records the result"),
        gettext_lazy("Visits home quarantines, seals doors and delivers supplies"),
        gettext_lazy("Patrols key places and reports findings with photos"),
        gettext_lazy("Reports emergencies at once"),
    ),
    GridRole.ASSISTANT: (
        gettext_lazy("Helps the grid worker with visits, screening and deliveries"),
        gettext_lazy("Passes on notices to households and reports what they see"),
    ),
}


def _attempt(action: Callable[[], Any]) -> tuple[Any, str]:
    """Run a service call; a refusal is the 403 page, any other domain error comes back as its message."""
    try:
        return action(), ""
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        return None, err.message


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    """What every grid page needs for its sub-navigation."""
    user = request.user
    return {
        "can_manage": has_perm(user, Perm.GRID_MANAGE),
        "can_dispatch": has_perm(user, Perm.TASK_DISPATCH),
        "can_view": has_perm(user, Perm.TASK_VIEW),
        "can_work": has_perm(user, Perm.TASK_WORK),
        **extra,
    }


def _grids(user: User) -> list[tuple[str, str]]:
    return list(core_selectors.orgunit_list(actor=user, level=OrgLevel.GRID).values_list("code", "name"))


def _accounts(user: User, grid_code: str = "") -> list[User]:
    return selectors.staff_candidates(actor=user, grid_code=grid_code, limit=ACCOUNT_CHOICES)


def _account_label(account: User) -> str:
    name = account.get_full_name() or account.username
    return f"{name} ({account.username}) · {account.org_unit.name if account.org_unit_id else ''}"


# --- the task board ------------------------------------------------------------------------------------------


def _board(request: HttpRequest, dispatch: DispatchForm | None = None, status: int = 200) -> HttpResponse:
    user: User = request.user
    grids = _grids(user)
    filters = TaskFilterForm(request.GET or {"state": "open"}, grids=grids)
    data = filters.cleaned_data if filters.is_valid() else {"state": "open"}
    rows = selectors.task_list(
        actor=user,
        state=data.get("state", ""),
        type=data.get("type", ""),
        grid_code=data.get("grid", ""),
        overdue=bool(data.get("overdue")),
    )
    page = paginate(request, rows)
    now = timezone.now()
    for task in page.object_list:
        task.is_overdue = task.state in OPEN_STATES and task.due_at < now
    open_tasks = selectors.task_list(actor=user, state="open")
    may_dispatch = has_perm(user, Perm.TASK_DISPATCH) or has_perm(user, Perm.GRID_MANAGE)
    context = _context(
        request,
        filters=filters,
        page=page,
        query=query_without_page(request),
        counts={
            "open": open_tasks.count(),
            "overdue": open_tasks.filter(due_at__lt=now).count(),
            "escalated": open_tasks.filter(escalation__gt=0).count(),
        },
        dispatch=(dispatch or DispatchForm(grids=grids)) if may_dispatch and grids else None,
    )
    return render_page(request, "grids/board.html", context, partial="rows", status=status)


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    return _board(request)


@staff_page(any_of=(Perm.TASK_DISPATCH, Perm.GRID_MANAGE))
@require_POST
def task_dispatch(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    form = DispatchForm(request.POST, grids=_grids(user))
    if not form.is_valid():
        return _board(request, form, status=400)
    data = form.cleaned_data
    grid = core_selectors.orgunit_get(actor=user, code=data["grid"])
    task, error = _attempt(
        lambda: services.task_create(
            actor=user,
            spec=services.TaskSpec(
                data["type"],
                data["title"],
                f"manual:{data['client_id']}",
                grid_id=grid.pk,
                subject_text=data["subject_text"],
                due_at=data["due_at"],
                priority=data["priority"],
                source="manual",
            ),
        )
    )
    if task is None:
        form.add_error(None, error)
        return _board(request, form, status=400)
    messages.success(
        request, _("Task “%(title)s” is sent to %(grid)s.") % {"title": task.title, "grid": grid.name}
    )
    return redirect("grids:task_detail", pk=task.pk)


def _result_rows(task: Task) -> list[tuple[str, str]]:
    """The stored result with the form's labels and the chosen options' labels."""
    rows = []
    for f in tasktypes.spec(task.type).fields:
        if f.name not in task.result:
            continue
        value = task.result[f.name]
        if f.kind == "bool":
            shown = _("Yes") if value else _("No")
        elif f.kind == "choice":
            shown = str(dict(f.choices).get(value, value))
        elif f.kind == "checklist":
            shown = "; ".join(
                f"{item}: {_('OK') if verdict == 'ok' else _('Problem')}" for item, verdict in value.items()
            )
        else:
            shown = str(value)
        rows.append((str(f.label), shown))
    return rows


def _assignees(user: User, task: Task) -> dict[str, User]:
    """Who the task can go to: the grid's staff and the accounts placed in its grid (the service decides)."""
    staff = {str(a.user_id): a.user for a in selectors.grid_staff(actor=user, grid_code=task.org_code)}
    for account in _accounts(user, task.org_code):
        staff.setdefault(str(account.pk), account)
    return {pk: account for pk, account in staff.items() if account.org_unit_id}


def _choices(accounts: dict[str, User]) -> list[tuple[str, str]]:
    return [(pk, _account_label(account)) for pk, account in accounts.items()]


def _task_page(request: HttpRequest, task: Task, status: int = 200, **forms: Any) -> HttpResponse:
    user: User = request.user
    context = _context(
        request,
        task=task,
        result=_result_rows(task),
        updates=list(task.updates.select_related("user").order_by("received_at", "pk")[:100]),
        overdue=task.state in OPEN_STATES and task.due_at < timezone.now(),
        assign_form=forms.get("assign_form") or AssignForm(accounts=_choices(_assignees(user, task))),
        cancel_form=forms.get("cancel_form") or CancelForm(),
        is_open=task.state in OPEN_STATES,
    )
    return render_page(request, "grids/task_detail.html", context, status=status)


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_page(request, selectors.task_get(actor=request.user, pk=pk))


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_GET
def task_photo(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get(actor=request.user, pk=pk)
    if not task.evidence_photo:
        raise Http404
    response = HttpResponse(bytes(task.evidence_photo), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@staff_page(Perm.GRID_MANAGE)
@require_POST
def task_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    task = selectors.task_get(actor=user, pk=pk)
    accounts = _assignees(user, task)
    form = AssignForm(request.POST, accounts=_choices(accounts))
    if form.is_valid():
        account = accounts[form.cleaned_data["assignee"]]
        done, error = _attempt(lambda: services.task_assign(actor=user, task=task, assignee=account))
        if done is not None:
            messages.success(
                request, _("The task is assigned to %(name)s.") % {"name": _account_label(account)}
            )
            return redirect("grids:task_detail", pk=task.pk)
        form.add_error(None, error)
    return _task_page(request, task, status=400, assign_form=form)


@staff_page(Perm.GRID_MANAGE)
@require_POST
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    task = selectors.task_get(actor=user, pk=pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        done, error = _attempt(
            lambda: services.task_cancel(actor=user, task=task, reason=form.cleaned_data["reason"])
        )
        if done is not None:
            messages.success(request, _("The task is cancelled."))
            return redirect("grids:task_detail", pk=task.pk)
        form.add_error(None, error)
    return _task_page(request, task, status=400, cancel_form=form)


# --- staffing -------------------------------------------------------------------------------------------------


def duties() -> list[tuple[str, list[str]]]:
    """Each grid role with its duty list: the general rule ``grid_duties`` where it names the role."""
    rule = core_selectors.general_rule("grid_duties", None)
    rule = rule if isinstance(rule, dict) else {}
    out = []
    for role, label in GridRole.choices:
        listed = rule.get(role)
        items = (
            [str(d) for d in listed]
            if isinstance(listed, list) and listed
            else [str(d) for d in DEFAULT_DUTIES[role]]
        )
        out.append((str(label), items))
    return out


def _staffing(request: HttpRequest, form: StaffAssignForm | None = None, status: int = 200) -> HttpResponse:
    user: User = request.user
    coverage = selectors.staffing_coverage(actor=user)
    missing_only = request.GET.get("missing") == "1"
    staff: dict[int, list] = {}
    for assignment in selectors.grid_staff(actor=user).order_by("org_code", "role", "user__username"):
        staff.setdefault(assignment.grid_id, []).append(assignment)
    rows = [
        {"coverage": c, "staff": staff.get(c.grid.pk, []), "missing": [GridRole(r).label for r in c.missing]}
        for c in coverage
        if c.missing or not missing_only
    ]
    grids = [(c.grid.code, c.grid.name) for c in coverage]
    accounts = _choices({str(a.pk): a for a in _accounts(user)})
    context = _context(
        request,
        rows=rows,
        missing_only=missing_only,
        missing_count=sum(1 for c in coverage if c.missing),
        duties=duties(),
        form=(form or StaffAssignForm(grids=grids, accounts=accounts))
        if has_perm(user, Perm.GRID_MANAGE)
        else None,
    )
    return render_page(request, "grids/staffing.html", context, status=status)


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_GET
def staffing(request: HttpRequest) -> HttpResponse:
    return _staffing(request)


@staff_page(Perm.GRID_MANAGE)
@require_POST
def staff_assign(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    accounts = {str(a.pk): a for a in _accounts(user)}
    form = StaffAssignForm(request.POST, grids=_grids(user), accounts=_choices(accounts))
    if form.is_valid():
        data = form.cleaned_data
        grid = core_selectors.orgunit_get(actor=user, code=data["grid"])
        account = accounts[data["user"]]
        made, error = _attempt(
            lambda: services.grid_staff_assign(actor=user, grid=grid, user=account, role=data["role"])
        )
        if made is not None:
            messages.success(
                request,
                _("%(name)s is %(role)s of %(grid)s.")
                % {"name": _account_label(account), "role": GridRole(data["role"]).label, "grid": grid.name},
            )
            return redirect("grids:staffing")
        form.add_error(None, error)
    return _staffing(request, form, status=400)


@staff_page(Perm.GRID_MANAGE)
@require_POST
def staff_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    assignment = selectors.grid_staff(actor=user).filter(pk=pk).first()
    if assignment is None:
        raise Http404
    _attempt(lambda: services.grid_staff_remove(actor=user, assignment=assignment))
    messages.success(
        request, _("%(name)s is no longer on the grid's staff.") % {"name": assignment.user.username}
    )
    return redirect("grids:staffing")


# --- sentinel points and patrol routes -------------------------------------------------------------------------


def _units(user: User) -> list[tuple[str, str]]:
    units = core_selectors.orgunit_list(actor=user).exclude(level=OrgLevel.DISTRICT)
    return [(u.code, f"{u.name} · {u.get_level_display()}") for u in units]


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_http_methods(["GET", "POST"])
def sentinels(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    can_manage = has_perm(user, Perm.GRID_MANAGE)
    if request.method == "POST" and not can_manage:
        raise PermissionDenied(_("Your role may not do this."))
    form = SentinelForm(request.POST or None, units=_units(user)) if can_manage else None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            unit = core_selectors.orgunit_get(actor=user, code=data["unit"])
            point, error = _attempt(
                lambda: services.sentinel_create(
                    actor=user,
                    kind=data["kind"],
                    name=data["name"],
                    unit=unit,
                    responsible_name=data["responsible_name"],
                    responsible_phone=data["responsible_phone"],
                    checklist=data["checklist"],
                )
            )
            if point is not None:
                messages.success(request, _("Sentinel point “%(name)s” is added.") % {"name": point.name})
                return redirect("grids:sentinels")
            form.add_error(None, error)
    points = selectors.sentinel_list(actor=user)
    context = _context(request, page=paginate(request, points), form=form)
    return render_page(request, "grids/sentinels.html", context, status=status)


def _venues(user: User, grid_code: str) -> list[tuple[str, str]]:
    if not grid_code:
        return []
    grid = core_selectors.orgunit_get(actor=user, code=grid_code)
    venues = place_selectors.venue_list(actor=user).filter(grid=grid).order_by("-is_key_place", "name")
    return [(str(v.pk), f"{v.name} ★" if v.is_key_place else v.name) for v in venues[:VENUE_CHOICES]]


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_http_methods(["GET", "POST"])
def patrols(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    can_manage = has_perm(user, Perm.GRID_MANAGE)
    if request.method == "POST" and not can_manage:
        raise PermissionDenied(_("Your role may not do this."))
    grids = _grids(user)
    grid_code = request.POST.get("grid") or request.GET.get("grid") or (grids[0][0] if grids else "")
    form = None
    status = 200
    if can_manage and grids:
        venues = _venues(user, grid_code)
        # A grid chosen in the form reloads it (HTMX) with that grid's venues, keeping what was typed.
        typed = {k: request.GET[k] for k in ("name", "checklist") if request.GET.get(k)}
        if request.GET.getlist("weekdays"):
            typed["weekdays"] = request.GET.getlist("weekdays")
        form = PatrolRouteForm(
            request.POST or None, grids=grids, venues=venues, initial={"grid": grid_code, **typed}
        )
    if request.method == "POST" and form is not None:
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            grid = core_selectors.orgunit_get(actor=user, code=data["grid"])
            chosen = place_selectors.venue_list(actor=user).filter(grid=grid, pk__in=data["venues"])
            route, error = _attempt(
                lambda: services.patrol_route_create(
                    actor=user,
                    name=data["name"],
                    grid=grid,
                    venues=list(chosen),
                    checklist=data["checklist"],
                    weekdays=data["weekdays"],
                )
            )
            if route is not None:
                messages.success(request, _("Patrol route “%(name)s” is added.") % {"name": route.name})
                return redirect("grids:patrols")
            form.add_error(None, error)
    context = _context(
        request, routes=list(selectors.patrol_routes(actor=user).select_related("grid")), form=form
    )
    return render_page(request, "grids/patrols.html", context, partial="route_form", status=status)


# --- emergencies ----------------------------------------------------------------------------------------------


def _emergencies(
    request: HttpRequest, form: EmergencyReportForm | None = None, status: int = 200, **extra: Any
):
    user: User = request.user
    show_all = request.GET.get("all") == "1"
    listed = (
        selectors.emergency_list(actor=user, open_only=not show_all)
        if has_perm(user, Perm.TASK_VIEW)
        else None
    )
    grids = _grids(user)
    context = _context(
        request,
        form=form or EmergencyReportForm(),
        page=paginate(request, listed) if listed is not None else None,
        show_all=show_all,
        grids=grids,
        assign_form=EmergencyAssignForm(grids=grids),
        close_form=EmergencyCloseForm(),
        **extra,
    )
    return render_page(request, "grids/emergencies.html", context, status=status)


@never_cache
@staff_page()
@require_http_methods(["GET", "POST"])
def emergencies(request: HttpRequest) -> HttpResponse:
    """Any staff member reports an emergency here; those who see tasks also get the list."""
    if request.method == "GET":
        return _emergencies(request)
    form = EmergencyReportForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        photo = data["photo"].read() if data.get("photo") else None
        made, error = _attempt(
            lambda: services.emergency_report(
                actor=request.user,
                kind=data["kind"],
                place=data["place"],
                description=data["description"],
                lat=data.get("lat"),
                lng=data.get("lng"),
                photo=photo,
            )
        )
        if made is not None:
            messages.success(request, _("The emergency is reported to the command center."))
            return redirect("grids:emergencies")
        form.add_error(None, error)
    return _emergencies(request, form, status=400)


@staff_page(Perm.TASK_DISPATCH)
@require_POST
def emergency_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    emergency = selectors.emergency_get(actor=user, pk=pk)
    form = EmergencyAssignForm(request.POST, grids=_grids(user))
    if form.is_valid():
        grid = core_selectors.orgunit_get(actor=user, code=form.cleaned_data["grid"])
        done, error = _attempt(lambda: services.emergency_assign(actor=user, emergency=emergency, grid=grid))
        if done is not None:
            messages.success(
                request, _("The emergency is given to %(grid)s as an urgent task.") % {"grid": grid.name}
            )
            return redirect("grids:emergencies")
    else:
        error = _("Choose a grid.")
    return _emergencies(request, status=400, error=error)


@staff_page(Perm.TASK_DISPATCH)
@require_POST
def emergency_close(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    emergency = selectors.emergency_get(actor=user, pk=pk)
    form = EmergencyCloseForm(request.POST)
    error = _("Say how it was resolved.")
    if form.is_valid():
        done, error = _attempt(
            lambda: services.emergency_close(actor=user, emergency=emergency, note=form.cleaned_data["note"])
        )
        if done is not None:
            messages.success(request, _("The emergency is closed."))
            return redirect("grids:emergencies")
    return _emergencies(request, status=400, error=error)


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_GET
def emergency_photo(request: HttpRequest, pk: int) -> HttpResponse:
    emergency = selectors.emergency_get(actor=request.user, pk=pk)
    if not emergency.photo:
        raise Http404
    response = HttpResponse(bytes(emergency.photo), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


# --- assessment -----------------------------------------------------------------------------------------------


def _month_and_rows(request: HttpRequest) -> tuple[AssessmentForm, dt.date, str, list[exports.Row]]:
    form = AssessmentForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    month = data.get("month") or timezone.localdate().replace(day=1)
    by = data.get("by") or "worker"
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    scores = selectors.assessment(actor=request.user, start=month, end=end, by=by)
    return form, month, by, exports.ranked(scores, by=by)


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_GET
def assessment(request: HttpRequest) -> HttpResponse:
    form, month, by, rows = _month_and_rows(request)
    if not form.is_bound:
        form = AssessmentForm(initial={"month": month, "by": by})
    context = _context(request, form=form, month=month, by=by, rows=rows, query=request.GET.urlencode())
    return render_page(request, "grids/assessment.html", context)


@never_cache
@staff_page(Perm.TASK_VIEW)
@require_GET
def assessment_xlsx(request: HttpRequest) -> HttpResponse:
    _form, month, by, rows = _month_and_rows(request)
    response = HttpResponse(
        exports.assessment_xlsx(rows, by=by, month=month),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="assessment-{by}-{month:%Y-%m}.xlsx"'
    return response
