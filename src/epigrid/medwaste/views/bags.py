"""A bag's card with its chain of custody, its printable label, and the label's QR link.

Open to ``waste.view`` in scope and to the members of the parties on the bag's chain (``selectors.bag_get``);
anyone else gets 404, as for a missing bag.
"""

from __future__ import annotations

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core.errors import DomainError
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.roles import Perm
from epigrid.medwaste import selectors
from epigrid.medwaste.models import Anomaly, WasteCategory
from epigrid.medwaste.services import labels

READERS = (Perm.WASTE_VIEW, Perm.WASTE_HANDLE)


@never_cache
@staff_page(any_of=READERS)
@require_GET
def bag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bag = selectors.bag_get(actor=request.user, pk=pk)
    chain = selectors.bag_chain(bag)
    producer_member = selectors.my_parties(actor=request.user).filter(pk=bag.producer_id).exists()
    context = {
        "bag": bag,
        "chain": chain,
        "anomalies": sum(1 for r in chain if r.anomaly != Anomaly.NONE),
        "can_print": producer_member,
    }
    return render_page(request, "medwaste/bag.html", context)


def _both_languages(category: str) -> tuple[str, str]:
    label = WasteCategory(category).label
    with translation.override("zh-hans"):
        chinese = str(label)
    with translation.override("en"):
        english = str(label)
    return chinese, english


@never_cache
@staff_page(any_of=READERS)
@require_GET
def label_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable label: QR (signed link), category in Chinese and English, weight, time, handler,
    producer and the code in text for typing."""
    bag = selectors.bag_get(actor=request.user, pk=pk)
    url = labels.label_url(bag, base_url=request.build_absolute_uri("/"))
    # segno draws the SVG from our own signed URL; no user-controlled markup reaches it.
    qr_svg = segno.make(url, error="m").svg_inline(scale=4, border=2, title="")
    chinese, english = _both_languages(bag.category)
    context = {"bag": bag, "qr_svg": qr_svg, "category_zh": chinese, "category_en": english}
    return render_page(request, "medwaste/label.html", context)


@never_cache
@staff_page(any_of=READERS)
@require_GET
def label_scan(request: HttpRequest, token: str) -> HttpResponse:
    """Where a phone camera lands from a label's QR: the bag's card, or why the label is refused."""
    try:
        code = labels.code_from_scan(token)
    except DomainError as err:
        return render_page(request, "medwaste/label_refused.html", {"message": err.message}, status=400)
    return redirect("medwaste:bag", pk=selectors.bag_get(actor=request.user, code=code).pk)
