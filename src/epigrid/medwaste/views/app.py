"""The handler's phone page (``waste.handle``): for each party the account acts for, label a bag (producers),
the bags held now with an offer to the next party, the collection trips (the company's drivers), the bags to
incinerate (the plant); the handovers waiting for the account; and a "scan a bag" box.

Reads go through ``medwaste.selectors``; writes through ``medwaste.services``. A service's ``Forbidden`` is the
403 page; another ``DomainError`` is shown on the re-rendered page (400). Every write is a POST that redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.models import User
from epigrid.core.roles import Perm
from epigrid.medwaste import selectors
from epigrid.medwaste.forms import LabelForm, RejectForm, ScanForm, kg_to_grams
from epigrid.medwaste.models import Bag, Handover, Party, PartyKind, Stage, Trip
from epigrid.medwaste.services import handovers, labels, trips
from epigrid.medwaste.services.handovers import bag_last_weight
from epigrid.medwaste.services.parties import is_plant


def attempt(action: Callable[[], Any]) -> tuple[Any, str]:
    """Run a service call: a refusal is the 403 page; another domain error comes back as its message."""
    try:
        return action(), ""
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        return None, err.message


def role_of(party: Party) -> str:
    if party.kind == PartyKind.DISPOSER:
        return "plant" if is_plant(party) else "company"
    return party.kind


def _sections(user: User, forms: dict[int, LabelForm]) -> list[dict[str, Any]]:
    sections = []
    for party in selectors.my_parties(actor=user):
        held = list(selectors.bags_held(party=party))
        offered = selectors.offered_bag_ids(selectors.bags_held(party=party)) if held else set()
        role = role_of(party)
        section: dict[str, Any] = {
            "party": party,
            "role": role,
            "held": [{"bag": b, "offered": b.pk in offered} for b in held],
            "free": sum(1 for b in held if b.pk not in offered),
            "next": selectors.next_parties(party),
            "given": list(selectors.handovers_given(actor=user).filter(from_party=party)),
        }
        if role == PartyKind.PRODUCER:
            section["label_form"] = forms.get(party.pk) or LabelForm(prefix=f"p{party.pk}")
        if role == "company":
            section["trips"] = list(selectors.trips_open_for(actor=user, company=party))
            section["vehicles"] = list(party.vehicles.filter(active=True))
            section["plants"] = section["next"]
        sections.append(section)
    return sections


def _ids(request: HttpRequest, name: str = "bag") -> list[int]:
    return [int(v) for v in request.POST.getlist(name) if v.isdigit()]


def _my_party(user: User, pk: str) -> Party:
    if not str(pk).isdigit():
        raise Http404
    party = selectors.my_parties(actor=user).filter(pk=int(pk)).first()
    if party is None:
        raise Http404
    return party


@never_cache
@staff_page(Perm.WASTE_HANDLE)
@require_http_methods(["GET", "POST"])
def waste_app(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    label_forms: dict[int, LabelForm] = {}
    error = ""
    if request.method == "POST":
        response, error = _act(request, user, label_forms)
        if response is not None:
            return response
    context = {
        "sections": _sections(user, label_forms),
        "waiting": list(selectors.handovers_waiting(actor=user).prefetch_related("bags")),
        "scan_form": ScanForm(),
        "error": error,
    }
    return render_page(request, "medwaste/app.html", context, status=400 if error else 200)


def _act(
    request: HttpRequest, user: User, label_forms: dict[int, LabelForm]
) -> tuple[HttpResponse | None, str]:
    """One POSTed action of the page: the redirect after it, or the message why it was not done."""
    action = request.POST.get("action", "")
    if action == "cancel":
        handover = selectors.handover_get(actor=user, code=request.POST.get("handover", ""))
        done, error = attempt(lambda: handovers.handover_cancel(actor=user, handover=handover))
        if done is not None:
            messages.success(request, _("Handover %(code)s is withdrawn.") % {"code": handover.code})
        return (redirect("medwaste:app"), "") if done is not None else (None, error)
    if action == "deliver":
        trip = selectors.trip_get(actor=user, pk=int(request.POST.get("trip", "0") or 0))
        plant = _my_next(user, trip.company, request.POST.get("plant", ""))
        done, error = attempt(lambda: trips.trip_deliver(actor=user, trip=trip, plant=plant))
        if done is not None:
            messages.success(
                request,
                _("Trip %(trip)s is offered to %(plant)s (handover %(code)s).")
                % {"trip": trip.number, "plant": plant.name, "code": done.code},
            )
        return (redirect("medwaste:app"), "") if done is not None else (None, error)
    party = _my_party(user, request.POST.get("party", ""))
    if action == "label":
        form = LabelForm(request.POST, prefix=f"p{party.pk}")
        label_forms[party.pk] = form
        if not form.is_valid():
            return None, _("Check the bag's details.")
        data = form.cleaned_data
        bag, error = attempt(
            lambda: labels.bag_label(
                actor=user,
                producer=party,
                category=data["category"],
                weight_g=kg_to_grams(data["weight_kg"]),
                sealed=data["sealed"],
                handler_name=data["handler_name"] or None,
            )
        )
        if bag is None:
            form.add_error(None, error)
            return None, error
        messages.success(
            request, _("Bag %(code)s is labelled: print the label and stick it on.") % {"code": bag.code}
        )
        return redirect("medwaste:label", pk=bag.pk), ""
    bags = list(selectors.bag_list(actor=user).filter(pk__in=_ids(request)))
    if action == "offer":
        to_party = _my_next(user, party, request.POST.get("to_party", ""))
        stage = {PartyKind.PRODUCER: Stage.STORED, PartyKind.INSTITUTION: Stage.COLLECTED}.get(party.kind, "")
        done, error = attempt(
            lambda: handovers.handover_offer(
                actor=user, from_party=party, to_party=to_party, bags=bags, stage=stage
            )
        )
        if done is not None:
            messages.success(
                request,
                _("%(n)d bags offered to %(party)s (handover %(code)s); they confirm on their phone.")
                % {"n": len(bags), "party": to_party.name, "code": done.code},
            )
        return (redirect("medwaste:app"), "") if done is not None else (None, error)
    if action == "incinerate":
        done, error = attempt(lambda: handovers.bags_incinerate(actor=user, plant=party, bags=bags))
        if done is not None:
            messages.success(request, _("%(n)d bags recorded as incinerated.") % {"n": len(done)})
        return (redirect("medwaste:app"), "") if done is not None else (None, error)
    if action == "trip":
        vehicle = party.vehicles.filter(pk=int(request.POST.get("vehicle", "0") or 0)).first()
        if vehicle is None:
            return None, _("Choose the vehicle.")
        done, error = attempt(lambda: trips.trip_start(actor=user, company=party, vehicle=vehicle))
        if done is not None:
            messages.success(request, _("Trip %(trip)s started.") % {"trip": done.number})
        return (redirect("medwaste:app"), "") if done is not None else (None, error)
    return None, _("Unknown action.")


def _my_next(user: User, party: Party, pk: str) -> Party:
    """The party chosen as the next of ``party`` (the services check it is the right one)."""
    found = selectors.party_list(actor=user).filter(pk=int(pk)).first() if str(pk).isdigit() else None
    if found is None:
        candidates = selectors.next_parties(party)
        if len(candidates) != 1:
            raise Http404
        found = candidates[0]
    return found


@never_cache
@staff_page(Perm.WASTE_HANDLE)
@require_http_methods(["GET"])
def scan(request: HttpRequest) -> HttpResponse:
    """A typed or scanned label: the bag's card, or why the label is not one."""
    form = ScanForm(request.GET)
    if form.is_valid():
        try:
            code = labels.code_from_scan(form.cleaned_data["q"])
        except DomainError as err:
            messages.error(request, err.message)
            return redirect("medwaste:app")
        try:
            bag = selectors.bag_get(actor=request.user, code=code)
        except Http404:
            messages.error(request, _("No bag %(code)s is within your reach.") % {"code": code})
            return redirect("medwaste:app")
        return redirect("medwaste:bag", pk=bag.pk)
    return redirect("medwaste:app")


def _weights(request: HttpRequest, bags: list[Bag]) -> tuple[dict[int, int], str]:
    weights = {}
    for bag in bags:
        raw = request.POST.get(f"w{bag.pk}", "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            weights[bag.pk] = kg_to_grams(Decimal(raw))
        except InvalidOperation:
            return {}, _("Bag %(code)s: type the weight in kg, e.g. 1.25.") % {"code": bag.code}
    return weights, ""


def _trip_choice(request: HttpRequest, user: User, handover: Handover) -> tuple[Trip | None, str]:
    value = request.POST.get("trip", "")
    if value.startswith("new:") and value[4:].isdigit():
        vehicle = handover.to_party.vehicles.filter(pk=int(value[4:])).first()
        if vehicle is None:
            return None, _("Choose the vehicle.")
        return attempt(lambda: trips.trip_start(actor=user, company=handover.to_party, vehicle=vehicle))
    trip = (
        selectors.trips_open_for(actor=user, company=handover.to_party)
        .filter(pk=int(value or 0) if value.isdigit() else 0)
        .first()
    )
    return trip, "" if trip is not None else _(
        "Collected bags go on a trip: start or choose your trip first."
    )


@never_cache
@staff_page(Perm.WASTE_HANDLE)
@require_http_methods(["GET", "POST"])
def handover_detail(request: HttpRequest, code: str) -> HttpResponse:
    """An offer: the receiver weighs each bag and accepts, or refuses with a reason; the giver sees it."""
    user: User = request.user
    handover = selectors.handover_get(actor=user, code=code)
    bags = list(handover.bags.select_related("producer").order_by("code"))
    mine = selectors.my_parties(actor=user)
    receiver = mine.filter(pk=handover.to_party_id).exists()
    reject_form = RejectForm(request.POST if request.POST.get("action") == "reject" else None)
    error = ""
    if request.method == "POST" and receiver:
        action = request.POST.get("action", "")
        if action == "accept":
            weights, error = _weights(request, bags)
            trip = None
            if not error and handover.stage == Stage.COLLECTED:
                trip, error = _trip_choice(request, user, handover)
            if not error:
                done, error = attempt(
                    lambda: handovers.handover_accept(
                        actor=user, handover=handover, weights=weights, trip=trip
                    )
                )
                if done is not None:
                    messages.success(
                        request,
                        _("Handover %(code)s accepted: %(n)d bags.")
                        % {"code": handover.code, "n": len(bags)},
                    )
                    return redirect("medwaste:app")
        elif action == "reject" and reject_form.is_valid():
            done, error = attempt(
                lambda: handovers.handover_reject(
                    actor=user, handover=handover, reason=reject_form.cleaned_data["reason"]
                )
            )
            if done is not None:
                messages.info(request, _("Handover %(code)s refused.") % {"code": handover.code})
                return redirect("medwaste:app")
        else:
            error = error or _("Say why the bags are refused.")
    elif request.method == "POST":
        raise PermissionDenied(_("You do not act for %(party)s.") % {"party": handover.to_party.name})
    context = {
        "handover": handover,
        "rows": [{"bag": b, "kg": f"{bag_last_weight(b) / 1000:.3f}"} for b in bags],
        "receiver": receiver and handover.status == "offered",
        "reject_form": reject_form,
        "error": error,
        "trips": list(selectors.trips_open_for(actor=user, company=handover.to_party))
        if handover.stage == Stage.COLLECTED
        else [],
        "vehicles": list(handover.to_party.vehicles.filter(active=True))
        if handover.stage == Stage.COLLECTED
        else [],
        "app_url": reverse("medwaste:app"),
    }
    return render_page(request, "medwaste/handover.html", context, status=400 if error else 200)
