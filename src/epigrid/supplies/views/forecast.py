"""The forecast page (``supplies.view``): needs of the next days per point and item against the stock on hand,
and the shortages by level and days of cover at the current rate."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core.htmx import render_page, staff_page
from epigrid.core.roles import Perm, has_perm
from epigrid.supplies import selectors

DAY_CHOICES = (3, 7, 14, 30)


@never_cache
@staff_page(Perm.SUPPLIES_VIEW)
@require_GET
def forecast_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    days = int(request.GET["days"]) if request.GET.get("days", "").isdigit() else 7
    days = days if days in DAY_CHOICES else 7
    rows = selectors.forecast(actor=user, days=days)
    context = {
        "rows": rows,
        "days": days,
        "day_choices": DAY_CHOICES,
        "short": sum(1 for r in rows if r.shortfall),
        "shortages": [a for a in selectors.alerts(actor=user) if a.is_shortage],
        "rate_days": selectors.rate_days(),
        "pool": selectors.pool_size(),
        "can_manage": has_perm(user, Perm.SUPPLIES_MANAGE),
    }
    return render_page(request, "supplies/forecast.html", context)
