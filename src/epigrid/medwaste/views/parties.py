"""The parties of the chain (``waste.manage``): per level, with their members and vehicles; create a party,
edit it, add and remove the accounts that act for it, register the company's vehicles."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from epigrid.core import selectors as core_selectors
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.models import OrgUnit
from epigrid.core.roles import Perm
from epigrid.medwaste import selectors
from epigrid.medwaste.forms import MemberForm, PartyForm, VehicleForm
from epigrid.medwaste.models import Party, PartyKind
from epigrid.medwaste.services import parties as services
from epigrid.medwaste.views.app import attempt

LEVELS = (
    (_("Authorities"), (PartyKind.HEALTH_AUTHORITY, PartyKind.ENVIRONMENT_AUTHORITY)),
    (_("Medical institutions (temporary storage)"), (PartyKind.INSTITUTION,)),
    (_("Producers"), (PartyKind.PRODUCER,)),
    (_("Disposal"), (PartyKind.DISPOSER,)),
)


def _areas(user) -> list[OrgUnit]:
    return list(core_selectors.orgunit_list(actor=user))


def _parents(user) -> list[Party]:
    return list(
        selectors.party_list(actor=user).filter(
            kind__in=(PartyKind.INSTITUTION, PartyKind.DISPOSER), parent=None
        )
    )


def _input(form: PartyForm, user) -> services.PartyInput | str:
    data = form.cleaned_data
    area = next((u for u in _areas(user) if u.pk == data["area"]), None)
    if area is None:
        return _("Choose an area inside yours.")
    parent = None
    if data.get("parent"):
        parent = selectors.party_list(actor=user).filter(pk=data["parent"]).first()
        if parent is None:
            return _("Choose the party it belongs to.")
    return services.PartyInput(
        name=data["name"],
        kind=data["kind"],
        area=area,
        parent=parent,
        address=data["address"],
        licence_number=data["licence_number"],
        duty_phone=data["duty_phone"],
        collection_interval_hours=data["collection_interval_hours"],
    )


@never_cache
@staff_page(Perm.WASTE_MANAGE)
@require_http_methods(["GET", "POST"])
def party_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PartyForm(request.POST or None, areas=_areas(user), parents=_parents(user))
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            data = _input(form, user)
            if isinstance(data, str):
                error = data
            else:
                party, error = attempt(lambda: services.party_create(actor=user, data=data))
                if party is not None:
                    messages.success(request, _("%(party)s is registered.") % {"party": party.name})
                    return redirect("medwaste:party", pk=party.pk)
        status = 400
    everyone = list(selectors.party_list(actor=user).prefetch_related("members", "vehicles"))
    levels = [(title, [p for p in everyone if p.kind in kinds]) for title, kinds in LEVELS]
    context = {"levels": levels, "form": form, "error": error}
    return render_page(request, "medwaste/parties.html", context, status=status)


@never_cache
@staff_page(Perm.WASTE_MANAGE)
@require_http_methods(["GET", "POST"])
def party_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    party = selectors.party_get(actor=user, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    initial = {
        "name": party.name,
        "kind": party.kind,
        "area": party.area_id,
        "parent": party.parent_id,
        "address": party.address,
        "licence_number": party.licence_number,
        "duty_phone": party.duty_phone,
        "collection_interval_hours": party.collection_interval_hours,
    }
    form = PartyForm(
        request.POST if action == "edit" else None,
        initial=initial,
        areas=_areas(user),
        parents=_parents(user),
    )
    member_form = MemberForm(request.POST if action == "member" else None)
    vehicle_form = VehicleForm(request.POST if action == "vehicle" else None)
    error = ""
    done = None
    if action == "edit" and form.is_valid():
        data = _input(form, user)
        if isinstance(data, str):
            error = data
        else:
            active = request.POST.get("active") == "on"
            done, error = attempt(
                lambda: services.party_update(actor=user, party=party, data=data, active=active)
            )
    elif action == "member" and member_form.is_valid():
        account = selectors.account_in_area(actor=user, username=member_form.cleaned_data["username"])
        if account is None:
            error = _("No account %(user)s in your area.") % {"user": member_form.cleaned_data["username"]}
        else:
            done, error = attempt(lambda: services.party_member_add(actor=user, party=party, user=account))
    elif action == "remove":
        account = party.members.filter(pk=request.POST.get("user") or 0).first()
        if account is not None:
            done, error = attempt(lambda: services.party_member_remove(actor=user, party=party, user=account))
    elif action == "vehicle" and vehicle_form.is_valid():
        data = vehicle_form.cleaned_data
        done, error = attempt(
            lambda: services.vehicle_create(
                actor=user, company=party, plate=data["plate"], capacity_kg=data["capacity_kg"] or 0
            )
        )
    elif action:
        error = _("Check the form.")
    if done is not None:
        messages.success(request, _("Saved."))
        return redirect("medwaste:party", pk=party.pk)
    context = {
        "party": party,
        "form": form,
        "member_form": member_form,
        "vehicle_form": vehicle_form,
        "members": list(party.members.order_by("username")),
        "vehicles": list(party.vehicles.all()),
        "children": list(party.children.order_by("name")),
        "error": error,
    }
    return render_page(request, "medwaste/party.html", context, status=400 if action else 200)
