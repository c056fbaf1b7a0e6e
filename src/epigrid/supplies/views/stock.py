"""Stock pages (``supplies.view``): the points in scope with what they hold and their alert badges; a point's
stock by batch, its ledger and the forms that change it — receive, use, count (``supplies.move``), adjust
and write off (``supplies.manage``). A point out of scope answers 404; a service refusal is shown beside its
form (400), a ``Forbidden`` is the 403 page. Excel: stock on hand in scope, a point's ledger."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.core.htmx import paginate, query_without_page, render_page, require_perm, staff_page
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.supplies import export, selectors
from epigrid.supplies.forms import (
    AdjustForm,
    ConsumeForm,
    CountForm,
    LedgerFilterForm,
    ReceiveForm,
    WriteOffForm,
    fresh_client_id,
)
from epigrid.supplies.models import HoldingPoint, PointKind
from epigrid.supplies.services import ledger
from epigrid.supplies.views.common import attempt


@never_cache
@staff_page(Perm.SUPPLIES_VIEW)
@require_GET
def stock_overview(request: HttpRequest) -> HttpResponse:
    """Every point in scope: its items on hand and badges for shortages and expiring batches."""
    user: User = request.user
    kind = request.GET.get("kind", "")
    points = selectors.point_list(actor=user)
    if kind in PointKind.values:
        points = points.filter(kind=kind)
    page = paginate(request, points.order_by("org_code", "name"))
    shown = list(page.object_list)
    held: dict[int, list] = defaultdict(list)
    totals = selectors.stock_totals(actor=user, points=[p.pk for p in shown])
    items = {i.pk: i for i in selectors.item_list(active_only=False)}
    for (point_id, item_id), quantity in sorted(totals.items(), key=lambda kv: items[kv[0][1]].code):
        held[point_id].append({"item": items[item_id], "quantity": quantity})
    found = selectors.alerts(actor=user)
    counts = selectors.alert_counts(found)
    rows = [{"point": p, "held": held.get(p.pk, []), "alerts": counts.get(p.pk, {})} for p in shown]
    context = {
        "rows": rows,
        "page": page,
        "query": query_without_page(request),
        "kind": kind,
        "kinds": PointKind.choices,
        "can_manage": has_perm(user, Perm.SUPPLIES_MANAGE),
        "shortages": [a for a in found if a.is_shortage][:20],
        "expiring": [a for a in found if not a.is_shortage][:20],
    }
    return render_page(request, "supplies/stock.html", context)


def _point_batches(user: User, point: HoldingPoint) -> list:
    return [(s.batch, s.quantity) for s in selectors.stock_list(actor=user, point=point)]


def _forms(request: HttpRequest, user: User, point: HoldingPoint, action: str) -> dict:
    data = request.POST if request.method == "POST" else None
    items = list(selectors.item_list())
    batches = _point_batches(user, point)
    day = timezone.localdate()
    expired = [(b, q) for b, q in batches if b.expires_on and b.expires_on < day]
    usable = [i for i in items if any(b.item_id == i.pk for b, _q in batches)]
    return {
        "receive": ReceiveForm(data if action == "receive" else None, items=items, initial=fresh_client_id()),
        "consume": ConsumeForm(
            data if action == "consume" else None, items=usable, initial=fresh_client_id()
        ),
        "adjust": AdjustForm(data if action == "adjust" else None, batches=batches),
        "write_off": WriteOffForm(data if action == "write_off" else None, batches=expired),
        "count": CountForm(data if action == "count" else None, batches=batches),
        "expired": expired,
    }


def _act(user: User, point: HoldingPoint, action: str, forms: dict) -> tuple[bool, str]:
    """Run the posted form's service call; (done, message shown)."""
    form = forms.get(action)
    if form is None or not form.is_valid():
        return False, ""
    data = dict(form.cleaned_data)  # a service error on a field drops it from cleaned_data
    item = form.item() if action in ("receive", "consume") else None
    if action == "receive":
        done, _err = attempt(
            lambda: ledger.stock_receive(
                actor=user,
                point=point,
                item=item,
                quantity=data["quantity"],
                lot_number=data["lot_number"],
                expires_on=data["expires_on"],
                reason=data["reason"],
                client_id=data["client_id"] or None,
            ),
            form,
        )
        return done is not None, _("Received %(n)d %(unit)s of %(item)s.") % {
            "n": data["quantity"],
            "unit": item.unit,
            "item": item.name,
        }
    if action == "consume":
        done, _err = attempt(
            lambda: ledger.stock_consume(
                actor=user,
                point=point,
                item=item,
                quantity=data["quantity"],
                reason=data["reason"],
                client_id=data["client_id"] or None,
            ),
            form,
        )
        return done is not None, _("Recorded the use of %(n)d %(unit)s of %(item)s.") % {
            "n": data["quantity"],
            "unit": item.unit,
            "item": item.name,
        }
    if action == "adjust":
        done, _err = attempt(
            lambda: ledger.stock_adjust(
                actor=user, point=point, batch=form.batch(), quantity=data["quantity"], reason=data["reason"]
            ),
            form,
        )
        return done is not None, _("The adjustment is booked.")
    if action == "write_off":
        done, _err = attempt(
            lambda: ledger.stock_write_off(actor=user, point=point, batch=form.batch()), form
        )
        return done is not None, _("Expired stock is written off.")
    if action == "count":
        done, _err = attempt(
            lambda: ledger.stock_count_record(
                actor=user, point=point, counts=form.counts(), note=data["note"]
            ),
            form,
        )
        return done is not None, _("The count is recorded; differences are booked in the ledger.")
    return False, ""


ACTION_PERMS = {
    "receive": Perm.SUPPLIES_MOVE,
    "consume": Perm.SUPPLIES_MOVE,
    "count": Perm.SUPPLIES_MOVE,
    "adjust": Perm.SUPPLIES_MANAGE,
    "write_off": Perm.SUPPLIES_MANAGE,
}


def _ledger_page(request: HttpRequest, user: User, point: HoldingPoint) -> tuple[LedgerFilterForm, object]:
    items = list(selectors.item_list(active_only=False))
    filters = LedgerFilterForm(request.GET or None, items=items)
    clean = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    lines = selectors.ledger(
        actor=user,
        point=point,
        item=filters.item_or_none(),
        kind=clean.get("kind", ""),
        since=clean.get("since"),
        until=clean.get("until"),
    )
    return filters, lines


@never_cache
@staff_page(Perm.SUPPLIES_VIEW)
@require_http_methods(["GET", "POST"])
def point_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    point = selectors.point_get(actor=user, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    status = 200
    if action:
        if action not in ACTION_PERMS:
            status = 400
        else:
            require_perm(user, ACTION_PERMS[action])
            forms = _forms(request, user, point, action)
            done, message = _act(user, point, action, forms)
            if done:
                messages.success(request, message)
                return redirect("supplies:point", pk=point.pk)
            status = 400
    if not action or action not in ACTION_PERMS:
        forms = _forms(request, user, point, "")
    filters, lines = _ledger_page(request, user, point)
    context = {
        "point": point,
        "stock": list(selectors.stock_list(actor=user, point=point)),
        "alerts": selectors.alerts(actor=user, point=point),
        "forms": forms,
        "action": action,
        "filters": filters,
        "page": paginate(request, lines),
        "query": query_without_page(request),
        "can_move": has_perm(user, Perm.SUPPLIES_MOVE),
        "can_manage": has_perm(user, Perm.SUPPLIES_MANAGE),
        "today": timezone.localdate(),
    }
    return render_page(request, "supplies/point.html", context, status=status)


@never_cache
@staff_page(Perm.SUPPLIES_VIEW)
@require_GET
def stock_export(request: HttpRequest) -> HttpResponse:
    stock = selectors.stock_list(actor=request.user).select_related("point", "item", "batch")
    return export.download(export.stock_workbook(stock.iterator(chunk_size=2000)), "supplies-stock.xlsx")


@never_cache
@staff_page(Perm.SUPPLIES_VIEW)
@require_GET
def ledger_export(request: HttpRequest, pk: int) -> HttpResponse:
    point = selectors.point_get(actor=request.user, pk=pk)
    _filters, lines = _ledger_page(request, request.user, point)
    return export.download(
        export.ledger_workbook(lines.iterator(chunk_size=2000)), f"supplies-ledger-{point.pk}.xlsx"
    )
