"""Today's open bags by age: counts per age bucket, per holder and stage, and the oldest bags first.

The counts are one grouped query; the list is a page of the oldest bags (its count is the grouped total,
not a second ``COUNT``), so the page stays fast at 100,000 open bags (``epigrid bench waste``)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core.htmx import PAGE_SIZE, query_without_page, render_page, staff_page
from epigrid.core.roles import Perm
from epigrid.medwaste import export
from epigrid.medwaste.models import Stage
from epigrid.medwaste.selectors import oversight


def _filters(request: HttpRequest) -> tuple[int | None, str | None]:
    holder = request.GET.get("holder", "")
    stage = request.GET.get("stage", "")
    return (int(holder) if holder.isdigit() else None), (stage if stage in oversight.OPEN_STAGES else None)


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def open_bags(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    holder, stage = _filters(request)
    summary = oversight.open_bags_summary(actor=request.user, now=now, holder=holder, stage=stage)
    paginator = Paginator(
        oversight.open_bags_oldest(actor=request.user, holder=holder, stage=stage), PAGE_SIZE
    )
    paginator.count = summary.total  # known from the grouped query: no second COUNT over the open bags
    page = paginator.get_page(request.GET.get("page"))
    for bag in page.object_list:
        bag.age_hours = round((now - bag.labelled_at).total_seconds() / 3600, 1)
    query = query_without_page(request)
    context = {
        "summary": summary,
        "page": page,
        "query": query,
        "holder": holder,
        "stage": stage or "",
        "stage_choices": [(value, label) for value, label in Stage.choices if value in oversight.OPEN_STAGES],
        "export_url": f"{reverse('medwaste:open_bags_export')}?{query}",
        "now": now,
    }
    return render_page(request, "medwaste/oversight.html", context, partial="rows")


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def open_bags_export(request: HttpRequest) -> HttpResponse:
    holder, stage = _filters(request)
    bags = oversight.open_bags_oldest(actor=request.user, holder=holder, stage=stage)
    return export.response(export.open_bags_xlsx(bags, now=timezone.now()), "open-bags")
