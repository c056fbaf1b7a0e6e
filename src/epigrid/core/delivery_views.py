"""Message delivery (``/notices/deliveries/``, notice.monitor): SMS and email deliveries in scope by state,
channel, kind and date, with the counts per state, failed ones with their error and a button to send again;
one delivery's page. Addresses are shown masked only (the delivery rows hold nothing else)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from epigrid.core import notice_templates, notices
from epigrid.core.channels import delivery as deliveries
from epigrid.core.errors import DomainError
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.models import DeliveryStatus, NoticeDelivery
from epigrid.core.roles import Perm

# What a skipped delivery's stored reason means, for the reader.
SKIP_REASONS = {
    notices.OPTED_OUT: gettext_lazy("The recipient turned these messages off."),
    notices.NO_ADDRESS: gettext_lazy("No phone number or email address on record."),
}


def _date(value: str) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def _kinds() -> list[tuple[str, str]]:
    return [(t.kind, str(t.label)) for t in notice_templates.TEMPLATES.values()]


def _filters(request: HttpRequest) -> dict[str, object]:
    data = request.GET
    channels = notices.channel_names()
    kinds = {kind for kind, _label in _kinds()}
    kind = data.get("kind", "")
    template = notice_templates.get(kind)
    return {
        "status": data.get("status", "") if data.get("status", "") in DeliveryStatus.values else "",
        "channel": data.get("channel", "") if data.get("channel", "") in channels else "",
        "kind": kind if kind in kinds else (template.kind if template else ""),
        "date_from": _date(data.get("from", "")),
        "date_to": _date(data.get("to", "")),
    }


@never_cache
@staff_page(Perm.NOTICE_MONITOR)
@require_GET
def delivery_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    rows = deliveries.deliveries_list(actor=request.user, **filters)
    counted = {key: value for key, value in filters.items() if key != "status"}
    counts = deliveries.deliveries_counts(actor=request.user, **counted)
    page = paginate(request, rows)
    page.object_list = [_described(d) for d in page.object_list]
    context = {
        "page": page,
        "query": query_without_page(request),
        "filters": filters,
        "counts": [(value, label, counts[value]) for value, label in DeliveryStatus.choices],
        "status_choices": DeliveryStatus.choices,
        "channel_choices": [(c.name, str(getattr(c, "label", c.name))) for c in notices.tracked_channels()],
        "kind_choices": _kinds(),
    }
    return render_page(request, "core/delivery_list.html", context, partial="rows")


def _described(delivery: NoticeDelivery) -> NoticeDelivery:
    """The row as the page shows it: the kind's name and, for a skipped one, why in words."""
    template = notice_templates.get(delivery.notice.kind)
    delivery.kind_label = str(template.label) if template else delivery.notice.kind
    reason = SKIP_REASONS.get(delivery.last_error) if delivery.status == DeliveryStatus.SKIPPED else None
    delivery.reason = str(reason) if reason else delivery.last_error
    return delivery


@never_cache
@staff_page(Perm.NOTICE_MONITOR)
@require_GET
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _described(deliveries.delivery_get(actor=request.user, pk=pk))
    context = {"delivery": delivery, "max_attempts": deliveries.MAX_ATTEMPTS}
    return render_page(request, "core/delivery_detail.html", context)


@staff_page(Perm.NOTICE_MONITOR)
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = deliveries.delivery_get(actor=request.user, pk=pk)
    try:
        deliveries.notice_delivery_retry(actor=request.user, delivery=delivery)
        messages.success(request, _("The message is queued to be sent again."))
    except DomainError as err:
        messages.error(request, err.message)
    return redirect("core:delivery_detail", pk=delivery.pk)
