"""Venue pages for staff and venue operators: the registry, applications and decisions, the venue's code and
posters.

Reads go through ``places.selectors`` (and ``checkins.selectors`` for occupancy, check-ins and scanners),
writes through the services. Out-of-scope venues answer 404 like missing ones; a service's ``Forbidden``
becomes the 403 page, any other ``DomainError`` a message on the page.
"""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.checkins import selectors as checkin_selectors
from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import is_htmx, paginate, query_without_page, render_page, staff_page
from epigrid.core.models import OrgLevel, User
from epigrid.core.roles import Perm, has_perm
from epigrid.places import posters, selectors, services
from epigrid.places.codes import venue_code_url
from epigrid.places.forms import (
    CommunityPostersForm,
    VenueApplyForm,
    VenueDecisionForm,
    VenueFilterForm,
    VenueReissueForm,
    VenueSuspendForm,
    VenueUpdateForm,
)
from epigrid.places.models import Venue, VenueStatus

VENUE_PAGE_PERMS = (Perm.VENUE_VIEW, Perm.VENUE_APPLY)
RECENT_CHECKINS = 20


def base_url(request: HttpRequest) -> str:
    """Where the platform is reachable for a phone camera: settings.PUBLIC_URL wins inside codes.py."""
    return request.build_absolute_uri("/").rstrip("/")


def _forbidden(err: Forbidden) -> PermissionDenied:
    return PermissionDenied(err.message)


def _qr_svg(text: str) -> str:
    # segno writes the SVG itself from the URL; no user-controlled markup reaches it.
    return segno.make(text, error="m").svg_inline(scale=4, border=4, title="")


def _may_decide(user: User) -> bool:
    return has_perm(user, Perm.VENUE_APPROVE)


# --- list and decisions ---------------------------------------------------------------------------


@staff_page(any_of=VENUE_PAGE_PERMS)
@require_GET
def venue_list(request: HttpRequest) -> HttpResponse:
    form = VenueFilterForm(request.GET or None)
    venues = selectors.venue_list(actor=request.user, **form.selector_kwargs())
    status = form.cleaned_data.get("status", "") if form.is_bound and form.is_valid() else ""
    can_decide = _may_decide(request.user)
    context = {
        "form": form,
        "page": paginate(request, venues),
        "query": query_without_page(request),
        "pending_view": status == VenueStatus.PENDING,
        "can_decide": can_decide,
        "can_apply": has_perm(request.user, Perm.VENUE_APPLY),
        "can_posters": has_perm(request.user, Perm.VENUE_VIEW),
        "pending_count": (
            selectors.venue_list(actor=request.user, status=VenueStatus.PENDING).count() if can_decide else 0
        ),
        "decision_form": VenueDecisionForm(),
    }
    return render_page(request, "places/venue_list.html", context, partial="results")


def _decision_response(
    request: HttpRequest, venue: Venue, *, error: str = "", done: str = ""
) -> HttpResponse:
    """HTMX: the venue's row, replaced in place (200 even on error, because HTMX swaps only 2xx).
    Otherwise: back to where the form was, with the message."""
    if is_htmx(request):
        return render_page(
            request,
            "places/venue_list.html",
            {
                "venue": venue,
                "row_error": error,
                "row_done": done,
                "can_decide": True,
                "pending_view": True,
                "decision_form": VenueDecisionForm(),
            },
            partial="venue_row",
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("places:venue_detail", pk=venue.pk)


@staff_page(Perm.VENUE_APPROVE)
@require_POST
def venue_approve(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.venue_get(actor=request.user, pk=pk)
    form = VenueDecisionForm(request.POST)
    form.is_valid()
    try:
        venue = services.venue_approve(
            actor=request.user,
            venue=venue,
            is_key_place=form.cleaned_data.get("is_key_place", False),
            note=form.cleaned_data.get("note", ""),
        )
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return _decision_response(request, venue, error=err.message)
    return _decision_response(
        request, venue, done=_("%(venue)s is approved; its code is issued.") % {"venue": venue.name}
    )


@staff_page(Perm.VENUE_APPROVE)
@require_POST
def venue_reject(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.venue_get(actor=request.user, pk=pk)
    form = VenueDecisionForm(request.POST)
    form.is_valid()
    try:
        venue = services.venue_reject(actor=request.user, venue=venue, note=form.cleaned_data.get("note", ""))
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return _decision_response(request, venue, error=err.message)
    return _decision_response(request, venue, done=_("%(venue)s is rejected.") % {"venue": venue.name})


# --- application ----------------------------------------------------------------------------------


@staff_page(Perm.VENUE_APPLY)
@require_http_methods(["GET", "POST"])
def venue_apply(request: HttpRequest) -> HttpResponse:
    form = VenueApplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                venue = services.venue_apply(
                    actor=request.user, data=services.VenueInput(**form.cleaned_data)
                )
            except Forbidden as err:
                raise _forbidden(err) from None
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                messages.success(
                    request,
                    _("The application for %(venue)s is submitted; the community will decide on it.")
                    % {"venue": venue.name},
                )
                return redirect("places:venue_detail", pk=venue.pk)
        status = 400
    map_config = {
        "center": list(settings.MAP_CENTER),
        "tileUrl": getattr(settings, "MAP_TILE_URL", ""),
        "tileAttribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }
    return render_page(
        request,
        "places/venue_apply.html",
        {"form": form, "map_config": map_config, "grids": core_selectors.orgunit_geojson(actor=request.user)},
        status=status,
    )


# --- detail and its actions -----------------------------------------------------------------------


def _detail_context(request: HttpRequest, venue: Venue, **extra: Any) -> dict:
    user: User = request.user
    is_operator = venue.operator_id == user.pk
    can_decide = _may_decide(user)
    can_manage_kiosks = is_operator or can_decide
    context = {
        "venue": venue,
        "present": checkin_selectors.venue_present_count(venue=venue),
        "is_operator": is_operator,
        "can_decide": can_decide,
        "can_edit": is_operator or can_decide,
        "qr_svg": mark_safe(_qr_svg(venue_code_url(venue, base_url=base_url(request))))
        if venue.has_code
        else "",
        "code_url": venue_code_url(venue, base_url=base_url(request)) if venue.has_code else "",
        "checkins": (
            list(checkin_selectors.checkin_list(actor=user, venue=venue)[:RECENT_CHECKINS])
            if has_perm(user, Perm.CHECKIN_VIEW)
            else None
        ),
        "kiosks": list(checkin_selectors.kiosk_list(actor=user, venue=venue).order_by("-active", "name")),
        "can_manage_kiosks": can_manage_kiosks,
        "update_form": VenueUpdateForm(
            initial={"capacity": venue.capacity, "is_key_place": venue.is_key_place}
        ),
        "reissue_form": VenueReissueForm(),
        "suspend_form": VenueSuspendForm(),
        "decision_form": VenueDecisionForm(initial={"is_key_place": venue.is_key_place}),
    }
    context.update(extra)
    return context


@staff_page(any_of=VENUE_PAGE_PERMS)
@require_GET
def venue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.venue_get(actor=request.user, pk=pk)
    return render_page(request, "places/venue_detail.html", _detail_context(request, venue))


def _detail_with_error(request: HttpRequest, venue: Venue, error: str, **forms: Any) -> HttpResponse:
    return render_page(
        request, "places/venue_detail.html", _detail_context(request, venue, error=error, **forms), status=400
    )


@staff_page(any_of=VENUE_PAGE_PERMS)
@require_GET
def venue_poster(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.venue_get(actor=request.user, pk=pk)
    if not venue.has_code:
        messages.error(request, _("This venue has no valid code (not approved, or suspended)."))
        return redirect("places:venue_detail", pk=venue.pk)
    pdf = posters.posters_pdf([venue], base_url=base_url(request))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="venue-{venue.pk}.pdf"'
    return response


@staff_page(Perm.VENUE_APPROVE)
@require_POST
def venue_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.venue_get(actor=request.user, pk=pk)
    form = VenueReissueForm(request.POST)
    if not form.is_valid():
        return _detail_with_error(
            request, venue, _("Tick the box to confirm the re-issue."), reissue_form=form
        )
    try:
        venue = services.venue_code_reissue(
            actor=request.user, venue=venue, reason=form.cleaned_data["reason"]
        )
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return _detail_with_error(request, venue, err.message, reissue_form=form)
    messages.success(
        request,
        _("A new code (version %(n)d) is issued; earlier codes no longer work. Print the new poster.")
        % {"n": venue.code_version},
    )
    return redirect("places:venue_detail", pk=venue.pk)


@staff_page(Perm.VENUE_APPROVE)
@require_POST
def venue_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.venue_get(actor=request.user, pk=pk)
    form = VenueSuspendForm(request.POST)
    if not form.is_valid():
        return _detail_with_error(request, venue, _("Say why the venue is suspended."), suspend_form=form)
    try:
        venue = services.venue_suspend(actor=request.user, venue=venue, reason=form.cleaned_data["reason"])
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return _detail_with_error(request, venue, err.message, suspend_form=form)
    messages.success(request, _("%(venue)s is suspended; its code is refused.") % {"venue": venue.name})
    return redirect("places:venue_detail", pk=venue.pk)


@staff_page(any_of=VENUE_PAGE_PERMS)
@require_POST
def venue_update(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.venue_get(actor=request.user, pk=pk)
    form = VenueUpdateForm(request.POST)
    if not form.is_valid():
        return _detail_with_error(request, venue, _("Check the capacity."), update_form=form)
    try:
        venue = services.venue_update(
            actor=request.user,
            venue=venue,
            capacity=form.cleaned_data["capacity"],
            # Only the community marks key places; an operator's form has no such box.
            is_key_place=form.cleaned_data["is_key_place"] if _may_decide(request.user) else None,
        )
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return _detail_with_error(request, venue, err.message, update_form=form)
    messages.success(request, _("The venue is updated."))
    return redirect("places:venue_detail", pk=venue.pk)


# --- bulk posters ---------------------------------------------------------------------------------


@staff_page(Perm.VENUE_VIEW)
@require_GET
def community_posters(request: HttpRequest) -> HttpResponse:
    """One poster page per approved venue of a community in scope (or of the actor's whole area)."""
    user: User = request.user
    # The actor's whole area first, then each community in it (a grid worker has only their grid).
    communities = core_selectors.orgunit_list(actor=user, level=OrgLevel.COMMUNITY)
    own = [user.org_unit] if user.org_unit_id else []
    units = own + [unit for unit in communities if unit.pk != user.org_unit_id]
    form = CommunityPostersForm(request.GET or None, units=units)
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["unit"]
        venues = selectors.venue_list(actor=user, status=VenueStatus.APPROVED).filter(
            org_code__startswith=code
        )
        pdf = posters.posters_pdf(venues, base_url=base_url(request))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="venues-{code}.pdf"'
        return response
    counts = {
        unit.code: selectors.venue_list(actor=user, status=VenueStatus.APPROVED)
        .filter(org_code__startswith=unit.code)
        .count()
        for unit in units
    }
    rows = [{"unit": unit, "approved": counts[unit.code]} for unit in units]
    return render_page(
        request,
        "places/community_posters.html",
        {"form": form, "rows": rows},
        status=400 if form.is_bound else 200,
    )
