"""Transfer pages (``supplies.view``): the transfers the actor's area sends or receives, the request form
(``supplies.move``), and a transfer's page with the step that is due: approve or reject
(``supplies.manage``), ship (the sender's staff), receive with per-lot quantities and a note for any
difference (the receiver's staff). Who may act on which end the services decide (403)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.supplies import selectors
from epigrid.supplies.forms import TransferRequestForm
from epigrid.supplies.models import Transfer, TransferStatus
from epigrid.supplies.services import transfers
from epigrid.supplies.views.common import attempt


@never_cache
@staff_page(Perm.SUPPLIES_VIEW)
@require_GET
def transfer_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    status = request.GET.get("status", "")
    qs = selectors.transfer_list(actor=user, status=status if status in TransferStatus.values else "")
    context = {
        "page": paginate(request, qs.prefetch_related("lines__item")),
        "query": query_without_page(request),
        "status": status,
        "statuses": TransferStatus.choices,
        "can_move": has_perm(user, Perm.SUPPLIES_MOVE),
        "can_manage": has_perm(user, Perm.SUPPLIES_MANAGE),
    }
    return render_page(request, "supplies/transfers.html", context)


@never_cache
@staff_page(Perm.SUPPLIES_MOVE)
@require_http_methods(["GET", "POST"])
def transfer_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    to_points = list(selectors.point_list(actor=user).order_by("name"))
    from_points = list(selectors.source_points(actor=user).order_by("kind", "name"))
    initial = {}
    if request.GET.get("to") and request.GET["to"].isdigit():
        initial["to_point"] = request.GET["to"]
    form = TransferRequestForm(
        request.POST or None,
        to_points=to_points,
        from_points=from_points,
        items=list(selectors.item_list()),
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            transfer, _error = attempt(
                lambda: transfers.transfer_request(
                    actor=user,
                    from_point=form.point("from_point"),
                    to_point=form.point("to_point"),
                    lines=form.lines(),
                    note=form.cleaned_data["note"],
                ),
                form,
            )
            if transfer is not None:
                messages.success(request, _("The request is sent; a supplies officer approves it next."))
                return redirect("supplies:transfer", pk=transfer.pk)
        status = 400
    context = {"form": form, "can_manage": has_perm(user, Perm.SUPPLIES_MANAGE)}
    return render_page(request, "supplies/transfer_new.html", context, status=status)


def _numbers(request: HttpRequest, prefix: str) -> tuple[dict[int, int], bool]:
    """{pk: quantity} from the posted ``<prefix><pk>`` fields; False when one is not a whole number ≥ 0."""
    found: dict[int, int] = {}
    for key, value in request.POST.items():
        if not key.startswith(prefix):
            continue
        pk, value = key[len(prefix) :], value.strip()
        if not pk.isdigit() or not value.isdigit():
            return {}, False
        found[int(pk)] = int(value)
    return found, True


def _act(request: HttpRequest, user: User, transfer: Transfer, action: str) -> tuple[bool, str]:
    note = request.POST.get("note", "")
    if action == "approve":
        approved, ok = _numbers(request, "approved_")
        if not ok:
            return False, _("An approved quantity is a whole number, 0 or more.")
        done, error = attempt(
            lambda: transfers.transfer_approve(actor=user, transfer=transfer, approved=approved, note=note)
        )
        return done is not None, error or _("Approved; the sending point ships it next.")
    if action == "reject":
        done, error = attempt(lambda: transfers.transfer_reject(actor=user, transfer=transfer, note=note))
        return done is not None, error or _("The request is rejected.")
    if action == "ship":
        done, error = attempt(lambda: transfers.transfer_ship(actor=user, transfer=transfer))
        return done is not None, error or _("Shipped: the stock has left this point.")
    if action == "receive":
        received, ok = _numbers(request, "received_")
        if not ok:
            return False, _("A received quantity is a whole number, 0 or more.")
        done, error = attempt(
            lambda: transfers.transfer_receive(actor=user, transfer=transfer, received=received, note=note)
        )
        return done is not None, error or _("Received and booked into the stock.")
    if action == "cancel":
        done, error = attempt(lambda: transfers.transfer_cancel(actor=user, transfer=transfer, note=note))
        return done is not None, error or _("The request is withdrawn.")
    return False, _("Unknown action.")


@never_cache
@staff_page(Perm.SUPPLIES_VIEW)
@require_http_methods(["GET", "POST"])
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    transfer = selectors.transfer_get(actor=user, pk=pk)
    status, error = 200, ""
    if request.method == "POST":
        done, message = _act(request, user, transfer, request.POST.get("action", ""))
        if done:
            messages.success(request, message)
            return redirect("supplies:transfer", pk=transfer.pk)
        status, error = 400, message
        transfer = selectors.transfer_get(actor=user, pk=pk)
    lines = list(transfer.lines.select_related("item"))
    lots = list(selectors.transfer_lots(transfer))
    move = has_perm(user, Perm.SUPPLIES_MOVE)
    sender = move and in_scope_code(user, transfer.from_point.org_code)
    receiver = move and in_scope_code(user, transfer.to_point.org_code)
    manager = has_perm(user, Perm.SUPPLIES_MANAGE)
    state = transfer.status
    context = {
        "transfer": transfer,
        "lines": lines,
        "lots": lots,
        "error": error,
        "posted": request.POST if request.method == "POST" else {},
        "can_decide": manager and state == TransferStatus.REQUESTED,
        "can_ship": sender and state == TransferStatus.APPROVED,
        "can_receive": receiver and state == TransferStatus.SHIPPED,
        "can_cancel": receiver and state in (TransferStatus.REQUESTED, TransferStatus.APPROVED),
        "can_manage": manager,
    }
    return render_page(request, "supplies/transfer.html", context, status=status)
