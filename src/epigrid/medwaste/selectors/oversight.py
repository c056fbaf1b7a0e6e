"""What the authorities read: open bags by age, a party's ledger, the alarms and their handling, monthly
totals. Every read is scoped (``core.scope``) and aggregated in the database.

The age of an open bag counts from its labelling (how long the waste has existed without being burnt);
the storage alarm counts from the bag's arrival in temporary storage (``rules``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from epigrid.core.models import User
from epigrid.core.scope import scoped
from epigrid.medwaste.models import (
    AlarmState,
    Bag,
    CustodyRecord,
    Party,
    PartyKind,
    Stage,
    WasteAlarm,
    WasteCategory,
)

__all__ = [
    "AGE_BUCKETS",
    "OPEN_STAGES",
    "OpenBagsSummary",
    "alarm_get",
    "alarm_list",
    "ledger_bags",
    "ledger_days",
    "ledger_parties",
    "ledger_party",
    "month_bounds",
    "monthly_category_totals",
    "monthly_totals",
    "open_bags_oldest",
    "open_bags_qs",
    "open_bags_summary",
    "parties_in_scope",
    "party_points",
    "waste_points",
]

OPEN_STAGES = (Stage.LABELLED, Stage.STORED, Stage.COLLECTED, Stage.DELIVERED)
# Age buckets of an open bag, in hours since labelling: [lower, upper) with the last one open-ended.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("lt24", 0, 24),
    ("h24_36", 24, 36),
    ("h36_48", 36, 48),
    ("gt48", 48, None),
)


def party_points(party_ids: list[int]) -> dict[int, tuple[float | None, float | None]]:
    """Where each party is on the map: its own coordinates, else its sampling point's, quarantine site's or
    vaccination site's, else the centre of its area. One query."""
    if not party_ids:
        return {}
    rows = Party.objects.filter(pk__in=set(party_ids)).values_list(
        "pk",
        "lat",
        "lng",
        "sampling_point__lat",
        "sampling_point__lng",
        "quarantine_site__lat",
        "quarantine_site__lng",
        "vaccination_site__lat",
        "vaccination_site__lng",
        "area__centroid_lat",
        "area__centroid_lng",
    )
    out: dict[int, tuple[float | None, float | None]] = {}
    for pk, *coords in rows:
        pairs = [(coords[i], coords[i + 1]) for i in range(0, len(coords), 2)]
        out[pk] = next(
            ((lat, lng) for lat, lng in pairs if lat is not None and lng is not None), (None, None)
        )
    return out


# --- open bags -------------------------------------------------------------------------------------------


def open_bags_qs(*, actor: User, holder: int | None = None, stage: str | None = None) -> QuerySet[Bag]:
    """Bags not yet incinerated in the actor's area (the (org_code, stage, stage_at) index)."""
    # Written as "not incinerated" so that the partial indexes of open bags serve it (SQLite matches a partial
    # index only when the query repeats its condition).
    qs = scoped(Bag.objects.exclude(stage=Stage.INCINERATED), actor)
    if holder:
        qs = qs.filter(holder_id=holder)
    if stage in OPEN_STAGES:
        qs = qs.filter(stage=stage)
    return qs


def _bucket_q(now: dt.datetime, lower: int, upper: int | None) -> Q:
    # Older than ``lower`` hours (inclusive) and younger than ``upper``: labelled_at in (now-upper, now-lower].
    q = Q(labelled_at__lte=now - dt.timedelta(hours=lower)) if lower else Q()
    if upper is not None:
        q &= Q(labelled_at__gt=now - dt.timedelta(hours=upper))
    return q


@dataclass(frozen=True)
class OpenBagsSummary:
    total: int
    weight_g: int
    buckets: dict[str, int]
    groups: list[dict[str, Any]]  # per holder and stage: counts per bucket, weight, oldest labelling


def open_bags_summary(
    *, actor: User, now: dt.datetime | None = None, holder: int | None = None, stage: str | None = None
) -> OpenBagsSummary:
    """Open bags by age bucket and by holder and stage, in one grouped query over the open bags."""
    now = now or timezone.now()
    counts = {
        name: Count("pk", filter=_bucket_q(now, lower, upper)) if lower or upper is not None else Count("pk")
        for name, lower, upper in AGE_BUCKETS
    }
    rows = list(
        open_bags_qs(actor=actor, holder=holder, stage=stage)
        .values("holder", "stage")
        .annotate(n=Count("pk"), weight=Sum("weight_g"), oldest=Min("labelled_at"), **counts)
        .order_by("oldest")
    )
    names = dict(Party.objects.filter(pk__in={r["holder"] for r in rows}).values_list("pk", "name"))
    stage_labels = {value: str(label) for value, label in Stage.choices}
    groups = [
        {
            "holder_id": r["holder"],
            "holder": names.get(r["holder"], ""),
            "stage": r["stage"],
            "stage_label": stage_labels.get(r["stage"], r["stage"]),
            "n": r["n"],
            "weight_g": r["weight"] or 0,
            "oldest": r["oldest"],
            "oldest_hours": round((now - r["oldest"]).total_seconds() / 3600, 1),
            "buckets": {name: r[name] for name, _lo, _up in AGE_BUCKETS},
        }
        for r in rows
    ]
    buckets = {name: sum(g["buckets"][name] for g in groups) for name, _lo, _up in AGE_BUCKETS}
    return OpenBagsSummary(
        total=sum(g["n"] for g in groups),
        weight_g=sum(g["weight_g"] for g in groups),
        buckets=buckets,
        groups=groups,
    )


def open_bags_oldest(*, actor: User, holder: int | None = None, stage: str | None = None) -> QuerySet[Bag]:
    """The open bags, oldest labelling first (paginate it)."""
    return (
        open_bags_qs(actor=actor, holder=holder, stage=stage)
        .select_related("producer", "holder")
        .order_by("labelled_at", "pk")
    )


# --- parties, ledger and a bag's chain -------------------------------------------------------------------


def parties_in_scope(*, actor: User, kinds: tuple[str, ...] | None = None) -> QuerySet[Party]:
    qs = scoped(Party.objects.all(), actor)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("kind", "name")


def ledger_parties(*, actor: User) -> QuerySet[Party]:
    """The parties a ledger can be read for: institutions and producers in scope."""
    return parties_in_scope(actor=actor, kinds=(PartyKind.INSTITUTION, PartyKind.PRODUCER))


def ledger_party(*, actor: User, pk: int) -> Party:
    return get_object_or_404(ledger_parties(actor=actor), pk=pk)


def _family(party: Party) -> list[int]:
    # An institution's ledger counts the waste of the producers that use its temporary storage too.
    return [party.pk, *Party.objects.filter(parent=party).values_list("pk", flat=True)]


def ledger_days(*, party: Party, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]:
    """Per local day in [date_from, date_to]: bags produced (by the party and the producers using it),
    stored at it, and collected from it, with their weights. Three grouped queries."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    days: dict[dt.date, dict[str, Any]] = {}

    def add(rows: QuerySet, prefix: str) -> None:
        for row in rows:
            day = days.setdefault(
                row["day"],
                {
                    "day": row["day"],
                    **{f"{p}_{k}": 0 for p in ("produced", "stored", "collected") for k in ("n", "g")},
                },
            )
            day[f"{prefix}_n"], day[f"{prefix}_g"] = row["n"], row["g"] or 0

    produced = (
        Bag.objects.filter(producer_id__in=_family(party), labelled_at__gte=start, labelled_at__lt=end)
        .annotate(day=TruncDate("labelled_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"), g=Sum("weight_g"))
    )
    stored = (
        CustodyRecord.objects.filter(to_party=party, stage=Stage.STORED, at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"), g=Sum("weight_g"))
    )
    collected = (
        CustodyRecord.objects.filter(from_party=party, stage=Stage.COLLECTED, at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"), g=Sum("weight_g"))
    )
    add(produced, "produced")
    add(stored, "stored")
    add(collected, "collected")
    return [days[d] for d in sorted(days, reverse=True)]


def ledger_bags(*, party: Party, date_from: dt.date, date_to: dt.date) -> QuerySet[Bag]:
    """The bags produced by the party (and the producers using it) in the period, newest first."""
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    return (
        Bag.objects.filter(producer_id__in=_family(party), labelled_at__gte=start, labelled_at__lt=end)
        .select_related("producer", "holder")
        .order_by("-labelled_at", "-pk")
    )


# --- alarms ----------------------------------------------------------------------------------------------


def alarm_list(
    *,
    actor: User,
    kind: str = "",
    state: str = "",
    level: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[WasteAlarm]:
    """Alarms in scope, newest first. ``state`` "handling" = open or acknowledged."""
    qs = scoped(WasteAlarm.objects.select_related("bag", "party", "acknowledged_by", "closed_by"), actor)
    if kind:
        qs = qs.filter(kind=kind)
    if state == "handling":
        qs = qs.filter(state__in=(AlarmState.OPEN, AlarmState.ACKNOWLEDGED))
    elif state:
        qs = qs.filter(state=state)
    if level:
        qs = qs.filter(level=level)
    if date_from:
        qs = qs.filter(opened_at__gte=timezone.make_aware(dt.datetime.combine(date_from, dt.time.min)))
    if date_to:
        end = date_to + dt.timedelta(days=1)
        qs = qs.filter(opened_at__lt=timezone.make_aware(dt.datetime.combine(end, dt.time.min)))
    return qs.order_by("-opened_at", "-pk")


def alarm_get(*, actor: User, pk: int) -> WasteAlarm:
    return get_object_or_404(alarm_list(actor=actor), pk=pk)


# --- monthly totals --------------------------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return (
        timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
        timezone.make_aware(dt.datetime.combine(following, dt.time.min)),
    )


def monthly_totals(*, actor: User, month: dt.date) -> list[dict[str, Any]]:
    """Per producer and category for the month: bags labelled and their weight at labelling, bags incinerated
    and their weight at incineration. Two grouped queries (the month's labels, the month's burns)."""
    start, end = month_bounds(month)
    rows: dict[tuple[int, str], dict[str, Any]] = {}

    def row(producer: int, category: str) -> dict[str, Any]:
        return rows.setdefault(
            (producer, category),
            {
                "producer_id": producer,
                "category": category,
                "labelled_n": 0,
                "labelled_g": 0,
                "burnt_n": 0,
                "burnt_g": 0,
            },
        )

    labelled = (
        scoped(Bag.objects.filter(labelled_at__gte=start, labelled_at__lt=end), actor)
        .values("producer", "category")
        .annotate(n=Count("pk"), g=Sum("weight_g"))
    )
    for r in labelled:
        item = row(r["producer"], r["category"])
        item["labelled_n"], item["labelled_g"] = r["n"], r["g"] or 0
    burnt = (
        scoped(CustodyRecord.objects.filter(stage=Stage.INCINERATED, at__gte=start, at__lt=end), actor)
        .values("bag__producer", "bag__category")
        .annotate(n=Count("pk"), g=Sum("weight_g"))
    )
    for r in burnt:
        item = row(r["bag__producer"], r["bag__category"])
        item["burnt_n"], item["burnt_g"] = r["n"], r["g"] or 0
    names = dict(Party.objects.filter(pk__in={p for p, _c in rows}).values_list("pk", "name"))
    labels = {value: str(label) for value, label in WasteCategory.choices}
    out = [
        {
            **item,
            "producer": names.get(item["producer_id"], ""),
            "category_label": labels.get(item["category"], ""),
        }
        for item in rows.values()
    ]
    return sorted(out, key=lambda r: (r["producer"], r["category"]))


def monthly_category_totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The month's rows summed per category (in the categories' order)."""
    labels = {value: str(label) for value, label in WasteCategory.choices}
    totals = {
        c: {
            "category": c,
            "category_label": labels[c],
            "labelled_n": 0,
            "labelled_g": 0,
            "burnt_n": 0,
            "burnt_g": 0,
        }
        for c in WasteCategory.values
    }
    for r in rows:
        t = totals[r["category"]]
        for key in ("labelled_n", "labelled_g", "burnt_n", "burnt_g"):
            t[key] += r[key]
    return [t for t in totals.values() if t["labelled_n"] or t["burnt_n"]]


# --- the command center's layer --------------------------------------------------------------------------


def waste_points(*, actor: User, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Temporary storage points (institutions) and producers in scope, where they are, with the bags waiting
    there (labelled at a producer, stored at an institution), the oldest one's age since labelling, and the
    waste alarms being handled about them or their bags. Counts only: no person is named. Three grouped
    queries (parties, bags by holder, alarms by party / bag holder) and one for the places."""
    now = now or timezone.now()
    parties = list(
        parties_in_scope(actor=actor, kinds=(PartyKind.INSTITUTION, PartyKind.PRODUCER))
        .filter(active=True)
        .values("pk", "name", "kind", "org_code", "collection_interval_hours")
    )
    ids = [p["pk"] for p in parties]
    waiting = {
        r["holder"]: (r["n"], r["g"], r["oldest"])
        for r in scoped(Bag.objects.filter(stage__in=(Stage.LABELLED, Stage.STORED)), actor)
        .values("holder")
        .annotate(n=Count("pk"), g=Sum("weight_g"), oldest=Min("labelled_at"))
    }
    alarms: dict[int, int] = {}
    for party_id, holder_id, n in (
        scoped(
            WasteAlarm.objects.filter(active=True, state__in=(AlarmState.OPEN, AlarmState.ACKNOWLEDGED)),
            actor,
        )
        .values("party", "bag__holder")
        .annotate(n=Count("pk"))
        .values_list("party", "bag__holder", "n")
    ):
        key = party_id or holder_id
        if key:
            alarms[key] = alarms.get(key, 0) + n
    points = party_points(ids)
    out = []
    for p in parties:
        lat, lng = points.get(p["pk"], (None, None))
        if lat is None or lng is None:
            continue
        n, grams, oldest = waiting.get(p["pk"], (0, 0, None))
        out.append(
            {
                "id": p["pk"],
                "name": p["name"],
                "kind": p["kind"],
                "org_code": p["org_code"],
                "lat": lat,
                "lng": lng,
                "open_bags": n,
                "open_kg": round((grams or 0) / 1000, 1),
                "oldest_hours": round((now - oldest).total_seconds() / 3600, 1) if oldest else None,
                "alarms": alarms.get(p["pk"], 0),
            }
        )
    return out
