"""The medical-waste alarm rules applied to the chain of custody, and the officers' handling of the alarms.

``waste_alarms_evaluate`` finds every condition with a few set-based queries (bags in storage by the
``(stage, stage_at)`` index, one window-function pass over the custody records for weights and step order,
grouped queries for producers and institutions) and diffs the findings against the active alarms:

- a new finding opens an alarm (one ``INSERT`` for all of them);
- a finding that persists refreshes ``last_seen_at`` on its alarm (one ``UPDATE``);
- an active alarm whose condition ended is made inactive: ``resolved`` (with ``closed_at`` = the time it
  cleared and no ``closed_by``) unless an officer had closed it, which stays ``closed``.

``active`` means "the condition holds"; ``state`` is the handling. An alarm an officer closed while its
condition still holds stays active (closed), so the next evaluation does not open it again; only when the
condition ends and comes back is a new alarm raised. The storage rules are two kinds: a bag passing 48 h
resolves its 36 h warning and opens the overdue alarm (a new alarm, so the alarm level reaches the command
center and the officers as news, not as an edit of an old warning).

Each newly opened alarm of level ``alarm`` publishes ``waste.alarm`` (the command center raises it on its
map) and sends a notice to the waste officers whose area covers it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.notices import notice_send
from epigrid.core.roles import ROLE_SPECS, Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.medwaste import rules
from epigrid.medwaste.models import (
    STAGE_ORDER,
    AlarmKind,
    AlarmLevel,
    AlarmState,
    Anomaly,
    Bag,
    CustodyRecord,
    Party,
    PartyKind,
    Stage,
    WasteAlarm,
)
from epigrid.medwaste.selectors.oversight import party_points

ALARM_EVENT = "waste.alarm"
CHUNK = 2_000  # ids per IN (...) list: far below SQLite's parameter limit
HANDLING_STATES = (AlarmState.OPEN, AlarmState.ACKNOWLEDGED)

# Notice titles, per kind (the kind's own label, said as news).
_NOTICE_ONE = gettext_lazy("Medical-waste alarm: %(kind)s")
_NOTICE_MANY = gettext_lazy("%(n)d new medical-waste alarms in your area")


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    org_code: str
    bag_id: int | None = None
    party_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvaluationResult:
    """Counts per alarm kind: alarms opened, alarms still active (seen again), alarms resolved."""

    opened: Counter = field(default_factory=Counter)
    active: Counter = field(default_factory=Counter)
    resolved: Counter = field(default_factory=Counter)
    opened_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"opened": dict(self.opened), "active": dict(self.active), "resolved": dict(self.resolved)}


def _chunks(ids: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# --- the rules as queries --------------------------------------------------------------------------------


def _storage_findings(now: dt.datetime, limits: rules.Thresholds, bag_ids: list[int] | None) -> list[Finding]:
    """Bags in temporary storage beyond the warning: the (stage, stage_at) index reads only those."""
    qs = Bag.objects.filter(
        stage=Stage.STORED, stage_at__lt=now - min(limits.storage_warning, limits.storage_limit)
    )
    if bag_ids is not None:
        qs = qs.filter(pk__in=bag_ids)
    out = []
    for pk, stage_at, org_code, holder_id in qs.values_list("pk", "stage_at", "org_code", "holder_id"):
        kind = rules.storage_kind(now - stage_at, limits)
        if kind is None:  # the SQL bound is the same comparison; this only guards a changed rule
            continue
        hours = round((now - stage_at).total_seconds() / 3600, 1)
        out.append(
            Finding(kind, f"bag:{pk}", org_code, bag_id=pk, party_id=holder_id, detail={"hours": hours})
        )
    return out


_RANK = "CASE r.stage " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGE_ORDER)) + " END"


def _record_findings(limits: rules.Thresholds, bag_ids: list[int] | None) -> list[Finding]:
    """Weights, missing steps and steps out of order, from one pass over the custody records: each record
    beside the bag's previous step (by stage order, then time) through ``LAG``; only offending records come
    back. The replay marks written by the chain of custody (``anomaly``) count as well."""
    table = CustodyRecord._meta.db_table
    where, params = "", []
    if bag_ids is not None:
        if not bag_ids:
            return []
        where = f"WHERE r.bag_id IN ({', '.join(['%s'] * len(bag_ids))})"
        params = list(bag_ids)
    # Ranks and weights are integers; the weight test is |w - prev| * 10000 > bp * prev in 64-bit integers,
    # so exactly 5 % is within the tolerance on both databases.
    sql = f"""
        SELECT bag_id, stage, org_code, anomaly, weight_g, prev_weight, rnk, prev_rank, prev_stage,
               CASE WHEN prev_at IS NOT NULL AND at < prev_at THEN 1 ELSE 0 END AS early
        FROM (
            SELECT r.bag_id, r.stage, r.org_code, r.anomaly, r.weight_g, r.at, {_RANK} AS rnk,
                   LAG(r.weight_g) OVER w AS prev_weight, LAG({_RANK}) OVER w AS prev_rank,
                   LAG(r.stage) OVER w AS prev_stage, LAG(r.at) OVER w AS prev_at
            FROM {table} r {where}
            WINDOW w AS (PARTITION BY r.bag_id ORDER BY {_RANK}, r.at)
        ) x
        WHERE anomaly <> '' OR (prev_rank IS NULL AND rnk > 0) OR rnk > prev_rank + 1
           OR (prev_at IS NOT NULL AND at < prev_at)
           OR ABS(CAST(weight_g AS BIGINT) - prev_weight) * {rules.BASIS_POINTS}
              > %s * CAST(prev_weight AS BIGINT)
    """  # noqa: S608 - table and ranks are our own names; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limits.weight_tolerance_bp])
        rows = cursor.fetchall()
    found: dict[tuple[str, int], Finding] = {}
    for bag_id, stage, org_code, anomaly, weight, prev_weight, rank, prev_rank, prev_stage, early in rows:
        kinds: list[tuple[str, dict[str, Any]]] = []
        if (
            anomaly == Anomaly.MISSING_STEP
            or (prev_rank is None and rank > 0)
            or (prev_rank is not None and rank > prev_rank + 1)
        ):
            kinds.append((AlarmKind.MISSING_STEP, {"stage": stage, "after": prev_stage or ""}))
        if anomaly == Anomaly.OUT_OF_ORDER or early:
            kinds.append((AlarmKind.OUT_OF_ORDER, {"stage": stage, "after": prev_stage or ""}))
        if prev_weight is not None and rules.weight_differs(prev_weight, weight, limits):
            kinds.append(
                (
                    AlarmKind.WEIGHT_MISMATCH,
                    {"stage": stage, "after": prev_stage, "weight_g": weight, "previous_g": prev_weight},
                )
            )
        for kind, detail in kinds:
            # The first offending step of a bag describes the alarm; later ones are the same alarm.
            found.setdefault(
                (kind, bag_id), Finding(kind, f"bag:{bag_id}", org_code, bag_id=bag_id, detail=detail)
            )
    return list(found.values())


def _handover_findings(
    now: dt.datetime, limits: rules.Thresholds, party_ids: list[int] | None
) -> list[Finding]:
    """Producers with a bag still labelled (not handed over) beyond the handover time: one per producer."""
    qs = Bag.objects.filter(stage=Stage.LABELLED, stage_at__lt=now - limits.handover_due)
    if party_ids is not None:
        qs = qs.filter(producer_id__in=party_ids)
    rows = list(qs.values("producer").annotate(n=Count("pk"), oldest=Min("stage_at")))
    codes = dict(Party.objects.filter(pk__in=[r["producer"] for r in rows]).values_list("pk", "org_code"))
    return [
        Finding(
            AlarmKind.NO_HANDOVER,
            f"party:{r['producer']}",
            codes.get(r["producer"], ""),
            party_id=r["producer"],
            detail={"bags": r["n"], "hours": round((now - r["oldest"]).total_seconds() / 3600, 1)},
        )
        for r in rows
        if rules.handover_overdue(now - r["oldest"], limits)
    ]


def _collection_findings(
    now: dt.datetime, limits: rules.Thresholds, party_ids: list[int] | None
) -> list[Finding]:
    """Institutions with a collection interval whose stored bags have waited beyond interval + grace since
    the later of their last collection and the arrival of the oldest bag still in storage."""
    institutions = Party.objects.filter(
        kind=PartyKind.INSTITUTION, collection_interval_hours__isnull=False, active=True
    )
    if party_ids is not None:
        institutions = institutions.filter(pk__in=party_ids)
    info = {
        pk: (hours, code)
        for pk, hours, code in institutions.values_list("pk", "collection_interval_hours", "org_code")
    }
    if not info:
        return []
    stored = {
        r["holder"]: (r["oldest"], r["n"])
        for r in Bag.objects.filter(stage=Stage.STORED, holder_id__in=list(info))
        .values("holder")
        .annotate(oldest=Min("stage_at"), n=Count("pk"))
    }
    if not stored:
        return []
    # Only a collection within the longest window can make an institution not overdue; the `at` index
    # reads just those.
    window = dt.timedelta(hours=max(info[pk][0] for pk in stored)) + limits.collection_grace
    last = dict(
        CustodyRecord.objects.filter(
            stage=Stage.COLLECTED, from_party_id__in=list(stored), at__gte=now - window
        )
        .values("from_party")
        .annotate(last=Max("at"))
        .values_list("from_party", "last")
    )
    out = []
    for pk, (oldest, n) in stored.items():
        hours, code = info[pk]
        since = max(oldest, last[pk]) if pk in last else oldest
        if rules.collection_overdue(now - since, hours, limits):
            waited = round((now - since).total_seconds() / 3600, 1)
            detail = {"bags": n, "hours": waited, "interval_hours": hours}
            out.append(Finding(AlarmKind.COLLECTION_OVERDUE, f"party:{pk}", code, party_id=pk, detail=detail))
    return out


def _parties_of(bag_ids: list[int]) -> list[int]:
    """The parties whose party-level rules a change to these bags can touch: producers, where the bags are,
    and the parties that handed them on (an institution's collection)."""
    ids: set[int] = set()
    for chunk in _chunks(bag_ids):
        for producer, holder in Bag.objects.filter(pk__in=chunk).values_list("producer_id", "holder_id"):
            ids.update((producer, holder))
        ids.update(
            CustodyRecord.objects.filter(bag_id__in=chunk, from_party__isnull=False)
            .values_list("from_party_id", flat=True)
            .distinct()
        )
    return sorted(ids)


# --- the evaluation --------------------------------------------------------------------------------------


_realtime = threading.local()


@contextlib.contextmanager
def realtime_paused() -> Iterator[None]:
    """For loading history (the demo's week of bags): the re-evaluation after each handover is skipped while
    inside, and the caller runs one full evaluation afterwards. The block must enclose the commit, because the
    handlers run after it."""
    _realtime.paused = True
    try:
        yield
    finally:
        _realtime.paused = False


def realtime_is_paused() -> bool:
    return getattr(_realtime, "paused", False)


def waste_alarms_evaluate(
    *, now: dt.datetime | None = None, bag_ids: Iterable[int] | None = None
) -> EvaluationResult:
    """Apply every rule (all bags and parties, or only ``bag_ids`` and the parties they touch) and bring the
    alarms in line with what was found. Idempotent: running it twice at the same ``now`` changes nothing
    the second time but ``last_seen_at``."""
    now = now or timezone.now()
    limits = rules.thresholds()
    bags = None if bag_ids is None else sorted({int(pk) for pk in bag_ids})
    parties = None if bags is None else _parties_of(bags)
    findings = [
        *_storage_findings(now, limits, bags),
        *_record_findings(limits, bags),
        *_handover_findings(now, limits, parties),
        *_collection_findings(now, limits, parties),
    ]
    found = {(f.kind, f.subject): f for f in findings}
    result = EvaluationResult()
    with transaction.atomic():
        active = _active_alarms(bags, parties)
        new = [f for key, f in found.items() if key not in active]
        seen = [pk for key, (pk, _state) in active.items() if key in found]
        gone = [(key, pk, state) for key, (pk, state) in active.items() if key not in found]
        for chunk in _chunks(seen):
            WasteAlarm.objects.filter(pk__in=chunk).update(last_seen_at=now)
        _resolve(gone, now)
        opened = _open(new, now)
        for key in active:
            if key in found:
                result.active[key[0]] += 1
        for key, _pk, _state in gone:
            result.resolved[key[0]] += 1
        for alarm in opened:
            result.opened[alarm.kind] += 1
        result.opened_ids = [a.pk for a in opened]
        _announce([a for a in opened if a.level == AlarmLevel.ALARM])
    return result


def _active_alarms(
    bags: list[int] | None, parties: list[int] | None
) -> dict[tuple[str, str], tuple[int, str]]:
    qs = WasteAlarm.objects.filter(active=True)
    if bags is None:
        rows = qs.values_list("kind", "subject", "pk", "state")
        return {(kind, subject): (pk, state) for kind, subject, pk, state in rows}
    out: dict[tuple[str, str], tuple[int, str]] = {}
    for kinds, subjects in (
        (rules.BAG_KINDS, [f"bag:{pk}" for pk in bags]),
        (rules.PARTY_KINDS, [f"party:{pk}" for pk in parties or []]),
    ):
        for chunk in _chunks(subjects):
            rows = qs.filter(kind__in=kinds, subject__in=chunk).values_list("kind", "subject", "pk", "state")
            out.update({(kind, subject): (pk, state) for kind, subject, pk, state in rows})
    return out


def _resolve(gone: list[tuple[tuple[str, str], int, str]], now: dt.datetime) -> None:
    """Conditions that ended: open/acknowledged alarms clear themselves; closed ones only stop being active."""
    handling = [pk for _key, pk, state in gone if state in HANDLING_STATES]
    others = [pk for _key, pk, state in gone if state not in HANDLING_STATES]
    for chunk in _chunks(handling):
        WasteAlarm.objects.filter(pk__in=chunk, active=True).update(
            active=False, state=AlarmState.RESOLVED, closed_at=now, last_seen_at=now
        )
    for chunk in _chunks(others):
        WasteAlarm.objects.filter(pk__in=chunk, active=True).update(active=False)


def _open(new: list[Finding], now: dt.datetime) -> list[WasteAlarm]:
    """One multi-row INSERT. A concurrent evaluation that opened the same alarm first wins (the partial
    unique index); ours is skipped and the rows we did insert are read back by their opening time."""
    if not new:
        return []
    WasteAlarm.objects.bulk_create(
        [
            WasteAlarm(
                kind=f.kind,
                level=rules.LEVELS[f.kind],
                subject=f.subject,
                bag_id=f.bag_id if f.subject.startswith("bag:") else None,
                party_id=f.party_id if f.subject.startswith("party:") else None,
                detail={**f.detail, **({"party_id": f.party_id} if f.bag_id and f.party_id else {})},
                opened_at=now,
                last_seen_at=now,
                org_code=f.org_code,
            )
            for f in new
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
    made: list[WasteAlarm] = []
    kinds = sorted({f.kind for f in new})
    for chunk in _chunks(sorted({f.subject for f in new})):
        made += WasteAlarm.objects.filter(
            active=True, opened_at=now, kind__in=kinds, subject__in=chunk
        ).order_by("pk")
    return made


def _announce(alarms: list[WasteAlarm]) -> None:
    """``waste.alarm`` per new alarm-level alarm, placed where its party is; a notice to the waste officers
    covering each (one notice per officer: the alarm itself, or a count when several opened at once)."""
    if not alarms:
        return
    # A bag's alarm stands where the bag is now (its holder); a party's at the party.
    holders = dict(
        Bag.objects.filter(pk__in=[a.bag_id for a in alarms if a.bag_id]).values_list("pk", "holder_id")
    )
    party_of = {a.pk: a.party_id or holders.get(a.bag_id) for a in alarms}
    points = party_points([pk for pk in party_of.values() if pk])
    items = []
    for alarm in alarms:
        lat, lng = points.get(party_of[alarm.pk], (None, None))
        payload: dict[str, Any] = {"alarm_id": alarm.pk, "kind": alarm.kind, "level": alarm.level}
        if alarm.bag_id:
            payload["bag_id"] = alarm.bag_id
        if party_of[alarm.pk]:
            payload["party_id"] = party_of[alarm.pk]
        items.append(({**payload, "lat": lat, "lng": lng}, alarm.org_code))
    events.publish_many(ALARM_EVENT, items)
    _notify_officers(alarms)


def _officers() -> list[User]:
    roles = [role for role, spec in ROLE_SPECS.items() if Perm.WASTE_MANAGE in spec.perms]
    return list(
        User.objects.filter(role__in=roles, is_active=True, org_unit__isnull=False).select_related("org_unit")
    )


def _notify_officers(alarms: list[WasteAlarm]) -> None:
    per_officer: dict[int, list[WasteAlarm]] = defaultdict(list)
    officers = {u.pk: u for u in _officers()}
    for alarm in alarms:
        for officer in officers.values():
            if alarm.org_code.startswith(officer.org_code):
                per_officer[officer.pk].append(alarm)
    # Officers with the same alarms get the same notice in one call.
    groups: dict[tuple[int, ...], list[User]] = defaultdict(list)
    for pk, mine in per_officer.items():
        groups[tuple(a.pk for a in mine)].append(officers[pk])
    by_pk = {a.pk: a for a in alarms}
    for alarm_ids, users in groups.items():
        if len(alarm_ids) == 1:
            alarm = by_pk[alarm_ids[0]]
            title = str(_NOTICE_ONE) % {"kind": alarm.get_kind_display()}
            url = reverse("medwaste:alarm_detail", args=[alarm.pk])
        else:
            title = str(_NOTICE_MANY) % {"n": len(alarm_ids)}
            url = reverse("medwaste:alarms") + "?state=open"
        notice_send(actor=None, users=users, kind="waste.alarm", title=title, url=url)


# --- handling by the officers ----------------------------------------------------------------------------


def _may_handle(actor: User, alarm: WasteAlarm) -> None:
    if not has_perm(actor, Perm.WASTE_MANAGE) or not in_scope_code(actor, alarm.org_code):
        raise Forbidden(_("You may not handle this alarm."))


def _changed(alarm: WasteAlarm, action: str, actor: User) -> WasteAlarm:
    alarm.refresh_from_db()
    audit_record(actor=actor, action=f"medwaste.alarm_{action}", obj=alarm, detail={"kind": alarm.kind})
    events.publish(
        f"waste.alarm_{action}",
        payload={"alarm_id": alarm.pk, "kind": alarm.kind, "level": alarm.level, "state": alarm.state},
        org_code=alarm.org_code,
    )
    return alarm


def _refused(alarm: WasteAlarm) -> Conflict:
    current = WasteAlarm.objects.filter(pk=alarm.pk).values_list("state", flat=True).first()
    if current in (AlarmState.CLOSED, AlarmState.RESOLVED):
        return Conflict(_("This alarm is already closed."))
    return Conflict(_("Someone else changed this alarm just now; look again and retry."))


@transaction.atomic
def alarm_acknowledge(*, actor: User, alarm: WasteAlarm) -> WasteAlarm:
    """Say the alarm is being looked at. Compare-and-set on the state: of two officers acknowledging at
    once, the second is told someone else did."""
    _may_handle(actor, alarm)
    changed = WasteAlarm.objects.filter(pk=alarm.pk, state=AlarmState.OPEN).update(
        state=AlarmState.ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=timezone.now()
    )
    if not changed:
        raise _refused(alarm)
    return _changed(alarm, "acknowledge", actor)


@transaction.atomic
def alarm_close(
    *, actor: User, alarm: WasteAlarm, note: str, expected_state: str | None = None
) -> WasteAlarm:
    """Close with a note of what was done (required: it is the record of the response). ``expected_state``
    is the state the officer saw; a change by someone else meanwhile is refused rather than overwritten.
    The alarm stays active while its condition holds, so it is not raised again until it ends and recurs."""
    _may_handle(actor, alarm)
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say what was done before closing the alarm."), field="note")
    if len(note) > 500:
        raise DomainError(_("The note is longer than 500 characters."), field="note")
    states = [expected_state] if expected_state else list(HANDLING_STATES)
    states = [s for s in states if s in HANDLING_STATES]
    changed = WasteAlarm.objects.filter(pk=alarm.pk, state__in=states).update(
        state=AlarmState.CLOSED, closed_by=actor, closed_at=timezone.now(), note=note
    )
    if not changed:
        raise _refused(alarm)
    return _changed(alarm, "close", actor)
