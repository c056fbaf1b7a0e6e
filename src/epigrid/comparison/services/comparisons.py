"""Comparison rules, their runs and action lists (信息比对).

A rule compares the key-region archive (``Arrival``) of its area with another archive:

- ``not_tested``: arrivals at least ``hours`` hours ago (48 by default) with no specimen sampled since they
  arrived (a test taken late still counts: the list is of people who still need one). Exactly ``hours``
  hours after arrival the person is due; a swab taken at the minute of arrival counts.
- ``not_screened``: arrivals with no *done* "screen an arrival" grid task for them finished since arrival.
- ``not_vaccinated``: arrivals without the vaccination ``need``ed (first dose, full series or a booster) for
  ``disease`` in the vaccination archive.
- ``venue_visitors``: arrivals who were at ``venue_id`` between ``from`` and ``to`` (a check-in overlapping
  the period).
- ``no_grid``: arrivals whose person lives in no known grid.

Every kind looks at the arrivals of the last ``window_days`` days (14) in the rule's area; the first three
only at arrivals from the risk ``levels`` given (medium and high by default; an empty list: every arrival,
whatever its origin's level).

A run is a handful of set-based queries whatever the number of arrivals (an ``EXISTS`` per archive, served by
its (person, time) index), then one bulk insert of the hits: one hit per person, for the person's latest
arrival that matches. Hits become grid tasks with one click (``run_tasks_create``), routed to each person's
grid; the dedupe key of a task is rule, person and arrival, so a repeat run or a second click creates
nothing twice, and a person who has an open task of the same type gets none.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, TextChoices, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from epigrid.checkins.models import CheckIn
from epigrid.comparison.models import (
    Arrival,
    ComparisonHit,
    ComparisonKind,
    ComparisonRule,
    ComparisonRun,
    Schedule,
)
from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import DiseaseProfile, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code, prefix_q, scoped
from epigrid.core.selectors import GENERAL, district_code, general_rule
from epigrid.grids.models import OPEN_STATES, Task, TaskState, TaskType
from epigrid.grids.services import TaskSpec, tasks_create_many
from epigrid.healthcode.models import RISK_RANK, RiskLevel
from epigrid.places.models import Venue
from epigrid.testing.models import Specimen
from epigrid.vaccination.models import VaccinationStatus

logger = logging.getLogger(__name__)

DEFAULT_HOURS = 48
DEFAULT_WINDOW_DAYS = 14
DEFAULT_LEVELS = [RiskLevel.HIGH.value, RiskLevel.MEDIUM.value]
MAX_HOURS = 30 * 24
MAX_WINDOW_DAYS = 90
HIT_BATCH = 2000
# How often the periodic job looks for due rules; a rule is due this much before its interval has passed, so
# that an hourly rule runs every hour and not every hour plus a tick.
SCHEDULE_TICK = dt.timedelta(minutes=5)
SCHEDULE_EVERY = {Schedule.HOURLY: dt.timedelta(hours=1), Schedule.DAILY: dt.timedelta(days=1)}


class Need(TextChoices):
    FIRST = "first", gettext_lazy("At least one dose")
    FULL = "full", gettext_lazy("A full series")
    BOOSTER = "booster", gettext_lazy("A booster")


# The parameters each kind takes, in the order the pages show them.
KIND_PARAMS: dict[str, tuple[str, ...]] = {
    ComparisonKind.NOT_TESTED: ("hours", "window_days", "levels"),
    ComparisonKind.NOT_SCREENED: ("window_days", "levels"),
    ComparisonKind.NOT_VACCINATED: ("disease", "need", "window_days", "levels"),
    ComparisonKind.VENUE_VISITORS: ("venue_id", "from", "to", "window_days"),
    ComparisonKind.NO_GRID: ("window_days",),
}

# The grid task a hit of each kind becomes.
TASK_TYPES: dict[str, str] = {
    ComparisonKind.NOT_TESTED: TaskType.ARRIVAL_TEST,
    ComparisonKind.NOT_SCREENED: TaskType.SCREEN_ARRIVAL,
    ComparisonKind.NOT_VACCINATED: TaskType.ARRIVAL_VACCINATION,
    ComparisonKind.VENUE_VISITORS: TaskType.VENUE_VISITOR,
    # Nobody knows which grid they stay in: the task goes to the district, whose staff find them and screen
    # them (the screening form asks where they live now).
    ComparisonKind.NO_GRID: TaskType.SCREEN_ARRIVAL,
}


def _require(actor: User | None, perm: str = Perm.COMPARISON_RUN) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def _require_area(actor: User | None, org_code: str) -> None:
    if actor is not None and not in_scope_code(actor, org_code):
        raise Forbidden(_("This rule is outside your jurisdiction."))


# --- parameters -------------------------------------------------------------------------------------------


def _int(value: Any, field: str, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not (isinstance(value, int) or str(value).strip().isdigit()):
        raise DomainError(_("Enter a whole number."), field=field)
    number = int(value)
    if not low <= number <= high:
        raise DomainError(
            _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high}, field=field
        )
    return number


def _levels(value: Any) -> list[str]:
    if value is None:
        return list(DEFAULT_LEVELS)
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise DomainError(_("Choose risk levels from the list."), field="levels")
    levels = {str(v).strip() for v in value}
    if not levels <= set(RiskLevel.values):
        raise DomainError(_("Choose risk levels from the list."), field="levels")
    return sorted(levels, key=lambda level: -RISK_RANK[level])


def _moment(value: Any, field: str) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else parse_datetime(str(value or "").strip())
    if moment is None:
        raise DomainError(_("Enter a date and time."), field=field)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def default_disease_code() -> str:
    return str(general_rule("default_disease", "covid19"))


def _disease(code: Any) -> DiseaseProfile:
    code = str(code or "").strip() or default_disease_code()
    disease = DiseaseProfile.objects.exclude(code=GENERAL).filter(code=code).first()
    if disease is None:
        raise DomainError(_("Unknown disease."), field="disease")
    return disease


def _venue(actor: User | None, venue_id: Any) -> Venue:
    from epigrid.places.selectors import venue_list

    try:
        pk = int(venue_id)
    except (TypeError, ValueError):
        raise DomainError(_("Choose a venue."), field="venue_id") from None
    venues = Venue.objects.all() if actor is None else venue_list(actor=actor)
    venue = venues.filter(pk=pk).first()
    if venue is None:
        raise DomainError(_("Choose a venue."), field="venue_id")
    return venue


def params_clean(*, actor: User | None, kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters of a rule of ``kind`` as stored: known keys only, defaults filled in, each checked.
    Raises DomainError naming the parameter that is wrong."""
    if kind not in ComparisonKind.values:
        raise DomainError(_("Choose what to compare."), field="kind")
    params = dict(params or {})
    clean: dict[str, Any] = {}
    for name in KIND_PARAMS[kind]:
        value = params.get(name)
        if name == "hours":
            clean[name] = _int(value, name, 1, MAX_HOURS, DEFAULT_HOURS)
        elif name == "window_days":
            clean[name] = _int(value, name, 1, MAX_WINDOW_DAYS, DEFAULT_WINDOW_DAYS)
        elif name == "levels":
            clean[name] = _levels(value)
        elif name == "disease":
            clean[name] = _disease(value).code
        elif name == "need":
            need = str(value or Need.FULL)
            if need not in Need.values:
                raise DomainError(_("Choose which doses are needed."), field="need")
            clean[name] = need
        elif name == "venue_id":
            clean[name] = _venue(actor, value).pk
        elif name in ("from", "to"):
            clean[name] = _moment(value, name).isoformat()
    if kind == ComparisonKind.VENUE_VISITORS and _moment(clean["from"], "from") >= _moment(clean["to"], "to"):
        raise DomainError(_("The end of the period must come after its start."), field="to")
    return clean


def effective_params(rule: ComparisonRule) -> dict[str, Any]:
    """A stored rule's parameters with the defaults of keys it does not have (rules saved before a key
    existed); not checked again (the venue of an old rule may be gone: the run says so)."""
    params = dict(rule.params or {})
    defaults: dict[str, Any] = {
        "hours": DEFAULT_HOURS,
        "window_days": DEFAULT_WINDOW_DAYS,
        "levels": list(DEFAULT_LEVELS),
        "need": Need.FULL.value,
    }
    for name in KIND_PARAMS[rule.kind]:
        if name not in params and name in defaults:
            params[name] = defaults[name]
    if rule.kind == ComparisonKind.NOT_VACCINATED and not params.get("disease"):
        params["disease"] = default_disease_code()
    return params


# --- rules ------------------------------------------------------------------------------------------------


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Name the rule."), field="name")
    return name[:120]


def _schedule(schedule: str) -> str:
    if schedule not in Schedule.values:
        raise DomainError(_("Choose when the rule runs."), field="schedule")
    return schedule


def rule_create(
    *,
    actor: User | None,
    name: str,
    kind: str,
    params: dict[str, Any] | None = None,
    schedule: str = Schedule.MANUAL,
) -> ComparisonRule:
    """A saved comparison for the actor's area (the district's for the system)."""
    _require(actor)
    clean = params_clean(actor=actor, kind=kind, params=params)
    org_code = actor.org_code if actor is not None else district_code()
    if not org_code:
        raise DomainError(_("Your account has no area."), field="name")
    with transaction.atomic():
        rule = ComparisonRule.objects.create(
            name=_name(name),
            kind=kind,
            params=clean,
            schedule=_schedule(schedule),
            org_code=org_code,
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(
            actor=actor,
            action="comparison.rule_create",
            obj=rule,
            detail={"kind": kind, "params": clean, "schedule": rule.schedule},
        )
    return rule


def rule_update(
    *,
    actor: User | None,
    rule: ComparisonRule,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    schedule: str | None = None,
    active: bool | None = None,
) -> ComparisonRule:
    """Change a rule's name, parameters (checked as on creation), schedule or whether it is switched on
    (a rule switched off does not run on its schedule; it can still be run by hand)."""
    _require(actor)
    _require_area(actor, rule.org_code)
    changed: dict[str, Any] = {}
    if name is not None and _name(name) != rule.name:
        changed["name"] = _name(name)
    if params is not None:
        clean = params_clean(actor=actor, kind=rule.kind, params=params)
        if clean != rule.params:
            changed["params"] = clean
    if schedule is not None and _schedule(schedule) != rule.schedule:
        changed["schedule"] = schedule
    if active is not None and bool(active) != rule.active:
        changed["active"] = bool(active)
    if not changed:
        return rule
    with transaction.atomic():
        for field, value in changed.items():
            setattr(rule, field, value)
        rule.save(update_fields=list(changed))
        audit_record(actor=actor, action="comparison.rule_update", obj=rule, detail={"changed": changed})
    return rule


# --- runs -------------------------------------------------------------------------------------------------

_ROW_FIELDS = ("pk", "person_id", "org_code", "arrived_at", "origin", "risk_level", "travel_mode")


@dataclass
class _Query:
    arrivals: QuerySet  # what the run compared
    hits: QuerySet  # those that are hits, with the kind's extra columns annotated
    extra: tuple[str, ...] = ()
    context: dict[str, Any] | None = None  # what the reasons need (the disease's or the venue's name)


def _arrivals(rule: ComparisonRule, params: dict[str, Any], now: dt.datetime) -> QuerySet:
    since = now - dt.timedelta(days=int(params["window_days"]))
    arrivals = Arrival.objects.filter(
        prefix_q("org_code", rule.org_code), arrived_at__gte=since, arrived_at__lte=now
    )
    levels = params.get("levels") or []
    if levels:
        arrivals = arrivals.filter(risk_level__in=levels)
    return arrivals


def _query(rule: ComparisonRule, params: dict[str, Any], now: dt.datetime) -> _Query:
    arrivals = _arrivals(rule, params, now)
    person = OuterRef("person_id")
    kind = rule.kind
    if kind == ComparisonKind.NOT_TESTED:
        tested = Specimen.objects.filter(
            person_id=person, sampled_at__gte=OuterRef("arrived_at"), sampled_at__lte=now
        )
        last = Specimen.objects.filter(person_id=person, sampled_at__lte=now).order_by("-sampled_at")
        hits = (
            arrivals.filter(arrived_at__lte=now - dt.timedelta(hours=int(params["hours"])))
            .filter(~Exists(tested))
            .annotate(last_test_at=Subquery(last.values("sampled_at")[:1]))
        )
        return _Query(arrivals, hits, ("last_test_at",))
    if kind == ComparisonKind.NOT_SCREENED:
        screened = Task.objects.filter(
            type=TaskType.SCREEN_ARRIVAL,
            state=TaskState.DONE,
            subject_person_id=person,
            finished_at__gte=OuterRef("arrived_at"),
        )
        return _Query(arrivals, arrivals.filter(~Exists(screened)))
    if kind == ComparisonKind.NOT_VACCINATED:
        disease = _disease(params.get("disease"))
        need = {
            Need.FIRST: Q(doses__gte=1),
            Need.FULL: Q(series_complete=True),
            Need.BOOSTER: Q(boosters__gte=1),
        }[params.get("need") or Need.FULL]
        status = VaccinationStatus.objects.filter(person_id=person, disease_id=disease.pk)
        hits = arrivals.filter(~Exists(status.filter(need))).annotate(
            doses=Coalesce(Subquery(status.values("doses")[:1]), Value(0)),
            boosters=Coalesce(Subquery(status.values("boosters")[:1]), Value(0)),
        )
        return _Query(arrivals, hits, ("doses", "boosters"), {"disease": disease})
    if kind == ComparisonKind.VENUE_VISITORS:
        from epigrid.checkins.selectors import max_stay

        venue = Venue.objects.filter(pk=params.get("venue_id")).first()
        if venue is None:
            raise DomainError(_("The rule's venue no longer exists."), field="venue_id")
        start, end = _moment(params["from"], "from"), _moment(params["to"], "to")
        # The lower bound on scanned_at keeps the (person, scanned_at) index range tight.
        visits = CheckIn.objects.filter(
            person_id=person,
            venue_id=venue.pk,
            scanned_at__gte=start - max_stay(),
            scanned_at__lt=end,
            leave_at__gt=start,
        )
        hits = arrivals.filter(Exists(visits)).annotate(
            visited_at=Subquery(visits.order_by("scanned_at").values("scanned_at")[:1])
        )
        return _Query(arrivals, hits, ("visited_at",), {"venue": venue})
    if kind == ComparisonKind.NO_GRID:
        return _Query(arrivals, arrivals.filter(person__grid__isnull=True))
    raise DomainError(_("Choose what to compare."), field="kind")


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _detail(rule: ComparisonRule, params: dict[str, Any], row: dict, query: _Query, now: dt.datetime) -> dict:
    detail: dict[str, Any] = {
        "arrived_at": _iso(row["arrived_at"]),
        "hours_since": int((now - row["arrived_at"]).total_seconds() // 3600),
        "origin": row["origin"],
        "risk_level": row["risk_level"],
        "travel_mode": row["travel_mode"],
    }
    context = query.context or {}
    if rule.kind == ComparisonKind.NOT_TESTED:
        detail.update({"hours": int(params["hours"]), "last_test_at": _iso(row["last_test_at"])})
    elif rule.kind == ComparisonKind.NOT_VACCINATED:
        disease = context["disease"]
        detail.update(
            {
                "disease": disease.code,
                "disease_name": disease.name_zh,
                "disease_name_en": disease.name_en,
                "need": params.get("need") or Need.FULL,
                "doses": row["doses"],
                "boosters": row["boosters"],
            }
        )
    elif rule.kind == ComparisonKind.VENUE_VISITORS:
        venue = context["venue"]
        detail.update({"venue_id": venue.pk, "venue": venue.name, "visited_at": _iso(row["visited_at"])})
    return detail


def hit_reason(kind: str, detail: dict[str, Any]) -> str:
    """Why a person is on the list, in the reader's language (pages and files; the stored ``reason`` is in
    the language of the run)."""
    since = int(detail.get("hours_since") or 0)
    if kind == ComparisonKind.NOT_TESTED:
        return ngettext(
            "Arrived %(since)d hour ago, not tested since (the rule: within %(hours)d hours)",
            "Arrived %(since)d hours ago, not tested since (the rule: within %(hours)d hours)",
            since,
        ) % {"since": since, "hours": int(detail.get("hours") or DEFAULT_HOURS)}
    if kind == ComparisonKind.NOT_SCREENED:
        return ngettext(
            "Arrived %(since)d hour ago, not screened by the grid since",
            "Arrived %(since)d hours ago, not screened by the grid since",
            since,
        ) % {"since": since}
    if kind == ComparisonKind.NOT_VACCINATED:
        from django.utils.translation import get_language

        zh = (get_language() or "").startswith("zh")
        disease = detail.get("disease_name" if zh else "disease_name_en") or detail.get("disease", "")
        doses = int(detail.get("doses") or 0)
        if not doses:
            return _("No dose against %(disease)s on record") % {"disease": disease}
        if detail.get("need") == Need.BOOSTER and doses:
            return ngettext(
                "No booster against %(disease)s on record (%(doses)d dose)",
                "No booster against %(disease)s on record (%(doses)d doses)",
                doses,
            ) % {"disease": disease, "doses": doses}
        return ngettext(
            "Series against %(disease)s not complete (%(doses)d dose on record)",
            "Series against %(disease)s not complete (%(doses)d doses on record)",
            doses,
        ) % {"disease": disease, "doses": doses}
    if kind == ComparisonKind.VENUE_VISITORS:
        visited = parse_datetime(detail.get("visited_at") or "")
        when = timezone.localtime(visited).strftime("%Y-%m-%d %H:%M") if visited else ""
        return _("Checked in at %(venue)s at %(at)s") % {"venue": detail.get("venue", ""), "at": when}
    if kind == ComparisonKind.NO_GRID:
        return _("Lives in no known grid")
    return ""


def rule_run(*, actor: User | None, rule: ComparisonRule, now: dt.datetime | None = None) -> ComparisonRun:
    """Compare now: a run with one hit per person (their latest matching arrival), audited, and the event
    ``comparison.run`` {run_id, rule_id, kind, hits}. ``actor=None``: the scheduler."""
    _require(actor)
    _require_area(actor, rule.org_code)
    now = now or timezone.now()
    params = effective_params(rule)
    query = _query(rule, params, now)
    rows = (
        query.hits.order_by("person_id", "-arrived_at", "-pk")
        .values(*_ROW_FIELDS, *query.extra)
        .iterator(chunk_size=5000)
    )
    with transaction.atomic():
        run = ComparisonRun.objects.create(
            rule=rule,
            org_code=rule.org_code,
            started_at=now,
            run_by=actor if actor is not None and actor.pk else None,
        )
        compared = query.arrivals.count()
        batch: list[ComparisonHit] = []
        seen: set[int] = set()
        for row in rows:
            if row["person_id"] in seen:
                continue  # an earlier arrival of someone already on the list
            seen.add(row["person_id"])
            detail = _detail(rule, params, row, query, now)
            batch.append(
                ComparisonHit(
                    run=run,
                    person_id=row["person_id"],
                    arrival_id=row["pk"],
                    org_code=row["org_code"],
                    reason=hit_reason(rule.kind, detail)[:200],
                    detail=detail,
                )
            )
            if len(batch) >= HIT_BATCH:
                ComparisonHit.objects.bulk_create(batch)
                batch = []
        ComparisonHit.objects.bulk_create(batch)
        run.compared, run.hits, run.finished_at = compared, len(seen), timezone.now()
        run.save(update_fields=["compared", "hits", "finished_at"])
        ComparisonRule.objects.filter(pk=rule.pk).update(last_run_at=now)
        rule.last_run_at = now
        audit_record(
            actor=actor,
            action="comparison.run",
            obj=run,
            detail={"rule": rule.pk, "kind": rule.kind, "compared": compared, "hits": run.hits},
        )
        events.publish(
            "comparison.run",
            payload={"run_id": run.pk, "rule_id": rule.pk, "kind": rule.kind, "hits": run.hits},
            org_code=rule.org_code,
        )
    return run


def rule_due(rule: ComparisonRule, now: dt.datetime) -> bool:
    """Whether a scheduled rule should run now (switched on, and its interval has passed since it last ran)."""
    every = SCHEDULE_EVERY.get(rule.schedule)
    if every is None or not rule.active:
        return False
    return rule.last_run_at is None or now - rule.last_run_at >= every - SCHEDULE_TICK


def rules_run_due(*, now: dt.datetime | None = None) -> list[ComparisonRun]:
    """Run every scheduled rule that is due (the periodic job). A rule that fails is logged and skipped;
    the others still run."""
    now = now or timezone.now()
    runs = []
    rules = ComparisonRule.objects.filter(active=True, schedule__in=list(SCHEDULE_EVERY)).order_by("pk")
    for rule in rules:
        if not rule_due(rule, now):
            continue
        try:
            runs.append(rule_run(actor=None, rule=rule, now=now))
        except Exception:
            logger.exception("scheduled comparison rule %s failed", rule.pk)
    return runs


# --- action lists: grid tasks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TasksOutcome:
    hits: int  # people on the list (as filtered)
    created: int  # new tasks
    already: int  # people who had a task for this already (open of the same type, or made by this rule)


def _title(kind: str, detail: dict[str, Any]) -> str:
    arrived = parse_datetime(detail.get("arrived_at") or "")
    day = timezone.localdate(arrived).isoformat() if arrived else ""
    origin = detail.get("origin") or "—"
    if kind == ComparisonKind.NOT_TESTED:
        return _("Arrange a test: arrived from %(origin)s on %(day)s, not tested since") % {
            "origin": origin,
            "day": day,
        }
    if kind == ComparisonKind.NOT_SCREENED:
        return _("Screen an arrival from %(origin)s (arrived %(day)s)") % {"origin": origin, "day": day}
    if kind == ComparisonKind.NOT_VACCINATED:
        return _("Check the vaccination of an arrival from %(origin)s") % {"origin": origin}
    if kind == ComparisonKind.VENUE_VISITORS:
        return _("Check on an arrival who was at %(venue)s") % {"venue": detail.get("venue", "")}
    return _("Find where an arrival from %(origin)s stays and screen them") % {"origin": origin}


def run_tasks_create(
    *, actor: User | None, run: ComparisonRun, within: str = "", hit_ids: list[int] | None = None
) -> TasksOutcome:
    """One grid task per person on the run's list (those in the actor's scope, under ``within`` when given,
    or only ``hit_ids``), routed to the person's grid. A person with an open task of the same type, or with
    the task this rule made for the same arrival, gets none. Marks the hits ``task_created``. Needs
    comparison.run, and task.dispatch or grid.manage (checked by ``tasks_create_many``)."""
    _require(actor)
    _require_area(actor, run.org_code)
    if actor is not None and not (has_perm(actor, Perm.TASK_DISPATCH) or has_perm(actor, Perm.GRID_MANAGE)):
        raise Forbidden(_("Your role may not do this."))
    rule = run.rule
    task_type = TASK_TYPES[rule.kind]
    hits = ComparisonHit.objects.filter(run=run)
    if actor is not None:
        hits = scoped(hits, actor)
    if within:
        hits = hits.filter(prefix_q("org_code", within))
    if hit_ids is not None:
        hits = hits.filter(pk__in=hit_ids)
    rows = list(hits.order_by("pk").values_list("pk", "person_id", "arrival_id", "detail"))
    busy: set[int] = set()
    people = sorted({person_id for _pk, person_id, _a, _d in rows})
    for start in range(0, len(people), 5000):
        busy.update(
            Task.objects.filter(
                type=task_type, state__in=OPEN_STATES, subject_person_id__in=people[start : start + 5000]
            ).values_list("subject_person_id", flat=True)
        )
    specs = []
    for _pk, person_id, arrival_id, detail in rows:
        if person_id in busy:
            continue
        params = {
            "arrived_at": detail.get("arrived_at", ""),
            "level": detail.get("risk_level", ""),
            "origin": detail.get("origin", ""),
            "source": "comparison",
            "rule_id": rule.pk,
            "run_id": run.pk,
        }
        for key in ("venue_id", "disease", "need"):
            if key in detail:
                params[key] = detail[key]
        specs.append(
            TaskSpec(
                type=task_type,
                title=_title(rule.kind, detail),
                dedupe_key=f"comparison:{rule.pk}:{person_id}:{arrival_id or 0}",
                person_id=person_id,
                params=params,
                source="comparison",
                source_ref=str(run.pk),
            )
        )
    with transaction.atomic():
        made = tasks_create_many(actor=actor, specs=specs) if specs else 0
        ids = [pk for pk, *_rest in rows]
        for start in range(0, len(ids), 5000):
            ComparisonHit.objects.filter(pk__in=ids[start : start + 5000]).update(task_created=True)
        if made:
            ComparisonRun.objects.filter(pk=run.pk).update(tasks_created=F("tasks_created") + made)
            run.tasks_created += made
        audit_record(
            actor=actor,
            action="comparison.tasks_create",
            obj=run,
            detail={"hits": len(rows), "created": made, "within": within},
        )
    return TasksOutcome(hits=len(rows), created=made, already=len(rows) - made)
