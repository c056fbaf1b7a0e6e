"""The catalogue page (``supplies.manage``): items, holding points (linked to the sampling point, quarantine
site or clinic they serve, which the forecast follows) and reorder rules. Writes go through
``supplies.services.catalogue``; a refusal is shown beside its form (400)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from epigrid.core import selectors as core_selectors
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.models import User
from epigrid.core.roles import Perm
from epigrid.supplies import selectors
from epigrid.supplies.forms import ItemForm, PointForm, RuleForm
from epigrid.supplies.services import catalogue
from epigrid.supplies.views.common import attempt


def _save_point(user: User, form: PointForm, links: dict[str, object]) -> object:
    data = form.cleaned_data
    link = links.get(data["link"] or "")
    key = (data["link"] or ":").split(":")[0]
    area = core_selectors.orgunit_get(actor=user, code=data["area"])
    return catalogue.point_create(
        actor=user,
        data=catalogue.PointInput(
            name=data["name"],
            kind=data["kind"],
            area=area,
            address=data["address"],
            sampling_point=link if key == "s" else None,
            quarantine_site=link if key == "q" else None,
            vaccination_site=link if key == "v" else None,
        ),
    )


@never_cache
@staff_page(Perm.SUPPLIES_MANAGE)
@require_http_methods(["GET", "POST"])
def catalogue_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    action = request.POST.get("action", "") if request.method == "POST" else ""
    data = request.POST if request.method == "POST" else None
    items = list(selectors.item_list(active_only=False))
    points = list(selectors.point_list(actor=user).order_by("name"))
    links = selectors.linkable_places(actor=user)
    areas = [(u.code, f"{u.name} ({u.code})") for u in core_selectors.orgunit_list(actor=user)]
    link_choices = [(key, f"{obj}") for key, obj in links.items()]
    item_form = ItemForm(data if action == "item" else None)
    point_form = PointForm(data if action == "point" else None, areas=areas, links=link_choices)
    rule_form = RuleForm(
        data if action == "rule" else None, points=points, items=[i for i in items if i.active]
    )
    status = 200
    if action == "item" and item_form.is_valid():
        made, _err = attempt(
            lambda: catalogue.item_create(actor=user, data=catalogue.ItemInput(**item_form.cleaned_data)),
            item_form,
        )
        if made is not None:
            messages.success(request, _("%(name)s is added to the catalogue.") % {"name": made.name})
            return redirect("supplies:catalogue")
    elif action == "point" and point_form.is_valid():
        made, _err = attempt(lambda: _save_point(user, point_form, links), point_form)
        if made is not None:
            messages.success(request, _("%(name)s is added.") % {"name": made.name})
            return redirect("supplies:point", pk=made.pk)
    elif action == "rule" and rule_form.is_valid():
        clean = rule_form.cleaned_data
        point = rule_form.points[int(clean["point"])]
        item = rule_form.items[int(clean["item"])]
        _rule, error = attempt(
            lambda: catalogue.reorder_rule_set(
                actor=user,
                point=point,
                item=item,
                min_quantity=clean["min_quantity"],
                min_cover_days=clean["min_cover_days"],
            ),
            rule_form,
        )
        if not error:
            messages.success(
                request,
                _("The levels of %(item)s at %(point)s are saved.")
                % {"item": item.name, "point": point.name},
            )
            return redirect("supplies:catalogue")
    if action:
        status = 400
    context = {
        "items": items,
        "points": points,
        "rules": list(selectors.rule_list(actor=user)),
        "item_form": item_form,
        "point_form": point_form,
        "rule_form": rule_form,
        "action": action,
        "can_manage": True,
    }
    return render_page(request, "supplies/catalogue.html", context, status=status)
