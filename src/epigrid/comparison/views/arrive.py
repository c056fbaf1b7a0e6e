"""The arrival self-report (来返报备): a public, phone-first page for anyone arriving in the district.

No account: name, document, phone, where from (a region picked from the known regions, or typed), how, when,
where they stay, and consent. The person is found by their document number or registered, the arrival lands
in the key-region archive and sets their health-code facts (``services.archive.arrival_self_report``). The
form carries a client id, so a double tap or a resent form stores one report. Requests are rate-limited per
IP and per phone like the venue scan page. The result page shows a reference and what happens next; its
link is signed and names no person.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from django import forms
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.comparison.models import Arrival
from epigrid.comparison.services.archive import (
    RISKY,
    TRAVEL_MODES,
    ArrivalInput,
    SelfReportInput,
    arrival_self_report,
    reference,
    test_within_hours,
    travel_mode_label,
    travel_mode_value,
)
from epigrid.core import ratelimit
from epigrid.core.errors import Conflict, DomainError
from epigrid.core.identity import IdType
from epigrid.core.middleware import client_ip
from epigrid.core.selectors import general_rule
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.models import RISK_RANK, AreaKind, RiskLevel
from epigrid.healthcode.selectors import risk_areas_current

_DONE_SALT = "epigrid.arrive.done"
_DONE_MAX_AGE = 7 * 24 * 3600  # the result link works for a week
RATE_PER_IP = 60  # reports (and page loads) per minute per IP, unless the general rules say otherwise
RATE_PER_PHONE = 10
_CODE_FIRST = re.compile(r"^\s*(\d{6})\b\s*(.*)$")

DOCUMENTS = [(value, label) for value, label in IdType.choices if value != IdType.PROVISIONAL]


class ArrivalReportForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    id_type = forms.ChoiceField(label=gettext_lazy("Document"), choices=DOCUMENTS, initial=IdType.RESIDENT)
    id_number = forms.CharField(label=gettext_lazy("Document number"), max_length=30)
    phone = forms.CharField(label=gettext_lazy("Mobile phone"), max_length=20)
    origin = forms.CharField(
        label=gettext_lazy("Coming from"),
        max_length=120,
        help_text=gettext_lazy(
            "Pick a region from the list (its 6-digit code) or type the city and district."
        ),
    )
    travel_mode = forms.ChoiceField(label=gettext_lazy("Travelling by"), choices=list(TRAVEL_MODES.items()))
    travel_number = forms.CharField(
        label=gettext_lazy("Train, flight or plate number"), max_length=20, required=False
    )
    arrived_at = forms.DateTimeField(
        label=gettext_lazy("Arrived at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    address = forms.CharField(label=gettext_lazy("Where you stay in the district"), max_length=200)
    consent = forms.BooleanField(
        label=gettext_lazy("I agree"),
        required=True,
        error_messages={"required": gettext_lazy("Please agree to the use of your data to send the report.")},
    )
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        attrs = {
            "name": {"autocomplete": "name"},
            "id_number": {"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters"},
            "phone": {"autocomplete": "tel", "inputmode": "tel"},
            "origin": {"list": "regions", "autocomplete": "off"},
            "travel_number": {"autocapitalize": "characters"},
            "address": {"autocomplete": "street-address"},
        }
        for name, extra in attrs.items():
            self.fields[name].widget.attrs.update(extra)


def known_regions() -> list[tuple[str, str]]:
    """The regions people may pick as their origin: the region risk areas in force (public information)."""
    seen: dict[str, str] = {}
    for area in risk_areas_current().filter(kind=AreaKind.REGION).order_by("region_code"):
        seen.setdefault(area.region_code, area.name)
    return sorted(seen.items())


def parse_origin(text: str, regions: list[tuple[str, str]]) -> tuple[str, str]:
    """(place in words, region code) from what was typed or picked: ``310101 上海市黄浦区`` gives both; a
    known region's name gives its code; other words are kept as they are, without a code."""
    text = " ".join((text or "").split())
    match = _CODE_FIRST.match(text)
    names = dict(regions)
    if match:
        code, words = match.group(1), match.group(2).strip()
        return words or names.get(code, code), code
    by_name = {name: code for code, name in regions}
    return text, by_name.get(text, "")


def _allowed(request: HttpRequest, phone: str = "") -> bool:
    ip_ok = ratelimit.hit(
        "arrive-ip",
        client_ip(request),
        limit=int(general_rule("arrival_report_rate_limit_per_ip_per_minute", RATE_PER_IP)),
    )
    phone_ok = not phone or ratelimit.hit(
        "arrive-phone",
        phone,
        limit=int(general_rule("arrival_report_rate_limit_per_phone_per_minute", RATE_PER_PHONE)),
    )
    return ip_ok and phone_ok


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "comparison/arrive_error.html",
        {"message": _("Too many attempts. Please wait a minute and try again."), "reason": "rate_limited"},
        status=429,
    )


def _page(
    request: HttpRequest, form: ArrivalReportForm, *, status: int = 200, error: str = ""
) -> HttpResponse:
    context = {
        "form": form,
        "regions": known_regions(),
        "error": error,
    }
    return render(request, "comparison/arrive.html", context, status=status)


def _input(data: dict, regions: list[tuple[str, str]]) -> SelfReportInput:
    origin, code = parse_origin(data["origin"], regions)
    return SelfReportInput(
        name=data["name"],
        id_type=data["id_type"],
        id_number=data["id_number"],
        phone=data["phone"],
        consent=bool(data["consent"]),
        arrival=ArrivalInput(
            origin=origin,
            origin_region_code=code,
            arrived_at=data["arrived_at"],
            travel_mode=travel_mode_value(data["travel_mode"], data.get("travel_number") or ""),
            address=data["address"],
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def arrival_report(request: HttpRequest, **kwargs) -> HttpResponse:
    """The form (GET) and its submission (POST): on success, on to the result page."""
    if request.method == "GET":
        if not _allowed(request):
            return _too_many(request)
        return _page(
            request, ArrivalReportForm(initial={"client_id": uuid.uuid4(), "id_type": IdType.RESIDENT})
        )
    if not _allowed(request, phone=request.POST.get("phone", "")):
        return _too_many(request)
    form = ArrivalReportForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400, error=_("Please correct the marked fields."))
    try:
        arrival = arrival_self_report(
            actor=None,
            data=_input(form.cleaned_data, known_regions()),
            client_id=form.cleaned_data["client_id"],
        )
    except Conflict as err:
        return _page(request, form, status=409, error=err.message)
    except DomainError as err:
        if err.field in form.fields:
            form.add_error(err.field, err.message)
        return _page(request, form, status=400, error=err.message)
    signed = signing.dumps({"a": arrival.pk}, salt=_DONE_SALT)
    return HttpResponseRedirect(reverse("arrive:done", args=[signed]))


@never_cache
@require_GET
def arrival_done(request: HttpRequest, ref: str, **kwargs) -> HttpResponse:
    """The reference and what happens next: the grid will call; from a risk area, a test within N hours."""
    try:
        data = signing.loads(ref, salt=_DONE_SALT, max_age=_DONE_MAX_AGE)
    except signing.BadSignature:
        raise Http404 from None
    arrival = (
        Arrival.objects.select_related("person")
        .filter(pk=data.get("a") if isinstance(data, dict) else None)
        .first()
    )
    if arrival is None:
        raise Http404
    # The health code counts the higher of the level at arrival and the level now (services.archive).
    now_level = (
        healthcode_services.region_level(arrival.origin_region_code) if arrival.origin_region_code else ""
    )
    level = max(arrival.risk_level, now_level, key=lambda value: RISK_RANK.get(value, -1))
    hours = test_within_hours()
    context = {
        "arrival": arrival,
        "reference": reference(arrival),
        "name": arrival.person.name_masked,
        "travel": travel_mode_label(arrival.travel_mode),
        "risky": level in RISKY,
        "level_label": RiskLevel(level).label if level in RISKY else "",
        "hours": hours,
        "test_by": timezone.localtime(arrival.arrived_at + dt.timedelta(hours=hours)),
        "no_grid": arrival.person.grid_id is None,
    }
    return render(request, "comparison/arrive_done.html", context)
