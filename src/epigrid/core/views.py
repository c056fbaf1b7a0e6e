"""Pages of the shared kernel.

Views read through ``selectors`` (scope fails closed: out of scope is 404) and write only through
``services``; a service's ``Forbidden`` becomes a 403 page, any other ``DomainError`` a message on the page.
A view that serves both a page and an HTMX partial renders ``template#partial`` for HTMX requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import pyotp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from epigrid.core import selectors, services
from epigrid.core.audit import audit_verify_chain
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.forms import AuditSearchForm, LoginForm, PersonSearchForm, ResponseLevelForm, TotpCodeForm
from epigrid.core.htmx import (
    is_htmx,
    paginate,
    query_without_page,
    render_page,
    require_perm,
    staff_page,
)
from epigrid.core.models import OrgLevel, Person, ResponseLevel, User
from epigrid.core.roles import Perm, has_perm, is_staff_role

# Two-step login: how long the second step waits for the code, and how many codes it accepts before the
# password has to be entered again.
TOTP_PENDING_SECONDS = 300
TOTP_MAX_ATTEMPTS = 5
SESSION_PENDING_LOGIN = "epigrid_login_pending"
SESSION_PENDING_TOTP_SECRET = "epigrid_totp_pending_secret"


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "error", "detail": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


# --- helpers ---------------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("core:home")


# --- login, logout, two-step login ----------------------------------------------------------------


def _pending_user(request: HttpRequest) -> User | None:
    """The account that passed the password step and now owes a code, if the step has not expired."""
    pending = request.session.get(SESSION_PENDING_LOGIN)
    if not pending or time.time() - pending.get("at", 0) > TOTP_PENDING_SECONDS:
        request.session.pop(SESSION_PENDING_LOGIN, None)
        return None
    user = User.objects.filter(pk=pending.get("user_id"), is_active=True).first()
    if user is None or not user.totp_enabled:
        request.session.pop(SESSION_PENDING_LOGIN, None)
        return None
    user.backend = pending["backend"]
    return user


@sensitive_post_parameters("password", "code")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    """Step 1: user name and password. Step 2 (accounts with two-step login): the 6-digit code."""
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "GET":
        if request.user.is_authenticated:
            return redirect(_safe_next(request, next_url))
        request.session.pop(SESSION_PENDING_LOGIN, None)
        return render(request, "core/login.html", {"form": LoginForm(), "step": "password", "next": next_url})

    if request.POST.get("step") == "code":
        user = _pending_user(request)
        if user is None:
            messages.error(request, _("The sign-in took too long. Please enter your password again."))
            return redirect(f"{reverse('core:login')}?next={next_url}" if next_url else reverse("core:login"))
        form = TotpCodeForm(request.POST)
        if form.is_valid() and services.totp_verify(user=user, code=form.cleaned_data["code"]):
            request.session.pop(SESSION_PENDING_LOGIN, None)
            login(request, user)
            return redirect(_safe_next(request, next_url))
        pending = request.session[SESSION_PENDING_LOGIN]
        pending["attempts"] = pending.get("attempts", 0) + 1
        if pending["attempts"] >= TOTP_MAX_ATTEMPTS:
            request.session.pop(SESSION_PENDING_LOGIN, None)
            messages.error(request, _("Too many wrong codes. Please enter your password again."))
            return redirect(reverse("core:login"))
        request.session[SESSION_PENDING_LOGIN] = pending
        form = TotpCodeForm()
        return render(
            request,
            "core/login.html",
            {"form": form, "step": "code", "next": next_url, "error": _("The code is not correct.")},
            status=400,
        )

    form = LoginForm(request.POST)
    user = None
    if form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
    if user is None or not user.is_active:
        return render(
            request,
            "core/login.html",
            {
                "form": LoginForm(initial={"username": request.POST.get("username", "")}),
                "step": "password",
                "next": next_url,
                "error": _("Wrong user name or password."),
            },
            status=400,
        )
    if user.totp_enabled:
        request.session[SESSION_PENDING_LOGIN] = {
            "user_id": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "attempts": 0,
        }
        return render(request, "core/login.html", {"form": TotpCodeForm(), "step": "code", "next": next_url})
    login(request, user)
    return redirect(_safe_next(request, next_url))


def _totp_qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, title="")


@staff_page()
@never_cache
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Turn on two-step login: scan the QR code, confirm with a code. The pending secret is in the session."""
    user: User = request.user
    if user.totp_enabled:
        request.session.pop(SESSION_PENDING_TOTP_SECRET, None)
        return render(request, "core/security.html", {"enabled": True})
    secret = request.session.get(SESSION_PENDING_TOTP_SECRET)
    if not secret:
        secret = services.totp_new_secret()
        request.session[SESSION_PENDING_TOTP_SECRET] = secret
    form = TotpCodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_enable(actor=user, secret=secret, code=form.cleaned_data["code"])
        except Forbidden as err:
            raise PermissionDenied(err.message) from None
        except DomainError as err:
            error = err.message
        else:
            request.session.pop(SESSION_PENDING_TOTP_SECRET, None)
            messages.success(request, _("Two-step login is on. From now on you sign in with a code as well."))
            return redirect("core:security")
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="EpiGrid")
    return render(
        request,
        "core/security.html",
        {
            "enabled": False,
            "form": form,
            "error": error,
            # segno writes the SVG itself from the URI; no user-controlled markup reaches it.
            "qr_svg": mark_safe(_totp_qr_svg(uri)),
            "secret": secret,
        },
        status=400 if error or form.errors else 200,
    )


# --- home and own record --------------------------------------------------------------------------


def _own_person(user: User) -> Person | None:
    """The resident's own Person, read through scope like everyone else's."""
    if not user.person_id:
        return None
    try:
        return selectors.person_get(actor=user, pk=user.person_id)
    except Http404:
        return None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    staff = is_staff_role(user.role)
    if not staff:  # residents land on their portal: tiles with their own code, tests, vaccinations...
        return redirect("portal:home")
    context = {
        "org_unit": user.org_unit if user.org_unit_id else None,
        "is_staff": staff,
        "person": None if staff else _own_person(user),
    }
    if staff:
        context["response_level"] = ResponseLevel(selectors.response_level_current())
    return render(request, "core/home.html", context)


@login_required
def my_record(request: HttpRequest) -> HttpResponse:
    """A resident's own record, masked. Accounts without a linked person have none (404)."""
    person = _own_person(request.user)
    if person is None:
        raise Http404
    return render(request, "core/my_record.html", {"person": person})


# --- people ---------------------------------------------------------------------------------------


@staff_page(Perm.PERSON_VIEW)
def person_list(request: HttpRequest) -> HttpResponse:
    form = PersonSearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    page = paginate(request, selectors.person_list(actor=request.user, search=q))
    context = {"form": form, "q": q, "page": page, "query": query_without_page(request)}
    return render_page(request, "core/person_list.html", context, partial="results")


def _household_members(user: User, person: Person) -> list[Person]:
    if not person.household_id:
        return []
    members = selectors.person_list(actor=user).filter(household_id=person.household_id).exclude(pk=person.pk)
    return list(members[:100])


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff need the view permission; a resident reaches only their own record (others are 404)."""
    user: User = request.user
    if is_staff_role(user.role):
        require_perm(user, Perm.PERSON_VIEW)
    person = selectors.person_get(actor=user, pk=pk)
    return render(
        request,
        "core/person_detail.html",
        {
            "person": person,
            "household_members": _household_members(user, person),
            "can_reveal": has_perm(user, Perm.PERSON_REVEAL),
        },
    )


@login_required
@require_POST
@never_cache
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The full ID number and phone as a fragment. The service checks the permission and writes the audit."""
    person = selectors.person_get(actor=request.user, pk=pk)
    fields = request.POST.getlist("fields") or list(services.REVEALABLE)
    try:
        values = services.person_reveal(actor=request.user, person=person, fields=fields)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        return render(request, "core/person_detail.html#reveal_error", {"error": err.message}, status=400)
    if is_htmx(request):
        response = render(request, "core/person_detail.html#revealed", {"person": person, "revealed": values})
    else:  # without JavaScript the form posts here: the whole page, with the values in place
        response = render(
            request,
            "core/person_detail.html",
            {
                "person": person,
                "household_members": _household_members(request.user, person),
                "can_reveal": True,
                "revealed": values,
            },
        )
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- jurisdiction map -----------------------------------------------------------------------------


@staff_page(Perm.ORGUNIT_VIEW)
def orgunit_map(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    layers = {
        "grids": selectors.orgunit_geojson(actor=user, level=OrgLevel.GRID),
        "communities": selectors.orgunit_geojson(actor=user, level=OrgLevel.COMMUNITY),
        "streets": selectors.orgunit_geojson(actor=user, level=OrgLevel.STREET),
    }
    map_config = {
        "center": list(settings.MAP_CENTER),
        "tileUrl": getattr(settings, "MAP_TILE_URL", ""),
        "tileAttribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }
    return render(
        request,
        "core/orgunit_map.html",
        {
            "layers": layers,
            "map_config": map_config,
            "units": selectors.orgunit_list(actor=user),
            "grid_count": len(layers["grids"]["features"]),
        },
    )


# --- audit ----------------------------------------------------------------------------------------


@staff_page(Perm.AUDIT_VIEW)
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    kwargs = form.search_kwargs() if form.is_bound and form.is_valid() else {}
    try:
        entries = selectors.audit_search(actor=request.user, **kwargs)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    context = {
        "form": form,
        "page": paginate(request, entries),
        "query": query_without_page(request),
        "chain": audit_verify_chain(),
    }
    return render_page(request, "core/audit_list.html", context, partial="results")


# --- disease profiles, policies, response level ---------------------------------------------------


def _param_rows(params: dict, prefix: str = "") -> Iterable[tuple[str, str]]:
    """Flatten nested policy parameters into (dotted name, readable value) rows."""
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _param_rows(value, prefix=f"{name}.")
        elif isinstance(value, bool):
            yield name, _("yes") if value else _("no")
        elif isinstance(value, list):
            yield name, ", ".join(str(v) if not isinstance(v, dict | list) else json.dumps(v) for v in value)
        else:
            yield name, str(value)


@staff_page()
@require_http_methods(["GET", "POST"])
def policy_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    can_set_level = has_perm(user, Perm.RESPONSE_LEVEL_SET)
    form = ResponseLevelForm(request.POST or None, initial={"level": selectors.response_level_current()})
    status = 200
    if request.method == "POST":
        if not can_set_level:
            raise PermissionDenied(_("Your role may not change the response level."))
        if form.is_valid():
            try:
                services.response_level_set(
                    actor=user, level=form.cleaned_data["level"], reason=form.cleaned_data["reason"]
                )
            except Forbidden as err:
                raise PermissionDenied(err.message) from None
            except DomainError as err:
                form.add_error(None, err.message)
            else:
                messages.success(request, _("The response level has been changed."))
                return redirect("core:policy_list")
        status = 400
    english = (get_language() or "").startswith("en")
    policies = [
        {
            "policy": policy,
            "disease_name": policy.disease.name_en if english else policy.disease.name_zh,
            "rows": list(_param_rows(policy.params or {})),
        }
        for policy in selectors.policy_list()
    ]
    return render(
        request,
        "core/policy_list.html",
        {
            "policies": policies,
            "response_level": ResponseLevel(selectors.response_level_current()),
            "history": selectors.response_level_history()[:50],
            "can_set_level": can_set_level,
            "form": form,
        },
        status=status,
    )
