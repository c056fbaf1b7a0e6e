"""The public scan pages (mobile web, no app): a phone camera opens ``/s/<token>`` from a venue's QR code.

The first visit asks name, ID number and phone (with consent) and remembers the person on that phone in a
signed cookie; later visits are one tap, for the person and the family members added on the phone. The
result is a full-screen colour page with the venue, a live clock and the door rule, so that a screenshot is
easy to tell from the real thing. Requests are rate-limited per IP and per phone number.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.checkins import selectors, services
from epigrid.checkins.forms import FamilyMemberForm, QuickCheckinForm, RegisterForm, VisitorDetailsForm
from epigrid.checkins.models import Method
from epigrid.core import health, ratelimit
from epigrid.core.errors import DomainError
from epigrid.core.middleware import client_ip
from epigrid.core.models import Person
from epigrid.core.selectors import general_rule
from epigrid.core.services import PersonInput, person_find_or_register, person_validate
from epigrid.core.signing import CodeRejected
from epigrid.places.codes import resolve_venue_code
from epigrid.places.models import Venue

PHONE_COOKIE = "epigrid_scan"
_PHONE_SALT = "epigrid.scan.phone"
_RESULT_SALT = "epigrid.scan.result"
_PHONE_COOKIE_AGE = 365 * 24 * 3600
_RESULT_MAX_AGE = 24 * 3600

DOOR_RULE_TEXT = {
    "pass": gettext_lazy("Entry allowed"),
    "restricted": gettext_lazy("Entry restricted: show this screen to the staff at the door"),
    "denied": gettext_lazy("Entry denied: please contact your community"),
}


# --- the phone's remembered people ----------------------------------------------------------------


def _phone_person_ids(request: HttpRequest) -> list[int]:
    raw = request.COOKIES.get(PHONE_COOKIE)
    if not raw:
        return []
    try:
        data = signing.loads(raw, salt=_PHONE_SALT)
    except signing.BadSignature:
        return []
    ids = data.get("p") if isinstance(data, dict) else None
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def _remember(response: HttpResponse, ids: list[int]) -> None:
    unique = list(dict.fromkeys(ids))[: 1 + int(general_rule("scan_max_family_members", 6))]
    response.set_cookie(
        PHONE_COOKIE,
        signing.dumps({"p": unique}, salt=_PHONE_SALT),
        max_age=_PHONE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.PRODUCTION,
    )


def _people_on_phone(request: HttpRequest) -> list[Person]:
    ids = _phone_person_ids(request)
    own = getattr(request.user, "person_id", None)
    if own and own not in ids:
        ids = [own, *ids]
    return selectors.people_by_ids(ids)


# --- helpers --------------------------------------------------------------------------------------


def _retention_days() -> int:
    return int(general_rule("checkin_retention_days", 28))


def _rejected(request: HttpRequest, err: DomainError, *, status: int = 400) -> HttpResponse:
    return render(
        request,
        "checkins/scan/error.html",
        {"message": err.message, "reason": getattr(err, "reason", "")},
        status=status,
    )


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "checkins/scan/error.html",
        {"message": _("Too many attempts. Please wait a minute and try again."), "reason": "rate_limited"},
        status=429,
    )


def _allowed(request: HttpRequest, phone: str = "") -> bool:
    ip_ok = ratelimit.hit(
        "scan-ip", client_ip(request), limit=int(general_rule("scan_rate_limit_per_ip_per_minute", 120))
    )
    phone_ok = not phone or ratelimit.hit(
        "scan-phone", phone, limit=int(general_rule("scan_rate_limit_per_phone_per_minute", 10))
    )
    return ip_ok and phone_ok


def _page(request: HttpRequest, token: str, venue: Venue, **extra: object) -> HttpResponse:
    people = _people_on_phone(request)
    context = {
        "token": token,
        "venue": venue,
        "people": people,
        "retention_days": _retention_days(),
        "register_form": extra.pop("register_form", None)
        or RegisterForm(initial={"client_id": uuid.uuid4()}),
        "client_id": uuid.uuid4(),
        **extra,
    }
    return render(request, "checkins/scan/scan.html", context, status=400 if extra.get("error") else 200)


def _done(token: str, checkin_ids: list[int]) -> HttpResponseRedirect:
    signed = signing.dumps({"c": checkin_ids, "t": token}, salt=_RESULT_SALT, compress=True)
    return HttpResponseRedirect(reverse("scan:done", args=[signed]))


def _person_input(data: dict) -> PersonInput:
    return PersonInput(id_number=data["id_number"], name=data["name"], phone=data.get("phone") or "")


def _find_or_register_matching(data: PersonInput) -> Person:
    """The registered person with this document — only if the name matches too — or a new registration."""
    valid = person_validate(data)
    person, created = person_find_or_register(actor=None, data=data)
    if not created and person.name.strip() != valid.name:
        raise DomainError(_("The name does not match the name registered for this ID number."), field="name")
    return person


# --- views ----------------------------------------------------------------------------------------


@never_cache
@require_GET
def scan(request: HttpRequest, token: str) -> HttpResponse:
    if not _allowed(request):
        return _too_many(request)
    try:
        venue = resolve_venue_code(token)
    except CodeRejected as err:
        return _rejected(request, err)
    return _page(request, token, venue)


@never_cache
@require_POST
def register(request: HttpRequest, token: str) -> HttpResponse:
    """First scan on this phone: register (or recognise) the person and check them in at once."""
    try:
        venue = resolve_venue_code(token)
    except CodeRejected as err:
        return _rejected(request, err)
    form = RegisterForm(request.POST)
    if not _allowed(request, phone=request.POST.get("phone", "")):
        return _too_many(request)
    if not form.is_valid():
        return _page(
            request, token, venue, register_form=form, error=_("Please fill in every field and agree.")
        )
    try:
        person = _find_or_register_matching(_person_input(form.cleaned_data))
        result = services.checkin_record(
            actor=None,
            venue=venue,
            person=person,
            client_id=form.cleaned_data["client_id"],
            method=Method.SELF,
        )
    except DomainError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return _page(request, token, venue, register_form=form, error=err.message)
    response = _done(token, [result.checkin.pk])
    _remember(response, [person.pk, *_phone_person_ids(request)])
    return response


@never_cache
@require_POST
def quick_checkin(request: HttpRequest, token: str) -> HttpResponse:
    """One tap: check in the chosen people remembered on this phone."""
    if not _allowed(request):
        return _too_many(request)
    try:
        venue = resolve_venue_code(token)
    except CodeRejected as err:
        return _rejected(request, err)
    people = {p.pk: p for p in _people_on_phone(request)}
    form = QuickCheckinForm(request.POST, person_ids=list(people))
    if not form.is_valid():
        return _page(request, token, venue, error=_("Choose who is checking in."))
    base = form.cleaned_data["client_id"]
    ids = []
    try:
        for position, person_id in enumerate(form.cleaned_data["persons"]):
            result = services.checkin_record(
                actor=None,
                venue=venue,
                person=people[person_id],
                # one client id per person, derived so that a repeated tap repeats nothing
                client_id=uuid.uuid5(base, str(person_id)),
                method=Method.SELF if position == 0 else Method.FAMILY,
            )
            ids.append(result.checkin.pk)
    except DomainError as err:
        return _page(request, token, venue, error=err.message)
    return _done(token, ids)


@never_cache
@require_http_methods(["GET", "POST"])
def add_family_member(request: HttpRequest, token: str) -> HttpResponse:
    try:
        venue = resolve_venue_code(token)
    except CodeRejected as err:
        return _rejected(request, err)
    existing = _phone_person_ids(request)
    form = FamilyMemberForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if not _allowed(request, phone=request.POST.get("phone", "")):
            return _too_many(request)
        if not existing:
            error = _("Register yourself first.")
        elif form.is_valid():
            try:
                member = _find_or_register_matching(_person_input(form.cleaned_data))
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
                error = err.message
            else:
                response = HttpResponseRedirect(reverse("scan:scan", args=[token]))
                _remember(response, [*existing, member.pk])
                return response
    context = {"venue": venue, "token": token, "form": form, "error": error}
    return render(request, "checkins/scan/family.html", context, status=400 if error else 200)


@require_POST
def forget_phone(request: HttpRequest, token: str) -> HttpResponse:
    """Forget everyone remembered on this phone (a shared or handed-on phone)."""
    response = HttpResponseRedirect(reverse("scan:scan", args=[token]))
    response.delete_cookie(PHONE_COOKIE, samesite="Lax")
    return response


@never_cache
@require_GET
def done(request: HttpRequest, signed: str) -> HttpResponse:
    """The colour screen after a check-in: venue, live clock, each person's colour and the door rule."""
    try:
        data = signing.loads(signed, salt=_RESULT_SALT, max_age=_RESULT_MAX_AGE)
    except signing.BadSignature:
        return _rejected(
            request, DomainError(_("This result link is not valid any more. Scan the venue code again."))
        )
    checkins = selectors.checkins_by_ids([i for i in data.get("c", []) if isinstance(i, int)])
    if not checkins:
        return _rejected(
            request, DomainError(_("This result link is not valid any more. Scan the venue code again."))
        )
    colours = health.colours_for([c.person_id for c in checkins])
    door_rule = general_rule("door_rule", {}) or {}
    rows = [
        {
            "checkin": c,
            "name": c.person.name_masked,
            "colour": colours[c.person_id].colour,
            "reason": colours[c.person_id].reason,
            "door": DOOR_RULE_TEXT.get(door_rule.get(colours[c.person_id].colour, "pass"), ""),
        }
        for c in checkins
    ]
    order = {"red": 0, "yellow": 1, "green": 2}
    worst = min((r["colour"] for r in rows), key=lambda colour: order.get(colour, 3))
    context = {"rows": rows, "venue": checkins[0].venue, "colour": worst, "token": data.get("t", "")}
    return render(request, "checkins/scan/done.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def visitor_invite(request: HttpRequest, invite_token: str) -> HttpResponse:
    """The visitor's own page from the host's invitation link: fill in name, ID number and phone."""
    visit = selectors.visit_by_invite(token=invite_token)
    form = VisitorDetailsForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if not _allowed(request, phone=request.POST.get("phone", "")):
            return _too_many(request)
        if form.is_valid():
            try:
                services.visit_fill_in(visit=visit, data=_person_input(form.cleaned_data))
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
                error = err.message
            else:
                return HttpResponseRedirect(request.path)
        else:
            error = _("Please fill in every field and agree.")
    context = {"visit": visit, "form": form, "error": error, "retention_days": _retention_days()}
    return render(request, "checkins/scan/visitor.html", context, status=400 if error else 200)
