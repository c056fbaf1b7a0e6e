"""Signing in with a phone number and a one-time code: number → code → (whose account) → the portal.

Step 1 answers the same for every well-formed number ("if the number is registered, a code has been sent"),
and the limits answer the same too (``portal.services.login``). After the code, the persons registered with
the number are the choice (a parent and their children); the verified choice waits in the session for a few
minutes and is the only credential of the last step. ``login()`` rotates the session key.

In the demo, with the console SMS backend and no gateway, the page shows the text message it just sent, so
that whoever tries the demo can sign in; that never happens in production mode.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from epigrid.core import ratelimit, sms
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.identity import IdentityError, normalize_phone
from epigrid.core.masking import mask_phone
from epigrid.core.middleware import client_ip
from epigrid.core.models import Person
from epigrid.core.roles import is_staff_role
from epigrid.core.selectors import general_rule
from epigrid.portal import selectors
from epigrid.portal.forms import CodeForm, PhoneForm
from epigrid.portal.services.login import (
    LockedOut,
    TooManyRequests,
    login_account_for,
    login_code_request,
    login_code_verify,
    rule,
)

SESSION_CHOICE = "portal_login_choice"
CHOICE_SECONDS = 300  # how long the verified choice of accounts waits
POSTS_PER_IP_PER_MINUTE = 60  # a flood guard in front of the exact limits of the services
BACKEND = "django.contrib.auth.backends.ModelBackend"
TEMPLATE = "portal/login.html"


def _next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _page(request: HttpRequest, step: str, *, status: int = 200, **context: Any) -> HttpResponse:
    context.update({"step": step, "next": _next(request), "code_minutes": rule("portal_login_code_minutes")})
    return render(request, TEMPLATE, context, status=status)


def _newest_sms(number: str) -> sms.SentSms | None:
    return next((m for m in reversed(sms.outbox) if m.to == number), None)


def _demo_messages(number: str, before: sms.SentSms | None) -> list[str]:
    """The text sent to ``number`` by this request, when the demo has no gateway to send it."""
    if settings.PRODUCTION or getattr(settings, "SMS_BACKEND", "console") != "console":
        return []
    newest = _newest_sms(number)
    return [newest.text] if newest is not None and newest is not before else []


def _code_step(request: HttpRequest, number: str, *, status: int = 200, **context: Any) -> HttpResponse:
    form = context.pop("form", None) or CodeForm(initial={"phone": number})
    return _page(request, "code", status=status, form=form, phone_masked=mask_phone(number), **context)


def _request_code(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST)
    if not form.is_valid():
        return _page(request, "phone", status=400, form=form)
    number = form.cleaned_data["phone"]
    try:
        before = _newest_sms(normalize_phone(number))
    except IdentityError:
        before = None  # the service says what is wrong with the number
    try:
        login_code_request(phone=number, ip=client_ip(request))
    except LockedOut as err:
        return _page(request, "phone", status=429, form=form, error=err.message)
    except TooManyRequests as err:
        # The earlier code may still be on its way: the code step, with the reason no new one was sent.
        return _code_step(request, normalize_phone(number), status=429, warning=err.message)
    except DomainError as err:
        form.add_error("phone" if err.field == "phone" else None, err.message)
        return _page(request, "phone", status=400, form=form)
    number = normalize_phone(number)
    return _code_step(request, number, sent=True, demo_messages=_demo_messages(number, before))


def _verify(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if not form.is_valid():
        if "phone" in form.errors:
            return redirect(reverse("portal:login"))
        return _code_step(request, form.data.get("phone", ""), status=400, form=form)
    number = form.cleaned_data["phone"]
    try:
        persons = login_code_verify(phone=number, code=form.cleaned_data["code"], ip=client_ip(request))
    except LockedOut as err:
        return _page(request, "phone", status=429, form=PhoneForm(), error=err.message)
    except DomainError as err:
        if err.field == "phone":
            return redirect(reverse("portal:login"))
        return _code_step(request, normalize_phone(number), status=400, error=err.message)
    if len(persons) == 1:
        return _sign_in(request, persons[0])
    request.session[SESSION_CHOICE] = {"ids": [p.pk for p in persons], "at": time.time()}
    return _page(request, "choose", persons=persons)


def _choose(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(SESSION_CHOICE) or {}
    if not pending or time.time() - pending.get("at", 0) > CHOICE_SECONDS:
        request.session.pop(SESSION_CHOICE, None)
        messages.error(request, _("The sign-in took too long. Please start again."))
        return redirect(reverse("portal:login"))
    chosen = request.POST.get("person", "")
    ids = [int(pk) for pk in pending.get("ids", [])]
    if not chosen.isdigit() or int(chosen) not in ids:
        persons = selectors.login_choices(person_ids=ids)
        return _page(request, "choose", status=400, persons=persons, error=_("Choose whose account to open."))
    person = selectors.login_choices(person_ids=[int(chosen)])[0]
    return _sign_in(request, person)


def _sign_in(request: HttpRequest, person: Person) -> HttpResponse:
    try:
        user = login_account_for(person=person)
    except Forbidden as err:
        request.session.pop(SESSION_CHOICE, None)
        return _page(request, "phone", status=403, form=PhoneForm(), error=err.message)
    request.session.pop(SESSION_CHOICE, None)
    login(request, user, backend=BACKEND)  # rotates the session key
    return redirect(_next(request) or reverse("portal:home"))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_phone(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if request.user.is_authenticated:
            home = "core:home" if is_staff_role(request.user.role) else "portal:home"
            return redirect(_next(request) or reverse(home))
        request.session.pop(SESSION_CHOICE, None)
        return _page(request, "phone", form=PhoneForm())
    limit = int(general_rule("portal_login_posts_per_ip_per_minute", POSTS_PER_IP_PER_MINUTE))
    if not ratelimit.hit("portal-login-ip", client_ip(request), limit=limit):
        return _page(
            request,
            "phone",
            status=429,
            form=PhoneForm(),
            error=_("Too many attempts. Please wait a minute and try again."),
        )
    step = request.POST.get("step", "phone")
    if step == "code":
        return _verify(request)
    if step == "choose":
        return _choose(request)
    return _request_code(request)
