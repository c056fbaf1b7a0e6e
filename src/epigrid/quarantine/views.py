"""Quarantine pages: dashboard, sites with their room board, line lists, placement detail (plan, tests,
reports, seals, visits, transfer, home phase, release, cancel, the person's report link), placing people one
by one or from a case, the release certificate — and the resident's public report page at ``/q/<token>``.

Reads go through ``quarantine.selectors`` (out of scope answers 404 like missing), writes through
``quarantine.services``. A service's ``Forbidden`` becomes the 403 page; any other ``DomainError`` is shown on
the re-rendered page with status 400 beside the form it belongs to. Personal data is masked everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.core import ratelimit
from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import PAGE_SIZE, query_without_page, render_page, staff_page
from epigrid.core.middleware import client_ip
from epigrid.core.models import OrgLevel, User
from epigrid.core.roles import Perm, has_perm
from epigrid.investigation import selectors as case_selectors
from epigrid.quarantine import certificate, selectors, services
from epigrid.quarantine.api import REPORTS_PER_LINK_PER_MINUTE
from epigrid.quarantine.forms import (
    TIER_CHOICES,
    CancelForm,
    CaseForm,
    CasePlaceForm,
    PlaceOneForm,
    ReportForm,
    RoomsAddForm,
    RoomStatusForm,
    SealForm,
    SiteCreateForm,
    StaffReportForm,
    TransferForm,
    VisitForm,
    symptom_label,
)
from epigrid.quarantine.models import (
    OPEN_STATUSES,
    Placement,
    PlacementStatus,
    RoomStatus,
    Site,
    SiteKind,
)

LIST_TITLES = {
    "symptomatic": gettext_lazy("Symptomatic"),
    "non_reporting": gettext_lazy("Not reporting"),
    "test_due": gettext_lazy("Test due today"),
    "test_overdue": gettext_lazy("Test overdue"),
    "release_due": gettext_lazy("Due for release"),
    "released": gettext_lazy("Released"),
    "all": gettext_lazy("All"),
}
TIER_LABELS = {**dict(TIER_CHOICES), "traveller": gettext_lazy("Traveller")}
FREE_ROOMS_SHOWN = 300
REPORTS_SHOWN = 60
REPORT_PAGE_PER_IP_PER_MINUTE = 120


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Render with what every quarantine page needs: whether the sub-navigation offers placing people."""
    context.setdefault("may_place", has_perm(request.user, Perm.QUARANTINE_MANAGE))
    return render(request, template, context, status=status)


def _forbidden(err: Forbidden) -> PermissionDenied:
    return PermissionDenied(err.message)


def _attempt(action: Callable[[], Any]) -> tuple[Any, str]:
    """Run a service call; a refusal is the 403 page, any other domain error comes back as its message."""
    try:
        return action(), ""
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return None, err.message


def _qr_svg(text: str) -> str:
    # segno draws the SVG from the signed link itself; no user-controlled markup reaches it.
    return mark_safe(segno.make(text, error="m").svg_inline(scale=4, border=4, title=""))


def _site_choices(user: User) -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in selectors.site_list(actor=user).values_list("pk", "name")]


def _chosen_site(user: User, value: str) -> Site | None:
    return selectors.site_get(actor=user, pk=int(value)) if value else None


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Return to the page the form was on (a line list tab) when it is ours, else ``fallback``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


# --- dashboard -----------------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.QUARANTINE_VIEW)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    counts = selectors.line_list_counts(actor=user)
    by_status = selectors.status_counts(actor=user)
    forecast = selectors.release_forecast(actor=user)
    context = {
        "occupancy": selectors.site_occupancy(actor=user),
        "statuses": [(value, label, by_status.get(value, 0)) for value, label in PlacementStatus.choices],
        "reports_today": selectors.reports_today(actor=user),
        "lists": [(name, LIST_TITLES[name], counts[name]) for name in selectors.LINE_LISTS],
        "forecast": forecast,
        "forecast_chart": {
            "days": [day.strftime("%m-%d") for day, _n in forecast],
            "counts": [n for _day, n in forecast],
            "label": _("Quarantines ending"),
        },
        "can_manage": has_perm(user, Perm.QUARANTINE_MANAGE),
    }
    return _render(request, "quarantine/dashboard.html", context)


# --- sites and rooms -----------------------------------------------------------------------------------


def _grid_choices(user: User) -> list[tuple[str, str]]:
    grids = core_selectors.orgunit_list(actor=user, level=OrgLevel.GRID).order_by("code")
    return list(grids.values_list("code", "name"))


def _site_list_page(
    request: HttpRequest, form: SiteCreateForm | None = None, status: int = 200
) -> HttpResponse:
    user: User = request.user
    can_manage = has_perm(user, Perm.QUARANTINE_MANAGE)
    if can_manage and form is None:
        form = SiteCreateForm(grids=_grid_choices(user))
    context = {"occupancy": selectors.site_occupancy(actor=user), "can_manage": can_manage, "form": form}
    return _render(request, "quarantine/site_list.html", context, status)


@never_cache
@staff_page(Perm.QUARANTINE_VIEW)
@require_GET
def site_list(request: HttpRequest) -> HttpResponse:
    return _site_list_page(request)


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def site_create(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    form = SiteCreateForm(request.POST, grids=_grid_choices(user))
    if form.is_valid():
        data = form.cleaned_data
        grid = core_selectors.orgunit_get(actor=user, code=data["grid"]) if data["grid"] else None
        site, error = _attempt(
            lambda: services.site_create(
                actor=user,
                name=data["name"],
                grid=grid,
                address=data["address"],
                phone=data["phone"],
                rooms=data["rooms"],
            )
        )
        if site is not None:
            messages.success(
                request,
                _("Site “%(name)s” is created with %(n)d rooms.")
                % {"name": site.name, "n": len(data["rooms"])},
            )
            return redirect("quarantine:site_detail", pk=site.pk)
        form.add_error(None, error)
    return _site_list_page(request, form, status=400)


def _site_page(request: HttpRequest, site: Site, *, status: int = 200, **extra: Any) -> HttpResponse:
    user: User = request.user
    occupants: dict[int, list[Placement]] = {}
    visible = selectors.line_list(actor=user, name="all", site_id=site.pk).filter(status__in=OPEN_STATUSES)
    for placement in visible:
        occupants.setdefault(placement.room_id, []).append(placement)
    floors: dict[int, list[dict[str, Any]]] = {}
    for room in site.rooms.order_by("floor", "number"):
        floors.setdefault(room.floor, []).append({"room": room, "people": occupants.get(room.pk, [])})
    by_status: dict[str, int] = {}
    for rows in floors.values():
        for row in rows:
            by_status[row["room"].status] = by_status.get(row["room"].status, 0) + 1
    context = {
        "site": site,
        "floors": sorted(floors.items()),
        "room_counts": [(value, label, by_status.get(value, 0)) for value, label in RoomStatus.choices],
        "people": sum(len(v) for v in occupants.values()),
        "can_manage": has_perm(user, Perm.QUARANTINE_MANAGE) and site.kind == SiteKind.CENTRALISED,
        "rooms_form": extra.pop("rooms_form", None) or RoomsAddForm(),
        "error": "",
        **extra,
    }
    return _render(request, "quarantine/site_detail.html", context, status)


@never_cache
@staff_page(Perm.QUARANTINE_VIEW)
@require_GET
def site_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _site_page(request, selectors.site_get(actor=request.user, pk=pk))


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def rooms_add(request: HttpRequest, pk: int) -> HttpResponse:
    site = selectors.site_get(actor=request.user, pk=pk)
    form = RoomsAddForm(request.POST)
    if form.is_valid():
        count, error = _attempt(
            lambda: services.rooms_add(actor=request.user, site=site, rooms=form.cleaned_data["rooms"])
        )
        if not error:
            messages.success(request, _("%(n)d rooms are added.") % {"n": count})
            return redirect("quarantine:site_detail", pk=site.pk)
        form.add_error(None, error)
    return _site_page(request, site, status=400, rooms_form=form)


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def room_status(request: HttpRequest, pk: int) -> HttpResponse:
    room = selectors.room_get(actor=request.user, pk=pk)
    form = RoomStatusForm(request.POST)
    if not form.is_valid():
        return _site_page(request, room.site, status=400, error=_("Choose a room status."))
    status = form.cleaned_data["status"]
    _room, error = _attempt(lambda: services.room_set_status(actor=request.user, room=room, status=status))
    if error:
        return _site_page(request, room.site, status=400, error=error)
    label = dict(RoomStatus.choices)[status]
    messages.success(request, _("Room %(n)s: %(status)s.") % {"n": room.number, "status": label})
    return redirect(reverse("quarantine:site_detail", args=[room.site_id]) + f"#room-{room.pk}")


# --- line lists ----------------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.QUARANTINE_VIEW)
@require_GET
def line_lists(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    name = request.GET.get("list", "symptomatic")
    if name not in selectors.LINE_LISTS:
        name = "symptomatic"
    site_id = request.GET.get("site", "")
    site = _chosen_site(user, site_id) if site_id.isdigit() else None
    rows = selectors.line_list(actor=user, name=name, site_id=site.pk if site else None)
    counts = selectors.line_list_counts(actor=user)
    paginator = Paginator(rows, PAGE_SIZE)
    if site is None:
        paginator.count = counts[name]  # the tab's count is this list's: no second COUNT query
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "name": name,
        "title": LIST_TITLES[name],
        "tabs": [(key, LIST_TITLES[key], counts[key]) for key in selectors.LINE_LISTS],
        "page": page,
        "query": query_without_page(request),
        "site": site,
        "sites": _site_choices(user),
        "today": timezone.localdate(),
        "can_manage": has_perm(user, Perm.QUARANTINE_MANAGE),
        "may_place": has_perm(user, Perm.QUARANTINE_MANAGE),
    }
    for placement in context["page"].object_list:
        placement.tier_label = TIER_LABELS.get(placement.tier, placement.tier)
    return render_page(request, "quarantine/line_lists.html", context, partial="rows")


# --- placing people ------------------------------------------------------------------------------------


def _people(request: HttpRequest, query: str) -> list:
    return core_selectors.person_picker(actor=request.user, query=query)


def _place_page(request: HttpRequest, form: PlaceOneForm | None = None, status: int = 200, **extra: Any):
    user: User = request.user
    person_q = request.GET.get("person_q", "") or request.POST.get("person_q", "")
    context = {
        "person_q": person_q,
        "people": extra.pop("people", None) or _people(request, person_q),
        "form": form or PlaceOneForm(sites=_site_choices(user)),
        "case_form": CaseForm(),
        **extra,
    }
    return _render(request, "quarantine/place.html", context, status)


@never_cache
@staff_page(Perm.QUARANTINE_MANAGE)
@require_GET
def place(request: HttpRequest) -> HttpResponse:
    return _place_page(request)


@never_cache
@staff_page(Perm.QUARANTINE_MANAGE)
@require_GET
def person_options(request: HttpRequest) -> HttpResponse:
    """The person picker's matches (HTMX): masked name, ID and grid of up to 20 people in scope."""
    query = request.GET.get("person_q", "")
    return render(
        request,
        "core/_person_options.html",
        {"people": _people(request, query), "person_q": query, "options_class": "q-options"},
    )


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def place_one(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    form = PlaceOneForm(request.POST, sites=_site_choices(user))
    if not form.is_valid():
        if "person" in form.errors:
            form.errors["person"] = form.error_class([_("Choose the person from the search results.")])
        return _place_page(request, form, status=400)
    data = form.cleaned_data
    person = core_selectors.person_get(actor=user, pk=data["person"])  # 404 out of scope
    site = _chosen_site(user, data["site"])
    placement, error = _attempt(
        lambda: services.placement_create(actor=user, person=person, tier=data["tier"], site=site)
    )
    if placement is None:
        form.add_error(None, error)
        return _place_page(request, form, status=400, people=[person])
    messages.success(
        request,
        _("%(name)s is placed: %(site)s %(room)s.")
        % {
            "name": person.name_masked,
            "site": placement.site.name,
            "room": placement.room.number
            if placement.room and placement.site.kind == SiteKind.CENTRALISED
            else "",
        },
    )
    return redirect("quarantine:placement_detail", pk=placement.pk)


def _case_contacts(request: HttpRequest, case_id: int) -> tuple[Any, list[dict[str, Any]]]:
    """The case's close and secondary contacts the actor may see, each with their open placement if any."""
    user: User = request.user
    case = case_selectors.case_get(actor=user, pk=case_id)
    contacts = [
        c for c in case_selectors.case_contacts(actor=user, case=case) if c.tier in ("close", "secondary")
    ]
    ids = [c.person_id for c in contacts]
    placed = {
        p.person_id: p
        for p in selectors.line_list(actor=user, name="all").filter(
            person_id__in=ids, status__in=OPEN_STATUSES
        )
    }
    return case, [{"contact": c, "placement": placed.get(c.person_id)} for c in contacts]


@never_cache
@staff_page(Perm.QUARANTINE_MANAGE)
@require_http_methods(["GET", "POST"])
def place_case(request: HttpRequest) -> HttpResponse:
    """A case's close and secondary contacts not yet in quarantine, placed at once (households together).
    Reading the contacts needs ``case.view`` as well."""
    user: User = request.user
    if not has_perm(user, Perm.CASE_VIEW):
        raise PermissionDenied(_("Placing from a case needs access to cases (case.view)."))
    case_form = CaseForm(request.GET or None)
    case, rows, result = None, [], None
    raw = request.POST.get("case") if request.method == "POST" else None
    if raw is not None:
        case_form = CaseForm({"case": raw})
    if case_form.is_bound and case_form.is_valid():
        case, rows = _case_contacts(request, case_form.cleaned_data["case"])
    waiting = [row["contact"].person_id for row in rows if row["placement"] is None]
    form = CasePlaceForm(
        request.POST if request.method == "POST" else None,
        people=waiting,
        sites=_site_choices(user),
        initial={"people": waiting},
    )
    status = 200
    if request.method == "POST":
        if case is None:
            raise Http404
        if form.is_valid():
            tiers = {row["contact"].person_id: row["contact"].tier for row in rows}
            requests = [
                services.PlacementRequest(pk, tiers[pk], case.pk) for pk in form.cleaned_data["people"]
            ]
            site = _chosen_site(user, form.cleaned_data["site"])
            outcome, error = _attempt(
                lambda: services.placement_create_many(actor=user, requests=requests, site=site)
            )
            if error:
                form.add_error(None, error)
                status = 400
            else:
                result = _outcome(rows, outcome)
                case, rows = _case_contacts(request, case.pk)
                form = CasePlaceForm(people=[], sites=_site_choices(user))
        else:
            status = 400
    context = {"case_form": case_form, "case": case, "rows": rows, "form": form, "result": result}
    return _render(request, "quarantine/place_case.html", context, status)


def _outcome(rows: list[dict[str, Any]], outcome: services.PlacementResult) -> dict[str, list]:
    people = {row["contact"].person_id: row["contact"].person for row in rows}
    return {
        "placed": outcome.placed,
        "already": [people[pk] for pk in outcome.already if pk in people],
        "no_room": [people[pk] for pk in outcome.no_room if pk in people],
        "errors": [(people.get(pk), message) for pk, message in outcome.errors],
    }


# --- placement detail ----------------------------------------------------------------------------------


def _day_of(placement: Placement, now: dt.datetime) -> tuple[int, int]:
    total = int(placement.plan.get("centralised_days", 0)) + int(placement.plan.get("home_days", 0))
    day = (timezone.localdate(now) - timezone.localtime(placement.start).date()).days + 1
    return max(1, min(day, total or day)), total


def _free_rooms(user: User) -> list[tuple[int, str]]:
    rooms = selectors.free_rooms(actor=user)[:FREE_ROOMS_SHOWN]
    return [
        (
            r.pk,
            _("%(site)s · room %(n)s (%(beds)d beds)") % {"site": r.site.name, "n": r.number, "beds": r.beds},
        )
        for r in rooms
    ]


def _report_url(request: HttpRequest, placement: Placement) -> str:
    path = reverse("qreport:report", args=[services.report_link_token(placement)])
    return f"{settings.PUBLIC_URL}{path}" if settings.PUBLIC_URL else request.build_absolute_uri(path)


def _detail_context(request: HttpRequest, placement: Placement, **extra: Any) -> dict[str, Any]:
    user: User = request.user
    now = timezone.now()
    is_open = placement.status in OPEN_STATUSES
    home = placement.site.kind == SiteKind.HOME
    can_manage = has_perm(user, Perm.QUARANTINE_MANAGE) and is_open
    can_visit = has_perm(user, Perm.QUARANTINE_VISIT) and is_open and home
    reports = list(placement.reports.select_related("reported_by")[:REPORTS_SHOWN])
    day, total = _day_of(placement, now)
    context: dict[str, Any] = {
        "placement": placement,
        "person": placement.person,
        "tier_label": TIER_LABELS.get(placement.tier, placement.tier),
        "is_open": is_open,
        "home": home,
        "day": day,
        "total_days": total,
        "tests": list(placement.tests.all()),
        "reports": [{"report": r, "symptoms": [symptom_label(s) for s in r.symptoms]} for r in reports],
        "chart": {
            "times": [timezone.localtime(r.reported_at).strftime("%m-%d %H:%M") for r in reversed(reports)],
            "values": [float(r.temperature) for r in reversed(reports)],
            "threshold": float(services.fever_threshold(placement.disease_code)),
            "label": _("Temperature (°C)"),
        },
        "seals": list(placement.seals.all()),
        "visits": list(placement.visits.select_related("visitor")),
        "blockers": services.release_blockers(placement, now=now) if is_open else [],
        "can_manage": can_manage,
        "can_report": has_perm(user, Perm.QUARANTINE_MONITOR) and is_open,
        "can_visit": can_visit,
        "can_move_home": can_manage and placement.status == PlacementStatus.ACTIVE and not home,
        "can_see_case": bool(placement.case_id) and has_perm(user, Perm.CASE_VIEW),
        "error": "",
    }
    if is_open and any(
        has_perm(user, p) for p in (Perm.QUARANTINE_MANAGE, Perm.QUARANTINE_MONITOR, Perm.QUARANTINE_VISIT)
    ):
        url = _report_url(request, placement)
        context.update(report_url=url, report_qr=_qr_svg(url))
    if context["can_report"]:
        context["report_form"] = StaffReportForm()
    if can_visit:
        context.update(seal_form=SealForm(), visit_form=VisitForm())
    if can_manage:
        context.update(transfer_form=TransferForm(rooms=_free_rooms(user)), cancel_form=CancelForm())
    context.update(extra)
    return context


def _placement(request: HttpRequest, pk: int) -> Placement:
    return selectors.placement_get(actor=request.user, pk=pk)


def _detail(request: HttpRequest, placement: Placement, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = _detail_context(request, placement, **extra)
    return _render(request, "quarantine/placement_detail.html", context, status)


def _done(request: HttpRequest, placement: Placement, message: str, anchor: str = "") -> HttpResponse:
    messages.success(request, message)
    url = reverse("quarantine:placement_detail", args=[placement.pk])
    return redirect(url + (f"#{anchor}" if anchor else ""))


@never_cache
@staff_page(Perm.QUARANTINE_VIEW)
@require_GET
def placement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _placement(request, pk))


@staff_page(Perm.QUARANTINE_MONITOR)
@require_POST
def report_add(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    form = StaffReportForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        result, error = _attempt(
            lambda: services.report_submit(
                actor=request.user,
                placement=placement,
                temperature=data["temperature"],
                symptoms=data["symptoms"],
                client_id=data["client_id"],
                reported_at=data["reported_at"],
                note=data["note"],
            )
        )
        if result is not None:
            message = _("The report is saved.") if result[1] else _("This report was saved already.")
            return _done(request, placement, message, "reports")
        form.add_error(None, error)
    return _detail(request, placement, status=400, report_form=form)


def _home_form_refused(request: HttpRequest, placement: Placement, **forms: Any) -> HttpResponse:
    """Seal and visit forms show only for open home quarantines; a refusal for any other placement is
    shown at the top of the page instead."""
    shown = placement.site.kind == SiteKind.HOME and placement.status in OPEN_STATUSES
    errors = [e for form in forms.values() for e in form.non_field_errors()]
    error = "" if shown else " ".join(errors)
    return _detail(request, placement, status=400, error=error, **forms)


@staff_page(Perm.QUARANTINE_VISIT)
@require_POST
def seal_add(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    form = SealForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["photo"]
        seal, error = _attempt(
            lambda: services.seal_record(
                actor=request.user,
                placement=placement,
                number=form.cleaned_data["number"],
                photo=upload.read() if upload else None,
            )
        )
        if seal is not None:
            return _done(request, placement, _("Seal %(n)s is recorded.") % {"n": seal.number}, "home")
        form.add_error(None, error)
    return _home_form_refused(request, placement, seal_form=form)


@staff_page(Perm.QUARANTINE_VIEW)
@require_GET
def seal_photo(request: HttpRequest, pk: int, seal_pk: int) -> HttpResponse:
    seal = _placement(request, pk).seals.filter(pk=seal_pk).first()
    if seal is None or not seal.photo:
        raise Http404
    response = HttpResponse(bytes(seal.photo), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@staff_page(Perm.QUARANTINE_VISIT)
@require_POST
def visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    form = VisitForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        visit, error = _attempt(
            lambda: services.visit_record(
                actor=request.user,
                placement=placement,
                result=data["result"],
                team=data["team"],
                note=data["note"],
            )
        )
        if visit is not None:
            return _done(request, placement, _("The visit is recorded."), "home")
        form.add_error(None, error)
    return _home_form_refused(request, placement, visit_form=form)


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    form = TransferForm(request.POST, rooms=_free_rooms(request.user))
    if form.is_valid():
        room = selectors.room_get(actor=request.user, pk=form.cleaned_data["room"])
        moved, error = _attempt(
            lambda: services.placement_transfer(actor=request.user, placement=placement, room=room)
        )
        if moved is not None:
            message = _("Moved to %(site)s room %(n)s.") % {"site": room.site.name, "n": room.number}
            return _done(request, moved, message, "place")
        form.add_error(None, error)
        placement = _placement(request, pk)
    return _detail(request, placement, status=400, transfer_form=form)


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def move_home(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    moved, error = _attempt(lambda: services.placement_move_home(actor=request.user, placement=placement))
    if moved is None:
        return _detail(request, _placement(request, pk), status=400, error=error)
    return _done(request, moved, _("Home health monitoring begins; the room is freed for cleaning."), "place")


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    done, error = _attempt(lambda: services.placement_release(actor=request.user, placement=placement))
    if done is None:
        if request.POST.get("next"):
            messages.error(
                request, _("%(name)s cannot be released: %(why)s") % {"name": _who(placement), "why": error}
            )
            return _back(request, reverse("quarantine:placement_detail", args=[pk]))
        return _detail(request, placement, status=400, error=error)
    messages.success(request, _("%(name)s is released.") % {"name": _who(placement)})
    return _back(request, reverse("quarantine:placement_detail", args=[pk]))


def _who(placement: Placement) -> str:
    return placement.person.name_masked if placement.person else f"#{placement.pk}"


@staff_page(Perm.QUARANTINE_MANAGE)
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        done, error = _attempt(
            lambda: services.placement_cancel(
                actor=request.user, placement=placement, reason=form.cleaned_data["reason"]
            )
        )
        if done is not None:
            return _done(request, done, _("The placement is cancelled."))
        form.add_error(None, error)
    return _detail(request, placement, status=400, cancel_form=form)


@staff_page(Perm.QUARANTINE_VIEW)
@require_GET
def certificate_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    placement = _placement(request, pk)
    if placement.status != PlacementStatus.RELEASED or placement.person is None:
        raise Http404
    content = certificate.certificate_pdf(certificate.gather(actor=request.user, placement=placement))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="quarantine-{placement.pk}-certificate.pdf"'
    response["Cache-Control"] = "no-store"  # personal data, even masked, stays out of shared caches
    return response


# --- the resident's report page (public) ---------------------------------------------------------------


def _report_error(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "quarantine/report_invalid.html", {"message": message}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def report_page(request: HttpRequest, token: str) -> HttpResponse:
    """``/q/<token>``: the person's own daily report, no account. The link is the credential; it stops
    working at release. Rate-limited per address and, for reports, per link (shared with the API)."""
    too_many = _("Too many attempts. Please wait a minute and try again.")
    if not ratelimit.hit("q-report-ip", client_ip(request), limit=REPORT_PAGE_PER_IP_PER_MINUTE):
        return _report_error(request, too_many, status=429)
    try:
        placement = services.placement_from_token(token)
    except DomainError as err:
        return _report_error(request, err.message, status=400)
    form = ReportForm(request.POST or None)
    saved, status = None, 200
    if request.method == "POST":
        if not ratelimit.hit("q-report-link", str(placement.pk), limit=REPORTS_PER_LINK_PER_MINUTE):
            return _report_error(request, too_many, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.report_submit(
                    actor=None,
                    placement=placement,
                    temperature=data["temperature"],
                    symptoms=data["symptoms"],
                    client_id=data["client_id"],
                )
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
        if saved is None:
            status = 400
        else:
            placement.refresh_from_db()
            form = ReportForm()  # a new client_id for the next report
    day, total = _day_of(placement, timezone.now())
    context = {
        "placement": placement,
        "person": placement.person,
        "day": day,
        "total_days": total,
        "form": form,
        "saved": saved[0] if saved else None,
        "created": saved[1] if saved else False,
        "saved_symptoms": [symptom_label(s) for s in saved[0].symptoms] if saved else [],
        "token": token,
    }
    return render(request, "quarantine/report.html", context, status=status)
