"""A month's totals per producer and category (bags and weight at labelling, bags and weight at
incineration), summed per category, and the same as Excel."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core.htmx import render_page, staff_page
from epigrid.core.roles import Perm
from epigrid.medwaste import export
from epigrid.medwaste.selectors import oversight


def _month(request: HttpRequest) -> dt.date:
    """``?month=YYYY-MM``; this month when missing or not a month."""
    year, _sep, month = request.GET.get("month", "").partition("-")
    try:
        return dt.date(int(year), int(month), 1)
    except ValueError:
        return timezone.localdate().replace(day=1)


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def monthly_totals(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    rows = oversight.monthly_totals(actor=request.user, month=month)
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    context = {
        "month": month,
        "rows": rows,
        "totals": oversight.monthly_category_totals(rows),
        "previous": previous,
        "following": following if following <= timezone.localdate() else None,
        "export_url": f"{reverse('medwaste:monthly_export')}?month={month:%Y-%m}",
    }
    return render_page(request, "medwaste/monthly.html", context)


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def monthly_export(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    rows = oversight.monthly_totals(actor=request.user, month=month)
    content = export.monthly_xlsx(rows, oversight.monthly_category_totals(rows))
    return export.response(content, f"waste-monthly-{month:%Y%m}")
