"""The command center's situation panel: today against yesterday, the epidemic curve, testing turnaround,
the response level and the open alarms — all in the actor's area.

Days are local (``TIME_ZONE``, Asia/Shanghai); "today" runs from local midnight until now, "yesterday" is the
whole previous local day. Flows (check-ins, swabs, new cases...) count what happened in each day. States (in
quarantine, open and overdue tasks, open alarms) are taken now and at the end of yesterday, read back from
the records' timestamps: a placement was open at T when it started by T and was not released before T; a
task was open at T when it was created by T and not finished (or cancelled: its last change) before T.

Every counter is one aggregate query over its table for both days. Counters whose module is not built yet
(vaccination) are None, which the page shows as "—".
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from epigrid.checkins.models import CheckIn
from epigrid.command.models import Alarm
from epigrid.command.selectors.layers import ACTIVE_ALARM_STATUSES, INFECTED, require_command_view
from epigrid.core.models import ResponseLevel, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.core.selectors import response_level_current
from epigrid.grids.models import OPEN_STATES, Task, TaskState
from epigrid.investigation.models import Case, Contact
from epigrid.investigation.selectors import epicurve
from epigrid.quarantine.models import OPEN_STATUSES, Placement, PlacementStatus
from epigrid.testing.models import Specimen, Tube, TubeResult

# The counters in the order the panel shows them.
COUNTERS = (
    "checkins",
    "sampled",
    "resulted",
    "positive",
    "new_cases",
    "contacts_traced",
    "contacts_placed",
    "in_quarantine",
    "vaccination_doses",
    "tasks_open",
    "tasks_overdue",
    "alarms_open",
)
EPICURVE_DAYS = 28
# Turnaround (tube opened → result) histogram buckets, in hours: [0, 6), [6, 12), [12, 24), [24, 48), 48+.
TURNAROUND_BUCKETS = (6, 12, 24, 48)


def _days(now: dt.datetime) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """(today, start of today, start of yesterday), local."""
    today = timezone.localdate(now)
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    return today, start, timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=1), dt.time.min))


def _pair(row: dict[str, int | None]) -> dict[str, int | None]:
    return {"today": row["t"] or 0, "yesterday": row["y"] or 0}


def _flow(qs, field: str, *, start: dt.datetime, yesterday: dt.datetime, now: dt.datetime, count=None):
    """How many rows of ``qs`` have ``field`` in today and in yesterday: one aggregate query."""
    expr = count or "pk"
    distinct = count is not None
    return _pair(
        qs.filter(**{f"{field}__gte": yesterday, f"{field}__lte": now}).aggregate(
            t=Count(expr, filter=Q(**{f"{field}__gte": start}), distinct=distinct),
            y=Count(expr, filter=Q(**{f"{field}__lt": start}), distinct=distinct),
        )
    )


def counters(*, actor: User, now: dt.datetime | None = None) -> dict[str, dict[str, int | None]]:
    """Today's and yesterday's value of every counter in :data:`COUNTERS`."""
    require_command_view(actor)
    now = now or timezone.now()
    _today, start, yesterday = _days(now)
    span = {"start": start, "yesterday": yesterday, "now": now}
    out: dict[str, dict[str, int | None]] = {}

    out["checkins"] = _flow(scoped(CheckIn.objects.all(), actor), "scanned_at", **span)
    out["sampled"] = _flow(scoped(Specimen.objects.all(), actor), "sampled_at", **span)
    tubes = (
        scoped(Tube.objects.all(), actor)
        .filter(resulted_at__gte=yesterday, resulted_at__lte=now)
        .aggregate(
            t=Count("pk", filter=Q(resulted_at__gte=start)),
            y=Count("pk", filter=Q(resulted_at__lt=start)),
            pt=Count("pk", filter=Q(resulted_at__gte=start, result=TubeResult.POSITIVE)),
            py=Count("pk", filter=Q(resulted_at__lt=start, result=TubeResult.POSITIVE)),
        )
    )
    out["resulted"] = {"today": tubes["t"], "yesterday": tubes["y"]}
    out["positive"] = {"today": tubes["pt"], "yesterday": tubes["py"]}
    out["new_cases"] = _flow(
        scoped(Case.objects.filter(merged_into__isnull=True, classification__in=INFECTED), actor),
        "created_at",
        **span,
    )
    out["contacts_traced"] = _flow(scoped(Contact.objects.all(), actor), "created_at", count="person", **span)
    out["contacts_placed"] = _flow(
        scoped(
            Placement.objects.filter(case_id__isnull=False).exclude(status=PlacementStatus.CANCELLED), actor
        ),
        "start",
        **span,
    )

    placements = scoped(Placement.objects.all(), actor).aggregate(
        t=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        y=Count(
            "pk",
            filter=Q(start__lt=start)
            & ~Q(status=PlacementStatus.CANCELLED)
            & (Q(released_at__isnull=True) | Q(released_at__gte=start)),
        ),
    )
    out["in_quarantine"] = _pair(placements)
    out["vaccination_doses"] = {"today": None, "yesterday": None}  # the vaccination module is not built yet

    open_then = Q(created_at__lt=start) & (
        Q(state__in=OPEN_STATES)
        | Q(state__in=(TaskState.DONE, TaskState.CANNOT), finished_at__gte=start)
        | Q(state=TaskState.CANCELLED, updated_at__gte=start)
    )
    tasks = scoped(Task.objects.all(), actor).aggregate(
        t=Count("pk", filter=Q(state__in=OPEN_STATES)),
        y=Count("pk", filter=open_then),
        ot=Count("pk", filter=Q(state__in=OPEN_STATES, due_at__lt=now)),
        oy=Count("pk", filter=open_then & Q(due_at__lt=start)),
    )
    out["tasks_open"] = {"today": tasks["t"], "yesterday": tasks["y"]}
    out["tasks_overdue"] = {"today": tasks["ot"], "yesterday": tasks["oy"]}

    alarms = scoped(Alarm.objects.all(), actor).aggregate(
        t=Count("pk", filter=Q(status__in=ACTIVE_ALARM_STATUSES)),
        y=Count("pk", filter=Q(raised_at__lt=start) & (Q(closed_at__isnull=True) | Q(closed_at__gte=start))),
    )
    out["alarms_open"] = _pair(alarms)
    return out


def turnaround(*, actor: User, now: dt.datetime | None = None) -> dict[str, Any]:
    """Hours from a tube's opening to its result, for tubes resulted today and yesterday: median, p90, count
    and a histogram over :data:`TURNAROUND_BUCKETS` (the tube opens with its first swab)."""
    now = now or timezone.now()
    _today, start, yesterday = _days(now)
    hours: dict[str, list[float]] = {"today": [], "yesterday": []}
    for created, resulted in (
        scoped(Tube.objects.all(), actor)
        .filter(resulted_at__gte=yesterday, resulted_at__lte=now)
        .values_list("created_at", "resulted_at")
    ):
        hours["today" if resulted >= start else "yesterday"].append(
            (resulted - created).total_seconds() / 3600
        )
    out: dict[str, Any] = {"buckets": list(TURNAROUND_BUCKETS)}
    for day, values in hours.items():
        values.sort()
        histogram = [0] * (len(TURNAROUND_BUCKETS) + 1)
        for h in values:
            histogram[sum(1 for edge in TURNAROUND_BUCKETS if h >= edge)] += 1
        out[day] = {
            "n": len(values),
            "p50": round(statistics.median(values), 1) if values else None,
            "p90": round(values[min(len(values) - 1, int(0.9 * (len(values) - 1) + 0.5))], 1)
            if values
            else None,
            "histogram": histogram,
        }
    return out


def epicurve_data(*, actor: User, now: dt.datetime | None = None, days: int = EPICURVE_DAYS) -> dict | None:
    """The investigation's epicurve as chart series, or None for accounts that may not see cases (the curve
    is the investigation's, which reads cases through ``case.view``)."""
    if not has_perm(actor, Perm.CASE_VIEW):
        return None
    rows = epicurve(actor=actor, days=days, now=now)
    return {
        "days": [r.day.isoformat() for r in rows],
        "confirmed": [r.confirmed for r in rows],
        "asymptomatic": [r.asymptomatic for r in rows],
        "known_source": [r.known_source for r in rows],
        "unknown_source": [r.unknown_source for r in rows],
    }


def situation(*, actor: User, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the situation panel shows, for the actor's area."""
    require_command_view(actor)
    now = now or timezone.now()
    today, _start, yesterday = _days(now)
    level = response_level_current()
    values = counters(actor=actor, now=now)
    return {
        "generated_at": now.isoformat(),
        "today": today.isoformat(),
        "yesterday": timezone.localdate(yesterday).isoformat(),
        "counters": values,
        "order": list(COUNTERS),
        "epicurve": epicurve_data(actor=actor, now=now),
        "turnaround": turnaround(actor=actor, now=now),
        "response_level": {"code": level, "label": str(ResponseLevel(level).label)},
        "open_alarms": values["alarms_open"]["today"],
    }
