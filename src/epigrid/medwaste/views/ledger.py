"""An institution's (or producer's) ledger: per day the bags produced, stored and collected with their
weights, the bags of the period, and the chain of custody of one bag (``?bag=<label>``)."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.roles import Perm
from epigrid.medwaste import export
from epigrid.medwaste.models import Party
from epigrid.medwaste.selectors import custody, oversight

DEFAULT_DAYS = 30
MAX_DAYS = 366


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()

    def day(name: str) -> dt.date | None:
        try:
            return parse_date(request.GET.get(name, "") or "")
        except ValueError:
            return None

    date_to = day("to") or today
    date_from = day("from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    date_from = max(date_from, date_to - dt.timedelta(days=MAX_DAYS - 1))
    return date_from, date_to


def _party(request: HttpRequest) -> Party | None:
    pk = request.GET.get("party", "")
    if not pk:
        return None
    if not pk.isdigit():
        raise Http404
    return oversight.ledger_party(actor=request.user, pk=int(pk))


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def ledger_view(request: HttpRequest) -> HttpResponse:
    party = _party(request)
    date_from, date_to = _period(request)
    code = request.GET.get("bag", "").strip().upper()
    bag = custody.bag_get(actor=request.user, code=code) if code else None
    context = {
        "parties": oversight.ledger_parties(actor=request.user).only("pk", "name", "kind"),
        "party": party,
        "date_from": date_from,
        "date_to": date_to,
        "bag": bag,
        "chain": custody.bag_chain(bag) if bag is not None else [],
        "query": query_without_page(request),
    }
    if party is not None:
        context["days"] = oversight.ledger_days(party=party, date_from=date_from, date_to=date_to)
        context["page"] = paginate(
            request, oversight.ledger_bags(party=party, date_from=date_from, date_to=date_to)
        )
        context["export_url"] = f"{reverse('medwaste:ledger_export')}?{context['query']}"
    return render_page(request, "medwaste/ledger.html", context)


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def ledger_export(request: HttpRequest) -> HttpResponse:
    party = _party(request)
    if party is None:
        raise Http404
    date_from, date_to = _period(request)
    days = oversight.ledger_days(party=party, date_from=date_from, date_to=date_to)
    bags = oversight.ledger_bags(party=party, date_from=date_from, date_to=date_to)
    return export.response(export.ledger_xlsx(days, bags), f"waste-ledger-{party.pk}")
