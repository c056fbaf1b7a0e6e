"""The command center's situation panel: today against yesterday, the epidemic curve, testing turnaround,
the response level and the open alarms — all in the actor's area.

Days are local (``TIME_ZONE``, Asia/Shanghai); "today" runs from local midnight until now, "yesterday" is the
whole previous local day. Flows (check-ins, swabs, new cases...) count what happened in each day. States (in
quarantine, open and overdue tasks, open alarms) are taken now and at the end of yesterday, read back from
the records' timestamps: a placement was open at T when it started by T and was not released before T; a
task was open at T when it was created by T and not finished (or cancelled: its last change) before T.

Each counter is one count (or one aggregate) per day over its table; yesterday's column is over and is kept
for :data:`YESTERDAY_SECONDS` per area, so a refresh counts only today. Vaccination doses are vaccination's
``doses_given`` (doses given in the day, by when they were given).
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from epigrid.checkins.models import CheckIn
from epigrid.command.models import Alarm
from epigrid.command.selectors.layers import ACTIVE_ALARM_STATUSES, INFECTED, require_command_view
from epigrid.core.models import ResponseLevel, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.core.selectors import orgunit_list, response_level_current
from epigrid.core.ttlcache import TTLCache
from epigrid.grids.models import OPEN_STATES, Task, TaskState
from epigrid.investigation.models import Case, Contact
from epigrid.investigation.selectors import epicurve
from epigrid.quarantine.models import OPEN_STATUSES, Placement, PlacementStatus
from epigrid.testing.models import Specimen, Tube, TubeResult
from epigrid.vaccination.selectors import doses_given

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


def _count(qs, field: str, lo: dt.datetime, hi: dt.datetime, *, distinct: str = "") -> int:
    """Rows of ``qs`` with ``field`` in [lo, hi) (distinct values of ``distinct`` when given)."""
    qs = qs.filter(**{f"{field}__gte": lo, f"{field}__lt": hi})
    return qs.aggregate(n=Count(distinct, distinct=True))["n"] if distinct else qs.count()


def _flows(actor: User, lo: dt.datetime, hi: dt.datetime) -> dict[str, int]:
    """What happened in [lo, hi): check-ins, people swabbed, tubes resulted and positive, new infected cases,
    contacts traced (people), contacts placed in quarantine, vaccination doses given."""
    # Check-ins are named by their venue's unit code. Listing the codes in scope lets the (org_code,
    # scanned_at) index seek each unit's day; a prefix range would read every retained day of the whole area.
    codes = list(orgunit_list(actor=actor).values_list("code", flat=True))
    tubes = (
        scoped(Tube.objects.all(), actor)
        .filter(resulted_at__gte=lo, resulted_at__lt=hi)
        .aggregate(n=Count("pk"), positive=Count("pk", filter=Q(result=TubeResult.POSITIVE)))
    )
    placed = Placement.objects.filter(case_id__isnull=False).exclude(status=PlacementStatus.CANCELLED)
    return {
        "checkins": _count(scoped(CheckIn.objects.filter(org_code__in=codes), actor), "scanned_at", lo, hi),
        "sampled": _count(scoped(Specimen.objects.all(), actor), "sampled_at", lo, hi),
        "resulted": tubes["n"],
        "positive": tubes["positive"],
        "new_cases": _count(
            scoped(Case.objects.filter(merged_into__isnull=True, classification__in=INFECTED), actor),
            "created_at",
            lo,
            hi,
        ),
        "contacts_traced": _count(
            scoped(Contact.objects.all(), actor), "created_at", lo, hi, distinct="person"
        ),
        "contacts_placed": _count(scoped(placed, actor), "start", lo, hi),
        "vaccination_doses": doses_given(actor=actor, start=lo, end=hi),
    }


def _states_now(actor: User, now: dt.datetime) -> dict[str, int]:
    """People in quarantine, open and overdue tasks, open alarms: now, by their status."""
    tasks = scoped(Task.objects.filter(state__in=OPEN_STATES), actor).aggregate(
        n=Count("pk"), late=Count("pk", filter=Q(due_at__lt=now))
    )
    return {
        "in_quarantine": scoped(Placement.objects.filter(status__in=OPEN_STATUSES), actor).count(),
        "tasks_open": tasks["n"],
        "tasks_overdue": tasks["late"],
        "alarms_open": scoped(Alarm.objects.filter(status__in=ACTIVE_ALARM_STATUSES), actor).count(),
    }


def _states_at(actor: User, at: dt.datetime) -> dict[str, int]:
    """The same states at an earlier moment, read back from the records' timestamps (see the module)."""
    open_then = Q(created_at__lt=at) & (
        Q(state__in=OPEN_STATES)
        | Q(state__in=(TaskState.DONE, TaskState.CANNOT), finished_at__gte=at)
        | Q(state=TaskState.CANCELLED, updated_at__gte=at)
    )
    tasks = scoped(Task.objects.filter(open_then), actor).aggregate(
        n=Count("pk"), late=Count("pk", filter=Q(due_at__lt=at))
    )
    in_quarantine = (
        Q(start__lt=at)
        & ~Q(status=PlacementStatus.CANCELLED)
        & (Q(released_at__isnull=True) | Q(released_at__gte=at))
    )
    alarms = Q(raised_at__lt=at) & (Q(closed_at__isnull=True) | Q(closed_at__gte=at))
    return {
        "in_quarantine": scoped(Placement.objects.filter(in_quarantine), actor).count(),
        "tasks_open": tasks["n"],
        "tasks_overdue": tasks["late"],
        "alarms_open": scoped(Alarm.objects.filter(alarms), actor).count(),
    }


# Yesterday is over: its column is kept for a few minutes per area (records that arrive late — offline
# uploads dated yesterday — show within that time), so a refresh reads only today.
YESTERDAY_SECONDS = 300.0
_yesterday: TTLCache[dict[str, Any]] = TTLCache(ttl=YESTERDAY_SECONDS, max_size=1000)


def counters(*, actor: User, now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Today's (until ``now``) and yesterday's value of every counter in :data:`COUNTERS`."""
    require_command_view(actor)
    now = now or timezone.now()
    _today, start, yesterday = _days(now)
    today_values = {**_flows(actor, start, now + dt.timedelta(microseconds=1)), **_states_now(actor, now)}
    yesterday_values = _yesterday.get_or_load(
        (actor.org_code, yesterday.isoformat()),
        lambda: {**_flows(actor, yesterday, start), **_states_at(actor, start)},
    )
    return {key: {"today": today_values[key], "yesterday": yesterday_values[key]} for key in COUNTERS}


def _turnaround_day(actor: User, lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    """Median, p90, count and histogram of the hours from opening to result of the tubes resulted in [lo, hi).
    The database subtracts; only one duration a tube comes back (two timestamps a row cost several times
    more to convert at 10,000 tubes a day)."""
    took = ExpressionWrapper(F("resulted_at") - F("created_at"), output_field=DurationField())
    hours = sorted(
        d.total_seconds() / 3600
        for d in scoped(Tube.objects.filter(resulted_at__gte=lo, resulted_at__lt=hi), actor)
        .annotate(took=took)
        .values_list("took", flat=True)
    )
    histogram = [0] * (len(TURNAROUND_BUCKETS) + 1)
    for h in hours:
        histogram[sum(1 for edge in TURNAROUND_BUCKETS if h >= edge)] += 1
    return {
        "n": len(hours),
        "p50": round(statistics.median(hours), 1) if hours else None,
        "p90": round(hours[min(len(hours) - 1, int(0.9 * (len(hours) - 1) + 0.5))], 1) if hours else None,
        "histogram": histogram,
    }


def turnaround(*, actor: User, now: dt.datetime | None = None) -> dict[str, Any]:
    """Hours from a tube's opening to its result, for tubes resulted today and yesterday: median, p90, count
    and a histogram over :data:`TURNAROUND_BUCKETS` (the tube opens with its first swab). Yesterday's is kept
    like the counters'."""
    now = now or timezone.now()
    _today, start, yesterday = _days(now)
    return {
        "buckets": list(TURNAROUND_BUCKETS),
        "today": _turnaround_day(actor, start, now + dt.timedelta(microseconds=1)),
        "yesterday": _yesterday.get_or_load(
            (actor.org_code, yesterday.isoformat(), "turnaround"),
            lambda: _turnaround_day(actor, yesterday, start),
        ),
    }


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
