"""Computing colours: for a few people after an event (incremental) or for everyone (full recompute).

Both paths load facts as columns, evaluate the active rule set vectorised (``rules.evaluate_columns``),
apply active overrides, and write only what changed: the ``HealthCode`` row and one ``HealthCodeChange``
per person whose colour changed, with an event for each change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from epigrid.core import events
from epigrid.core.models import Person
from epigrid.core.selectors import response_level_current
from epigrid.healthcode import rules
from epigrid.healthcode.models import HealthCode, HealthCodeChange, Override, PersonFacts, RuleSet

BATCH = 20_000
_FIELDS = ("person_id", "org_code", *rules.ALL_FACTS)


@dataclass
class RecomputeResult:
    evaluated: int = 0
    changed: int = 0
    by_colour: dict[str, int] | None = None


def active_rule_set(level: str | None = None) -> RuleSet | None:
    """The active rule set for the district's response level (or ``level``)."""
    level = level or response_level_current()
    candidates = RuleSet.objects.filter(is_active=True).order_by("-activated_at", "-pk")
    for rule_set in candidates:
        if level in (rule_set.response_levels or []):
            return rule_set
    return candidates.first()


def _columns(rows: Sequence[tuple]) -> dict[str, np.ndarray]:
    """Facts rows (in ``_FIELDS`` order) as typed numpy columns."""
    cols: dict[str, np.ndarray] = {}
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in _FIELDS]
    for name, values in zip(_FIELDS, transposed, strict=True):
        if name in rules.TIME_FACTS:
            cols[name] = np.array([v.timestamp() if v is not None else np.nan for v in values], dtype=float)
        elif name in rules.TEXT_FACTS or name in ("org_code",):
            cols[name] = np.array([v or "" for v in values], dtype=str) if values else np.array([], dtype=str)
        elif name == "person_id":
            cols[name] = np.array(values, dtype=np.int64)
        else:
            cols[name] = np.array(values, dtype=float)
    return cols


def _overrides(person_ids: Iterable[int] | None, now: dt.datetime) -> dict[int, Override]:
    qs = Override.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    if person_ids is not None:
        qs = qs.filter(person_id__in=list(person_ids))
    found: dict[int, Override] = {}
    for override in qs.order_by("created_at"):
        found[override.person_id] = override  # the newest wins
    return found


def recompute(
    person_ids: Iterable[int] | None = None,
    *,
    now: dt.datetime | None = None,
    rule_set: RuleSet | None = None,
) -> RecomputeResult:
    """Recompute the colours of ``person_ids`` (None: everyone with facts or a code); write what changed."""
    now = now or timezone.now()
    rule_set = rule_set or active_rule_set()
    rule_list = rule_set.rules if rule_set is not None else []
    result = RecomputeResult(by_colour={"green": 0, "yellow": 0, "red": 0})
    ids = None if person_ids is None else sorted(set(person_ids))
    if ids is not None and not ids:
        return result
    overrides = _overrides(ids, now)
    for chunk in _chunks(ids):
        facts = PersonFacts.objects.order_by("person_id")
        codes = HealthCode.objects.order_by("person_id")
        if chunk is not None:
            facts, codes = facts.filter(person_id__in=chunk), codes.filter(person_id__in=chunk)
        rows = list(facts.values_list(*_FIELDS))
        current = {
            pid: (colour, rule_id, org, since)
            for pid, colour, rule_id, org, since in codes.values_list(
                "person_id", "colour", "rule_id", "org_code", "since"
            )
        }
        # People with a code but no facts any more are evaluated on empty facts; so is everyone else when
        # the rules give empty facts a colour (e.g. "no test within 72 hours" in an emergency).
        known = {row[0] for row in rows}
        rows += [(pid, cur[2], *_empty_facts()) for pid, cur in current.items() if pid not in known]
        if chunk is None and default_outcome(rule_list).colour != "green":
            known |= set(current)
            people = Person.objects.order_by("pk").values_list("pk", "org_code")
            rows += [
                (pid, org, *_empty_facts())
                for pid, org in people.iterator(chunk_size=10_000)
                if pid not in known
            ]
        if chunk is not None:
            rows += [
                (pid, "", *_empty_facts())
                for pid in chunk
                if pid not in known and pid not in current and pid in overrides
            ]
        outcome_index = rules.evaluate_columns(rule_list, _columns(rows), now)
        result.changed += _write(rows, outcome_index, rule_list, current, overrides, rule_set, now, result)
        result.evaluated += len(rows)
    return result


def default_outcome(rule_list: list[dict], now: dt.datetime | None = None) -> rules.Outcome:
    """The colour of a person about whom nothing is known."""
    empty = dict(zip(rules.ALL_FACTS, _empty_facts(), strict=True))
    return rules.evaluate(rule_list, empty, now or timezone.now())


def _empty_facts() -> tuple:
    return tuple(
        None if f in rules.TIME_FACTS else (0 if f in rules.NUMBER_FACTS or f in rules.BOOL_FACTS else "")
        for f in rules.ALL_FACTS
    )


def _chunks(ids: list[int] | None) -> Iterable[list[int] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _write(rows, outcome_index, rule_list, current, overrides, rule_set, now, result) -> int:
    new_codes: list[HealthCode] = []
    updated: list[HealthCode] = []
    changes: list[HealthCodeChange] = []
    for row, index in zip(rows, outcome_index, strict=True):
        person_id, org_code = row[0], row[1]
        override = overrides.get(person_id)
        if override is not None:
            colour, rule_id, reason, to_green = (
                override.colour,
                f"override:{override.pk}",
                override.reason,
                "",
            )
        elif index >= 0:
            rule = rule_list[index]
            colour, rule_id, reason, to_green = (
                rule["colour"],
                rule["id"],
                rule.get("reason", ""),
                rule.get("to_green", ""),
            )
        else:
            colour, rule_id, reason, to_green = "green", "", "", ""
        result.by_colour[colour] += 1
        before = current.get(person_id)
        if before is not None and before[0] == colour and before[1] == rule_id:
            continue
        same_colour = before is not None and before[0] == colour
        code = HealthCode(
            person_id=person_id,
            org_code=org_code or (before[2] if before else ""),
            colour=colour,
            rule_id=rule_id,
            reason=reason[:200],
            to_green=to_green[:200],
            since=before[3] if same_colour else now,
            rule_set=rule_set,
            computed_at=now,
        )
        (updated if before is not None else new_codes).append(code)
        if before is None and colour == "green":
            continue  # a first green is no change worth recording
        if before is None or before[0] != colour:
            changes.append(
                HealthCodeChange(
                    person_id=person_id,
                    org_code=code.org_code,
                    from_colour=before[0] if before else "green",
                    to_colour=colour,
                    rule_id=rule_id,
                    reason=reason[:200],
                    rule_set=rule_set,
                    at=now,
                )
            )
    with transaction.atomic():
        HealthCode.objects.bulk_create(new_codes, batch_size=2000)
        HealthCode.objects.bulk_update(
            updated,
            ["colour", "rule_id", "reason", "to_green", "since", "rule_set", "computed_at", "org_code"],
            batch_size=2000,
        )
        HealthCodeChange.objects.bulk_create(changes, batch_size=2000)
        for change in changes:
            events.publish(
                "healthcode.changed",
                payload={
                    "person_id": change.person_id,
                    "from": change.from_colour,
                    "to": change.to_colour,
                    "rule": change.rule_id,
                },
                org_code=change.org_code,
            )
    return len(changes)


@dataclass(frozen=True)
class PreviewRow:
    person_id: int
    from_colour: str
    to_colour: str
    rule_id: str


def preview(rule_list: list[dict], *, now: dt.datetime | None = None) -> list[PreviewRow]:
    """Who would change colour if ``rule_list`` were in force now (overrides still win); writes nothing."""
    now = now or timezone.now()
    overrides = _overrides(None, now)
    rows = list(PersonFacts.objects.order_by("person_id").values_list(*_FIELDS))
    current = dict(HealthCode.objects.values_list("person_id", "colour"))
    known = {row[0] for row in rows}
    rows += [(pid, "", *_empty_facts()) for pid in current if pid not in known]
    indexes = rules.evaluate_columns(rule_list, _columns(rows), now)
    changes = []
    for row, index in zip(rows, indexes, strict=True):
        person_id = row[0]
        if person_id in overrides:
            continue
        colour, rule_id = (
            (rule_list[index]["colour"], rule_list[index]["id"]) if index >= 0 else ("green", "")
        )
        before = current.get(person_id, "green")
        if before != colour:
            changes.append(PreviewRow(person_id, before, colour, rule_id))
    return changes
