"""The epidemiologist's pages: case list and new case, case detail (facts, trajectory map and timeline, interview
places, contacts by tier with their evidence, actions on contacts, merge, named source, chain graph), the
trajectory exports, the investigation report PDF and the chains page (statistics, graph, epicurve).

Reads go through ``investigation.selectors`` (a case out of scope answers 404 like a missing one), writes through
``investigation.services``. A service's ``Forbidden`` becomes the 403 page; any other ``DomainError`` is shown
on the re-rendered page with status 400, next to the form it belongs to. Personal data is masked everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.models import OrgLevel, User
from epigrid.core.roles import Perm, has_perm
from epigrid.investigation import exports, report, selectors, services
from epigrid.investigation.forms import (
    CaseCreateForm,
    CaseFilterForm,
    CaseRefForm,
    CaseUpdateForm,
    ContactSelectionForm,
    TrajectoryForm,
)
from epigrid.investigation.models import Case, Classification, Contact, InvestigationStatus, Rule, Tier
from epigrid.places import selectors as place_selectors

VENUE_CHOICES = 50
CONTACTS_SHOWN = 500


def _forbidden(err: Forbidden) -> PermissionDenied:
    return PermissionDenied(err.message)


def _attempt(action: Callable[[], Any]) -> tuple[Any, str]:
    """Run a service call; a refusal is the 403 page, any other domain error comes back as a message."""
    try:
        return action(), ""
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return None, err.message


# --- case list and new case ---------------------------------------------------------------------------


def _people(request: HttpRequest, query: str) -> list:
    return core_selectors.person_picker(actor=request.user, query=query)


def _list_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user: User = request.user
    form = CaseFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    cases = selectors.case_list(
        actor=user,
        classification=filters.get("classification", ""),
        status=filters.get("status", ""),
        search=filters.get("q", ""),
    )
    everything = selectors.case_list(actor=user).order_by()
    by_class = Counter(everything.values_list("classification", flat=True))
    by_status = Counter(everything.values_list("status", flat=True))
    can_edit = has_perm(user, Perm.CASE_EDIT)
    person_q = request.GET.get("person_q", "")
    context = {
        "form": form,
        "page": paginate(request, cases),
        "query": query_without_page(request),
        "class_counts": [(value, label, by_class.get(value, 0)) for value, label in Classification.choices],
        "status_counts": [
            (value, label, by_status.get(value, 0))
            for value, label in InvestigationStatus.choices
            if value != InvestigationStatus.MERGED
        ],
        "total": sum(by_class.values()),
        "can_edit": can_edit,
        "person_q": person_q,
        "people": _people(request, person_q) if can_edit else [],
        "create_form": CaseCreateForm() if can_edit else None,
        "error": "",
    }
    context.update(extra)
    return context


@never_cache
@staff_page(Perm.CASE_VIEW)
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "investigation/case_list.html", _list_context(request), partial="results")


@never_cache
@staff_page(Perm.CASE_EDIT)
@require_GET
def person_options(request: HttpRequest) -> HttpResponse:
    """The new-case person picker's matches (HTMX): masked name, ID and grid of up to 20 people in scope."""
    query = request.GET.get("person_q", "")
    return render(
        request,
        "core/_person_options.html",
        {"people": _people(request, query), "person_q": query, "options_class": "inv-options"},
    )


@staff_page(Perm.CASE_EDIT)
@require_POST
def case_create(request: HttpRequest) -> HttpResponse:
    form = CaseCreateForm(request.POST)
    people: list = []
    if form.is_valid():
        data = form.cleaned_data
        person = core_selectors.person_get(actor=request.user, pk=data["person"])  # 404 out of scope
        people = [person]
        case, error = _attempt(
            lambda: services.case_create(
                actor=request.user,
                person=person,
                classification=data["classification"],
                onset_date=data["onset_date"],
                first_positive_at=data["first_positive_at"],
                isolated_at=data["isolated_at"],
                notes=data["notes"],
            )
        )
        if case is not None:
            messages.success(request, _("Case #%(id)s is opened and traced.") % {"id": case.pk})
            return redirect("investigation:case_detail", pk=case.pk)
        form.add_error(None, error)
    elif "person" in form.errors:
        form.errors["person"] = form.error_class([_("Choose the person from the search results.")])
    context = _list_context(
        request, create_form=form, people=people, person_q=request.POST.get("person_q", "")
    )
    return render_page(request, "investigation/case_list.html", context, status=400)


# --- case detail --------------------------------------------------------------------------------------


def _map_config() -> dict[str, Any]:
    return {
        "center": list(settings.MAP_CENTER),
        "tileUrl": getattr(settings, "MAP_TILE_URL", ""),
        "tileAttribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }


def _person_labels(case: Case, contacts: list[Contact]) -> dict[int, str]:
    labels = {pk: _("this case") for pk in case.person_ids}
    for contact in contacts:
        labels.setdefault(contact.person_id, contact.person.name_masked)
    return labels


def _evidence(contact: Contact, labels: dict[int, str]) -> list[dict[str, Any]]:
    rules = dict(Rule.choices)
    rows = []
    for item in contact.evidence or []:
        via = item.get("via_person_id")
        rows.append(
            {
                "rule": str(rules.get(item.get("rule", ""), item.get("rule", ""))),
                "venue": item.get("venue", ""),
                "start": exports.parse_time(item.get("start")),
                "end": exports.parse_time(item.get("end")),
                "minutes": item.get("minutes"),
                "via": labels.get(via, f"#{via}") if via else "",
            }
        )
    return rows


def _contact_groups(request: HttpRequest, case: Case) -> tuple[list[dict[str, Any]], list[Contact]]:
    contacts = list(selectors.case_contacts(actor=request.user, case=case))
    labels = _person_labels(case, contacts)
    codes = {c.org_code for c in contacts}
    grids = dict(
        core_selectors.orgunit_list(actor=request.user)
        .filter(code__in=codes, level=OrgLevel.GRID)
        .values_list("code", "name")
    )
    groups = []
    for tier, label in Tier.choices:  # close, secondary, companion: the order of urgency
        members = [c for c in contacts if c.tier == tier]
        if not members:
            continue
        rows = [
            {"contact": c, "grid": grids.get(c.org_code, c.org_code), "evidence": _evidence(c, labels)}
            for c in members[:CONTACTS_SHOWN]
        ]
        groups.append({"tier": tier, "label": label, "count": len(members), "rows": rows})
    return groups, contacts


def _chain(request: HttpRequest, case: Case) -> selectors.Chain | None:
    try:
        return selectors.chain_of_case(actor=request.user, case=case)
    except Http404:  # merged or excluded cases belong to no chain
        return None


def _venues(request: HttpRequest, query: str) -> list:
    venues = place_selectors.venue_list(actor=request.user, search=query.strip())
    return list(venues[:VENUE_CHOICES])


def _detail_context(request: HttpRequest, case: Case, **extra: Any) -> dict[str, Any]:
    user: User = request.user
    can_edit = has_perm(user, Perm.CASE_EDIT) and not case.merged_into_id
    entries = list(selectors.case_trajectory(actor=user, case=case))
    groups, contacts = _contact_groups(request, case)
    chain = _chain(request, case)
    window = (case.window_start, case.window_end)
    if window[0] is None:
        window = services.case_window(case)
    venue_q = request.GET.get("venue_q", "")
    context = {
        "case": case,
        "person": case.person,
        "window": window,
        "can_edit": can_edit,
        "entries": entries,
        "trajectory_points": exports.trajectory_points(entries),
        "map_config": _map_config(),
        "groups": groups,
        "contact_total": len(contacts),
        "status_counts": Counter(c.status for c in contacts),
        "chain": chain,
        "chain_graph": exports.chain_graph([chain], highlight=case.pk) if chain else None,
        "links_in": [link for link in chain.links if link.target_id == case.pk] if chain else [],
        "links_out": [link for link in chain.links if link.source_id == case.pk] if chain else [],
        "venue_q": venue_q,
        "error": "",
    }
    if can_edit:
        context.update(
            edit_form=CaseUpdateForm.for_case(case),
            trajectory_form=TrajectoryForm(venues=_venues(request, venue_q)),
            merge_form=CaseRefForm(prefix="merge"),
            source_form=CaseRefForm(prefix="source"),
        )
    context.update(extra)
    return context


def _case(request: HttpRequest, pk: int) -> Case:
    return selectors.case_get(actor=request.user, pk=pk)


def _detail(request: HttpRequest, case: Case, *, status: int = 200, **extra: Any) -> HttpResponse:
    return render_page(
        request, "investigation/case_detail.html", _detail_context(request, case, **extra), status=status
    )


def _done(request: HttpRequest, case: Case, message: str, anchor: str = "") -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("investigation:case_detail", args=[case.pk]) + (f"#{anchor}" if anchor else ""))


@never_cache
@staff_page(Perm.CASE_VIEW)
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _case(request, pk))


@never_cache
@staff_page(Perm.CASE_EDIT)
@require_GET
def venue_options(request: HttpRequest, pk: int) -> HttpResponse:
    """The interview form's venue choices narrowed by a search (HTMX)."""
    _case(request, pk)
    form = TrajectoryForm(venues=_venues(request, request.GET.get("venue_q", "")))
    return render(request, "investigation/_venue_options.html", {"field": form["venue"]})


@staff_page(Perm.CASE_EDIT)
@require_POST
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = CaseUpdateForm(request.POST)
    if form.is_valid():
        changes = form.changes(case)
        investigator = request.user if form.cleaned_data["take_over"] else None
        _updated, error = _attempt(
            lambda: services.case_update(actor=request.user, case=case, investigator=investigator, **changes)
        )
        if not error:
            return _done(request, case, _("The case is saved."), "facts")
        form.add_error(None, error)
        case.refresh_from_db()  # the service may have changed the instance before refusing
    return _detail(request, case, status=400, edit_form=form)


@staff_page(Perm.CASE_EDIT)
@require_POST
def trajectory_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    venue_q = request.POST.get("venue_q", "")
    venues = _venues(request, venue_q)
    form = TrajectoryForm(request.POST, venues=venues)
    if form.is_valid():
        data = form.cleaned_data
        venue = None
        if data["venue"]:
            try:
                venue = place_selectors.venue_get(actor=request.user, pk=data["venue"])
            except Http404:
                form.add_error("venue", _("Choose a venue from the list."))
                return _detail(request, case, status=400, trajectory_form=form, venue_q=venue_q)
        _entry, error = _attempt(
            lambda: services.trajectory_add(
                actor=request.user,
                case=case,
                start=data["start"],
                end=data["end"],
                venue=venue,
                place=data["place"],
                lat=data["lat"],
                lng=data["lng"],
                note=data["note"],
            )
        )
        if not error:
            return _done(request, case, _("The place is added to the trajectory."), "trajectory")
        form.add_error(None, error)
    return _detail(request, case, status=400, trajectory_form=form, venue_q=venue_q)


@staff_page(Perm.CASE_EDIT)
@require_POST
def trajectory_remove(request: HttpRequest, pk: int, entry_pk: int) -> HttpResponse:
    case = _case(request, pk)
    entry = selectors.trajectory_entry_get(actor=request.user, case=case, pk=entry_pk)
    _none, error = _attempt(lambda: services.trajectory_remove(actor=request.user, entry=entry))
    if error:
        return _detail(request, case, status=400, error=error)
    return _done(request, case, _("The place is removed from the trajectory."), "trajectory")


@staff_page(Perm.CASE_EDIT)
@require_POST
def case_trace(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    result, error = _attempt(lambda: services.case_trace(actor=request.user, case=case))
    if error:
        return _detail(request, case, status=400, error=error)
    message = _(
        "Traced again: %(close)d close and %(secondary)d secondary contacts (%(added)d new, %(removed)d removed)."
    ) % {
        "close": result.close,
        "secondary": result.secondary,
        "added": result.added,
        "removed": result.removed,
    }
    return _done(request, case, message, "contacts")


def _selection(request: HttpRequest, case: Case) -> ContactSelectionForm:
    ids = list(selectors.case_contacts(actor=request.user, case=case).values_list("pk", flat=True))
    form = ContactSelectionForm(request.POST, contact_ids=ids)
    if not form.is_valid():  # only a contact id of another case can fail: the page is stale
        raise Http404
    return form


@staff_page(Perm.CASE_EDIT)
@require_POST
def contacts_notify(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    chosen = _selection(request, case).selected()
    count, error = _attempt(
        lambda: services.contacts_notify(actor=request.user, case=case, contact_ids=chosen)
    )
    if error:
        return _detail(request, case, status=400, error=error)
    message = _("%(n)d contacts notified; their health codes follow.") % {"n": count}
    if not count:
        message = _("Every contact was notified already.")
    return _done(request, case, message, "contacts")


@staff_page(Perm.CASE_EDIT)
@require_POST
def contacts_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = _selection(request, case)
    count, error = _attempt(
        lambda: services.contacts_dispatch(
            actor=request.user,
            case=case,
            quarantine=form.cleaned_data["quarantine"],
            grid_tasks=form.cleaned_data["grid_tasks"],
            contact_ids=form.selected(),
        )
    )
    if error:
        return _detail(request, case, status=400, error=error)
    message = _("%(n)d contacts sent on.") % {"n": count}
    if not count:
        message = _("No contact was waiting to be sent on.")
    return _done(request, case, message, "contacts")


def _other_case(request: HttpRequest, case: Case, prefix: str) -> tuple[CaseRefForm, Case | None]:
    form = CaseRefForm(request.POST, prefix=prefix)
    other = None
    if form.is_valid():
        try:
            other = selectors.case_get(actor=request.user, pk=form.cleaned_data["other"])
        except Http404:
            form.add_error("other", _("No case with this number in your area."))
    return form, other


@staff_page(Perm.CASE_EDIT)
@require_POST
def case_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """The other case is folded into this one (``keep`` = this case)."""
    case = _case(request, pk)
    form, other = _other_case(request, case, "merge")
    if other is not None:
        _kept, error = _attempt(lambda: services.case_merge(actor=request.user, keep=case, drop=other))
        if not error:
            return _done(request, case, _("Case #%(id)s is merged into this case.") % {"id": other.pk})
        form.add_error(None, error)
        case.refresh_from_db()
    return _detail(request, case, status=400, merge_form=form)


@staff_page(Perm.CASE_EDIT)
@require_POST
def source_name(request: HttpRequest, pk: int) -> HttpResponse:
    """The epidemiologist names another case as where this one was infected."""
    case = _case(request, pk)
    form, other = _other_case(request, case, "source")
    if other is not None:
        note = form.cleaned_data.get("note", "")
        _link, error = _attempt(
            lambda: services.caselink_create(actor=request.user, source=other, target=case, note=note)
        )
        if not error:
            return _done(request, case, _("Case #%(id)s is named as the source.") % {"id": other.pk}, "chain")
        form.add_error(None, error)
    return _detail(request, case, status=400, source_form=form)


@staff_page(Perm.CASE_EDIT)
@require_POST
def link_delete(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    case = _case(request, pk)
    chain = _chain(request, case)
    link = next(
        (
            x
            for x in (chain.links if chain else [])
            if x.pk == link_pk and case.pk in (x.source_id, x.target_id)
        ),
        None,
    )
    if link is None:
        raise Http404
    _none, error = _attempt(lambda: services.caselink_delete(actor=request.user, link=link))
    if error:
        return _detail(request, case, status=400, error=error)
    return _done(request, case, _("The link between the cases is removed."), "chain")


# --- files --------------------------------------------------------------------------------------------


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # personal data, even masked, stays out of shared caches
    return response


@staff_page(Perm.CASE_VIEW)
@require_GET
def trajectory_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    case = _case(request, pk)
    rows = exports.trajectory_rows(case, selectors.case_trajectory(actor=request.user, case=case))
    name = f"case-{case.pk}-trajectory"
    if fmt == "xlsx":
        content = exports.to_xlsx(rows, title=_("Trajectory"))
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return _attachment(content, kind, f"{name}.xlsx")
    return _attachment(exports.to_csv(rows), "text/csv; charset=utf-8", f"{name}.csv")


@staff_page(Perm.CASE_VIEW)
@require_GET
def case_report(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    content = report.case_report_pdf(report.gather(actor=request.user, case=case))
    return _attachment(content, "application/pdf", f"case-{case.pk}-report.pdf")


# --- chains -------------------------------------------------------------------------------------------


@never_cache
@staff_page(Perm.CASE_VIEW)
@require_GET
def chains(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    now = timezone.now()
    every = selectors.chain_list(actor=user, now=now)
    linked = [c for c in every if c.size > 1]
    wanted = request.GET.get("chain", "")
    chosen = next((c for c in every if str(c.id) == wanted), None) if wanted.isdigit() else None
    shown = [chosen] if chosen else linked[: exports.GRAPH_CHAINS]
    context = {
        "chains": linked,
        "single_count": len(every) - len(linked),
        "active_count": sum(1 for c in every if c.active),
        "chosen": chosen,
        "graph": exports.chain_graph(shown),
        "graph_truncated": not chosen and len(linked) > exports.GRAPH_CHAINS,
        "split": selectors.source_split(actor=user, now=now),
        "epicurve": exports.epicurve(selectors.epicurve(actor=user, now=now)),
    }
    return render_page(request, "investigation/chains.html", context)
