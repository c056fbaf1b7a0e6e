"""Waste alarms in scope with their handling: the list (filters: kind, state, level, dates), Excel, and an
alarm's page where a holder of waste.manage acknowledges it or closes it with a note."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from epigrid.core.errors import DomainError
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.roles import Perm, has_perm
from epigrid.medwaste import export
from epigrid.medwaste.models import AlarmKind, AlarmLevel, AlarmState
from epigrid.medwaste.selectors import custody, oversight
from epigrid.medwaste.services.alarms import alarm_acknowledge, alarm_close

STATE_FILTERS = ("handling", *AlarmState.values)


def _date(value: str) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def _filters(request: HttpRequest) -> dict[str, object]:
    data = request.GET
    state = data.get("state", "handling")
    return {
        "kind": data.get("kind", "") if data.get("kind", "") in AlarmKind.values else "",
        "state": state if state in STATE_FILTERS else "",
        "level": data.get("level", "") if data.get("level", "") in AlarmLevel.values else "",
        "date_from": _date(data.get("from", "")),
        "date_to": _date(data.get("to", "")),
    }


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def alarm_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = paginate(request, oversight.alarm_list(actor=request.user, **filters))
    query = query_without_page(request)
    context = {
        "page": page,
        "query": query,
        "filters": filters,
        "kind_choices": AlarmKind.choices,
        "level_choices": AlarmLevel.choices,
        "state_choices": [("handling", _("Open or acknowledged")), *AlarmState.choices],
        "export_url": f"{reverse('medwaste:alarms_export')}?{query}",
    }
    return render_page(request, "medwaste/alarms.html", context, partial="rows")


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_GET
def alarms_export(request: HttpRequest) -> HttpResponse:
    alarms = oversight.alarm_list(actor=request.user, **_filters(request))
    return export.response(export.alarms_xlsx(alarms), "waste-alarms")


@never_cache
@staff_page(Perm.WASTE_VIEW)
@require_http_methods(["GET", "POST"])
def alarm_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alarm = oversight.alarm_get(actor=request.user, pk=pk)
    may_handle = has_perm(request.user, Perm.WASTE_MANAGE)
    error, status = "", 200
    if request.method == "POST":
        if not may_handle:
            raise PermissionDenied(_("Your role may not handle waste alarms."))
        action = request.POST.get("action", "")
        try:
            if action == "acknowledge":
                alarm_acknowledge(actor=request.user, alarm=alarm)
                messages.success(request, _("Alarm acknowledged."))
            elif action == "close":
                alarm_close(
                    actor=request.user,
                    alarm=alarm,
                    note=request.POST.get("note", ""),
                    expected_state=request.POST.get("state") or None,
                )
                messages.success(request, _("Alarm closed."))
            else:
                raise DomainError(_("Unknown action."))
            return redirect("medwaste:alarm_detail", pk=alarm.pk)
        except DomainError as err:
            error, status = err.message, err.status
            alarm.refresh_from_db()
    chain = custody.bag_chain(alarm.bag) if alarm.bag_id else []
    context = {
        "alarm": alarm,
        "chain": chain,
        "may_handle": may_handle and alarm.state in (AlarmState.OPEN, AlarmState.ACKNOWLEDGED),
        "error": error,
        "note": request.POST.get("note", "") if request.method == "POST" else "",
    }
    return render_page(request, "medwaste/alarms_detail.html", context, status=status)
