"""Check-in pages for staff and venue operators: live occupancy, venue scanners (kiosks) and visitor
registration (访客登记).

Reads go through the selectors, writes through the services. Visitor registration is for the operators of
enterprises, office buildings and construction sites and for local staff who record check-ins in their
area: accounts with both ``checkin.record`` and ``venue.apply`` (a door scanner has only the first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.checkins import selectors, services
from epigrid.checkins.models import VisitorRegistration, VisitStatus
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import is_htmx, paginate, query_without_page, render_page, staff_page
from epigrid.core.identity import IdType
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.services import PersonInput
from epigrid.places import selectors as place_selectors
from epigrid.places.models import VISITOR_TYPES, Venue, VenueStatus

VENUE_PAGE_PERMS = (Perm.VENUE_VIEW, Perm.VENUE_APPLY)
OCCUPANCY_ROWS = 200


# Staff pages for accounts that host visitors: checkin.record and venue.apply.
visit_page = staff_page(Perm.CHECKIN_RECORD, any_of=(Perm.VENUE_APPLY,))


def _forbidden(err: Forbidden) -> PermissionDenied:
    return PermissionDenied(err.message)


# --- forms ----------------------------------------------------------------------------------------


def visit_venues(user: User):
    """Approved venues the actor may register visitors for (enterprises, offices, construction sites)."""
    return place_selectors.venue_list(actor=user, status=VenueStatus.APPROVED).filter(type__in=VISITOR_TYPES)


class _VenueChoiceForm(forms.Form):
    venue = forms.ModelChoiceField(
        label=gettext_lazy("Venue"), queryset=Venue.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["venue"].queryset = visit_venues(user)


class VisitInviteForm(_VenueChoiceForm):
    host_name = forms.CharField(label=gettext_lazy("Host"), max_length=50)
    host_phone = forms.CharField(
        label=gettext_lazy("Host phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    purpose = forms.CharField(label=gettext_lazy("Purpose"), max_length=200)
    expected_at = forms.DateTimeField(
        label=gettext_lazy("Expected arrival"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


class VisitorDetailsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Visitor's name"), max_length=50)
    id_number = forms.CharField(
        label=gettext_lazy("ID number"), max_length=30, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=gettext_lazy("Visitor's phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )

    def person_input(self) -> PersonInput:
        data = self.cleaned_data
        return PersonInput(
            id_number=data["id_number"].strip(),
            name=data["name"].strip(),
            phone=data["phone"].strip(),
            id_type=IdType.RESIDENT,
        )


class VisitWalkInForm(VisitInviteForm, VisitorDetailsForm):
    field_order = ["venue", "name", "id_number", "phone", "host_name", "host_phone", "purpose"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["expected_at"]


def _add_domain_error(form: forms.Form, err: DomainError) -> None:
    form.add_error(err.field if err.field in form.fields else None, err.message)


# --- occupancy ------------------------------------------------------------------------------------


@staff_page(Perm.CHECKIN_VIEW)
@require_GET
@never_cache
def occupancy(request: HttpRequest) -> HttpResponse:
    key_places = request.GET.get("key_places") in ("1", "on", "true")
    rows = selectors.occupancy(actor=request.user, key_places_only=key_places)
    context = {
        # Fullest first; a district has thousands of venues and the table refreshes every 30 s.
        "rows": rows[:OCCUPANCY_ROWS],
        "hidden_rows": max(0, len(rows) - OCCUPANCY_ROWS),
        "venue_count": len(rows),
        "key_places": key_places,
        "total_present": sum(row["present"] for row in rows),
        "over_count": sum(1 for row in rows if row["over_capacity"]),
    }
    return render_page(request, "checkins/staff/occupancy.html", context, partial="table")


# --- scanners (kiosks) ----------------------------------------------------------------------------


def _kiosk_context(request: HttpRequest, venue: Venue, **extra: Any) -> dict:
    user: User = request.user
    return {
        "venue": venue,
        "kiosks": list(selectors.kiosk_list(actor=user, venue=venue).order_by("-active", "name")),
        "can_manage_kiosks": venue.operator_id == user.pk or user_may_decide(user),
        **extra,
    }


def user_may_decide(user: User) -> bool:
    return has_perm(user, Perm.VENUE_APPROVE)


@staff_page(any_of=VENUE_PAGE_PERMS)
@require_POST
@never_cache
def kiosk_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a scanner; its token is shown once, on the response to this request, and never again."""
    venue = place_selectors.venue_get(actor=request.user, pk=pk)
    name = (request.POST.get("name") or "").strip() or _("Door scanner")
    try:
        kiosk, token = services.kiosk_create(actor=request.user, venue=venue, name=name)
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        if is_htmx(request):
            return render_page(
                request,
                "checkins/staff/_kiosks.html",
                _kiosk_context(request, venue, kiosk_error=err.message),
            )
        messages.error(request, err.message)
        return redirect("places:venue_detail", pk=venue.pk)
    context = _kiosk_context(request, venue, new_kiosk=kiosk, new_token=token)
    template = "checkins/staff/_kiosks.html" if is_htmx(request) else "checkins/staff/kiosk_created.html"
    return render_page(request, template, context)


@staff_page(any_of=VENUE_PAGE_PERMS)
@require_POST
def kiosk_deactivate(request: HttpRequest, pk: int, kiosk_pk: int) -> HttpResponse:
    venue = place_selectors.venue_get(actor=request.user, pk=pk)
    kiosk = selectors.kiosk_list(actor=request.user, venue=venue).filter(pk=kiosk_pk).first()
    if kiosk is None:
        raise Http404
    try:
        services.kiosk_deactivate(actor=request.user, kiosk=kiosk)
    except Forbidden as err:
        raise _forbidden(err) from None
    if is_htmx(request):
        return render_page(request, "checkins/staff/_kiosks.html", _kiosk_context(request, venue))
    messages.success(request, _("The scanner %(name)s is switched off.") % {"name": kiosk.name})
    return redirect("places:venue_detail", pk=venue.pk)


# --- visitor registration -------------------------------------------------------------------------


def invite_url(request: HttpRequest, visit: VisitorRegistration) -> str:
    return request.build_absolute_uri(f"/v/{visit.invite_token}")


@visit_page
@require_GET
def visit_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    visits = selectors.visit_list(actor=request.user)
    if status in VisitStatus.values:
        visits = visits.filter(status=status)
    context = {
        "page": paginate(request, visits),
        "query": query_without_page(request),
        "status": status,
        "statuses": VisitStatus.choices,
        "has_venues": visit_venues(request.user).exists(),
    }
    return render_page(request, "checkins/staff/visit_list.html", context, partial="results")


def _visit_form(
    request: HttpRequest,
    form_class: type,
    *,
    walk_in: bool,
    save: Callable[[User, dict, Any], Any],
    done: str,
) -> HttpResponse:
    """The invite and walk-in forms: the same handling, another service call and message."""
    user: User = request.user
    form = form_class(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                visit = save(user, form.cleaned_data, form)
            except Forbidden as err:
                raise _forbidden(err) from None
            except DomainError as err:
                _add_domain_error(form, err)
            else:
                messages.success(request, done)
                return redirect("checkins:visit_detail", pk=visit.pk)
        status = 400
    return render_page(
        request, "checkins/staff/visit_form.html", {"form": form, "walk_in": walk_in}, status=status
    )


@visit_page
@require_http_methods(["GET", "POST"])
def visit_new(request: HttpRequest) -> HttpResponse:
    return _visit_form(
        request,
        VisitInviteForm,
        walk_in=False,
        save=lambda user, data, _form: services.visit_invite(
            actor=user,
            venue=data["venue"],
            host_name=data["host_name"],
            host_phone=data["host_phone"],
            purpose=data["purpose"],
            expected_at=data["expected_at"],
        ),
        done=_("The visit is registered. Send the invitation link to the visitor."),
    )


@visit_page
@require_http_methods(["GET", "POST"])
def visit_walk_in(request: HttpRequest) -> HttpResponse:
    return _visit_form(
        request,
        VisitWalkInForm,
        walk_in=True,
        save=lambda user, data, form: services.visit_walk_in(
            actor=user,
            venue=data["venue"],
            host_name=data["host_name"],
            host_phone=data["host_phone"],
            purpose=data["purpose"],
            data=form.person_input(),
        ),
        done=_("The visitor is registered and checked in."),
    )


def _visit_page(
    request: HttpRequest,
    visit: VisitorRegistration,
    *,
    details_form: VisitorDetailsForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "visit": visit,
        "invite_url": invite_url(request, visit),
        "details_form": details_form or VisitorDetailsForm(),
        "error": error,
    }
    return render_page(request, "checkins/staff/visit_detail.html", context, status=status)


@visit_page
@require_GET
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _visit_page(request, selectors.visit_get(actor=request.user, pk=pk))


@visit_page
@require_POST
def visit_arrive(request: HttpRequest, pk: int) -> HttpResponse:
    """The visitor is at the door. Without details filled in through the link, the form asks for them."""
    visit = selectors.visit_get(actor=request.user, pk=pk)
    data = None
    details_form = None
    if visit.visitor_id is None:
        details_form = VisitorDetailsForm(request.POST)
        if not details_form.is_valid():
            return _visit_page(request, visit, details_form=details_form, status=400)
        data = details_form.person_input()
    try:
        services.visit_arrive(actor=request.user, visit=visit, data=data)
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        visit = selectors.visit_get(actor=request.user, pk=pk)
        if details_form is not None:
            _add_domain_error(details_form, err)
        return _visit_page(request, visit, details_form=details_form, error=err.message, status=400)
    messages.success(request, _("The visitor has arrived and is checked in."))
    return redirect(request.POST.get("next") if _local(request.POST.get("next")) else "checkins:visit_list")


@visit_page
@require_POST
def visit_leave(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_get(actor=request.user, pk=pk)
    try:
        services.visit_leave(actor=request.user, visit=visit)
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        return _visit_page(request, visit, error=err.message, status=400)
    messages.success(request, _("The visitor has left; the check-out is recorded."))
    return redirect(request.POST.get("next") if _local(request.POST.get("next")) else "checkins:visit_list")


def _local(url: str | None) -> bool:
    return bool(url) and url.startswith("/") and not url.startswith("//") and "\\" not in url
