"""Writes of the health code: facts, declarations, risk areas, rule sets, overrides and appeals.

Every write that can change a colour ends by recomputing the people it touched (``engine.recompute``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import OrgUnit, Person, PolicyVersion, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code, policy_param
from epigrid.core.ttlcache import TTLCache
from epigrid.healthcode import engine, rules
from epigrid.healthcode.models import (
    RISK_RANK,
    Appeal,
    AppealStatus,
    AreaKind,
    Colour,
    HealthCode,
    Override,
    PersonFacts,
    RiskArea,
    RiskAreaChange,
    RiskLevel,
    RuleSet,
    TravelDeclaration,
)

FACT_FIELDS = frozenset(rules.ALL_FACTS)


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


# --- facts ----------------------------------------------------------------------------------------


def facts_update(
    *, actor: User | None, person_ids: Iterable[int], changes: dict[str, Any], recompute: bool = True
) -> engine.RecomputeResult | None:
    """Set facts of many people at once (the handlers of other modules' events call this), then recompute."""
    unknown = set(changes) - FACT_FIELDS
    if unknown:
        raise DomainError(f"unknown facts: {', '.join(sorted(unknown))}")
    ids = sorted(set(person_ids))
    if not ids:
        return None
    with transaction.atomic():
        orgs = dict(Person.objects.filter(pk__in=ids).values_list("pk", "org_code"))
        existing = set(PersonFacts.objects.filter(person_id__in=ids).values_list("person_id", flat=True))
        PersonFacts.objects.bulk_create(
            [
                PersonFacts(person_id=pid, org_code=orgs[pid], **changes)
                for pid in ids
                if pid not in existing and pid in orgs
            ],
            batch_size=2000,
        )
        if existing and changes:
            PersonFacts.objects.filter(person_id__in=existing).update(**changes, updated_at=timezone.now())
        audit_record(
            actor=actor, action="healthcode.facts", detail={"count": len(ids), "facts": sorted(changes)}
        )
    return engine.recompute(ids) if recompute else None


# --- travel declarations (行程申报) ---------------------------------------------------------------------


def region_covers(area_code: str, code: str) -> bool:
    """Whether administrative area ``area_code`` contains ``code`` (GB/T 2260: 370000 ⊃ 370600 ⊃ 370602)."""
    prefix = area_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return code.startswith(prefix)


def _region_level(code: str) -> str:
    """The highest risk level in force for any area covering region ``code``."""
    # Judged against the list in force now, as the rule "7 days since leaving a high-risk area" reads it.
    best = ""
    areas = RiskArea.objects.filter(
        kind=AreaKind.REGION, effective_from__lte=timezone.now(), ended_at__isnull=True
    )
    for area in areas.only("region_code", "level"):
        if region_covers(area.region_code, code) and RISK_RANK[area.level] > RISK_RANK[best]:
            best = area.level
    return "" if best == RiskLevel.LOW else best


def region_levels(queries: Iterable[tuple[str, dt.datetime | None]]) -> list[str]:
    """:func:`_region_level` for other modules and for many look-ups at once (lists of arrivals): for each
    (region code, time) the highest level ("high", "medium" or "") of the region areas covering the code that
    were in force at that time, each at the level it had then (its changes); time None is now. One query for
    the areas and their changes, however many look-ups."""
    now = timezone.now()
    by_prefix: dict[str, list[tuple[RiskArea, list[RiskAreaChange]]]] = {}
    for area in RiskArea.objects.filter(kind=AreaKind.REGION).prefetch_related("changes"):
        prefix = area.region_code
        while prefix.endswith("00") and len(prefix) > 2:  # as region_covers reads it
            prefix = prefix[:-2]
        changes = sorted(area.changes.all(), key=lambda c: (c.at, c.pk))
        by_prefix.setdefault(prefix, []).append((area, changes))
    found = []
    for code, at in queries:
        best = ""
        for n in range(1, len(code or "") + 1):
            for area, changes in by_prefix.get(code[:n], ()):
                if at is None:  # now: the areas in force and their level, exactly as _region_level
                    if area.effective_from > now or area.ended_at is not None:
                        continue
                    level = area.level
                else:
                    if area.effective_from > at or (area.ended_at is not None and area.ended_at <= at):
                        continue
                    level = changes[0].to_level if changes else area.level
                    for change in changes[1:]:
                        if change.at <= at and change.to_level:
                            level = change.to_level
                if RISK_RANK.get(level, -1) > RISK_RANK[best]:
                    best = level
        found.append("" if best == RiskLevel.LOW else str(best))
    return found


def region_level(code: str, *, at: dt.datetime | None = None) -> str:
    """The risk level of region ``code`` now or at ``at`` (see :func:`region_levels`)."""
    return region_levels([(code, at)])[0]


def travel_declare(
    *,
    actor: User,
    from_region_code: str,
    from_place: str,
    arrived_at: dt.datetime,
    client_id: uuid.UUID | str,
) -> TravelDeclaration:
    """A resident declares where they arrived from; a medium/high-risk origin becomes an arrival fact."""
    person = actor.person
    if person is None:
        raise Forbidden(_("Only residents declare their own travel."))
    code = (from_region_code or "").strip()
    if len(code) != 6 or not code.isdigit():
        raise DomainError(_("A region code has 6 digits (e.g. 310101)."), field="from_region_code")
    if timezone.is_naive(arrived_at):
        arrived_at = timezone.make_aware(arrived_at)
    if arrived_at > timezone.now() + dt.timedelta(minutes=5):
        raise DomainError(_("The arrival lies in the future."), field="arrived_at")
    try:
        with transaction.atomic():
            declaration = TravelDeclaration.objects.create(
                person=person,
                org_code=person.org_code,
                from_region_code=code,
                from_place=from_place.strip()[:120],
                arrived_at=arrived_at,
                client_id=client_id,
            )
            audit_record(actor=actor, action="healthcode.travel_declare", obj=declaration)
    except IntegrityError:
        existing = TravelDeclaration.objects.get(client_id=client_id)
        if existing.person_id != person.pk:
            raise Conflict(_("This client_id was already used.")) from None
        return existing
    level = _region_level(code)
    changes: dict[str, Any] = {"declaration_due": False}
    if level:
        changes.update(arrival_level=level, arrival_at=arrived_at)
    with transaction.atomic():
        facts_update(actor=actor, person_ids=[person.pk], changes=changes)
        if level:
            _publish_arrivals({person.pk: arrived_at}, level, "declaration")
    return declaration


def _publish_arrivals(by_person: dict[int, dt.datetime], level: str, source: str) -> None:
    """``arrivals.identified``: people who arrived from a medium/high-risk area — the grid screens each at
    their door (摸排)."""
    if by_person:
        events.publish(
            "arrivals.identified",
            payload={
                "level": level,
                "source": source,
                "people": [[pid, at.isoformat()] for pid, at in sorted(by_person.items())],
            },
            org_code=district_code(),
        )


# --- risk areas -----------------------------------------------------------------------------------


@dataclass
class RiskAreaInput:
    name: str
    level: str
    kind: str
    org_unit_code: str = ""
    polygon: dict | None = None
    region_code: str = ""
    effective_from: dt.datetime | None = None


def _validate_area(data: RiskAreaInput) -> OrgUnit | None:
    if not data.name.strip():
        raise DomainError(_("The area needs a name."), field="name")
    if data.level not in RiskLevel.values:
        raise DomainError(_("Unknown risk level %(l)s.") % {"l": data.level}, field="level")
    if data.kind == AreaKind.ORG_UNIT:
        unit = OrgUnit.objects.filter(code=data.org_unit_code).first()
        if unit is None:
            raise DomainError(
                _("No org unit with code %(c)s.") % {"c": data.org_unit_code}, field="org_unit_code"
            )
        return unit
    if data.kind == AreaKind.POLYGON:
        if not isinstance(data.polygon, dict) or data.polygon.get("type") != "Polygon":
            raise DomainError(_("A drawn area is a GeoJSON Polygon."), field="polygon")
        return None
    if data.kind == AreaKind.REGION:
        if len(data.region_code) != 6 or not data.region_code.isdigit():
            raise DomainError(_("A region code has 6 digits (e.g. 310101)."), field="region_code")
        return None
    raise DomainError(_("Unknown area kind %(k)s.") % {"k": data.kind}, field="kind")


def risk_area_designate(*, actor: User | None, data: RiskAreaInput) -> RiskArea:
    """Designate a medium- or high-risk area; people who were there recently get the matching facts."""
    _require(actor, Perm.RISK_AREA_EDIT)
    unit = _validate_area(data)
    now = timezone.now()
    start = data.effective_from or now
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    with transaction.atomic():
        area = RiskArea.objects.create(
            name=data.name.strip()[:120],
            kind=data.kind,
            org_unit=unit,
            polygon=data.polygon,
            region_code=data.region_code,
            level=data.level,
            effective_from=start,
            level_since=start,
            last_case_at=start,
            org_code=unit.code if unit else district_code(),
            created_by=actor if actor is not None and actor.pk else None,
        )
        RiskAreaChange.objects.create(
            area=area, from_level="", to_level=data.level, at=now, reason="designated", by=area.created_by
        )
        audit_record(actor=actor, action="riskarea.designate", obj=area, detail={"level": data.level})
        events.publish(
            "riskarea.designated",
            payload={"area_id": area.pk, "level": area.level, "name": area.name},
            org_code=area.org_code,
        )
    forget_risky_venues()
    _apply_area_to_people(area)
    return area


def _apply_area_to_people(area: RiskArea) -> None:
    """Facts for people who were in the area during the rule window (check-ins; travel declarations)."""
    from epigrid.healthcode.geo import venues_in_area

    if area.level == RiskLevel.LOW:
        return
    window = dt.timedelta(
        days=int(policy_param(disease_code="covid19", name="health_code_arrival_window_days", default=14))
    )
    since = max(area.effective_from - window, timezone.now() - window)
    if area.kind == AreaKind.REGION:
        by_person: dict[int, dt.datetime] = {}
        for declaration in TravelDeclaration.objects.filter(arrived_at__gte=since):
            if region_covers(area.region_code, declaration.from_region_code):
                by_person[declaration.person_id] = max(
                    by_person.get(declaration.person_id, declaration.arrived_at), declaration.arrived_at
                )
        _raise_level(by_person, area.level, "arrival_level", "arrival_at")
        _publish_arrivals(by_person, area.level, "risk_area")
        return
    from epigrid.checkins.models import CheckIn

    venue_ids = venues_in_area(area)
    by_person = {}
    for person_id, at in CheckIn.objects.filter(venue_id__in=venue_ids, scanned_at__gte=since).values_list(
        "person_id", "scanned_at"
    ):
        by_person[person_id] = max(by_person.get(person_id, at), at)
    _raise_level(by_person, area.level, "visit_level", "visit_at")


def _raise_level(by_person: dict[int, dt.datetime], level: str, level_field: str, at_field: str) -> None:
    """Record the visit or arrival unless the person already has a higher level on record."""
    if not by_person:
        return
    current = dict(
        PersonFacts.objects.filter(person_id__in=list(by_person)).values_list("person_id", level_field)
    )
    values = {
        pid: {level_field: level, at_field: at}
        for pid, at in by_person.items()
        if RISK_RANK[current.get(pid, "")] <= RISK_RANK[level]
    }
    facts_update_each(actor=None, values=values)


def facts_update_each(
    *, actor: User | None, values: dict[int, dict[str, Any]]
) -> engine.RecomputeResult | None:
    """Set different facts for each person (e.g. each visitor's own visit time), then recompute them once.

    Written with one prepared statement per set of fields through ``executemany`` (an ``UPDATE`` for people
    with facts, an ``INSERT`` of a full row for the others): ``bulk_update``'s ``CASE WHEN`` and
    ``bulk_create``'s per-value compilation cost ~1 s per 10,000 persons, this ~0.1 s."""
    if not values:
        return None
    named: set[str] = set()
    for changes in values.values():
        unknown = set(changes) - FACT_FIELDS
        if unknown:
            raise DomainError(f"unknown facts: {', '.join(sorted(unknown))}")
        named.update(changes)
    ids = sorted(values)
    with transaction.atomic():
        written = _facts_write_each(ids, values)
        audit_record(
            actor=actor, action="healthcode.facts", detail={"count": len(ids), "facts": sorted(named)}
        )
    return engine.recompute(ids, known_facts=written)


_IN_CHUNK = 10_000  # ids per IN (...) list: well under SQLite's 32,766 variables
_ZERO = dt.timedelta(0)


def _facts_write_each(ids: list[int], values: dict[int, dict[str, Any]]) -> list[tuple] | None:
    """Write the facts; on PostgreSQL return the rows as written (for the recompute that follows)."""
    if engine.is_postgres():
        return _facts_write_each_pg(ids, values)
    quote = connection.ops.quote_name
    person, facts = Person._meta, PersonFacts._meta
    orgs: dict[int, str] = {}
    existing: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            # Raw SQL: the ORM spends ~4 µs preparing each value of an IN list.
            cursor.execute(
                f"SELECT p.{quote(person.pk.column)}, p.{quote('org_code')}, f.{quote(facts.pk.column)} "  # noqa: S608
                f"FROM {quote(person.db_table)} p LEFT JOIN {quote(facts.db_table)} f "
                f"ON f.{quote(facts.pk.column)} = p.{quote(person.pk.column)} "
                f"WHERE p.{quote(person.pk.column)} IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for pid, org_code, has_facts in cursor.fetchall():
                orgs[pid] = org_code
                if has_facts is not None:
                    existing.add(pid)
    fields = {name: facts.get_field(name) for name in FACT_FIELDS}
    adapt = _fact_adapter(fields)
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = [f.name for f in facts.concrete_fields]  # person, org_code, the facts, updated_at
    template = [
        at if name == "updated_at" else adapt(name, fields[name].get_default()) if name in fields else None
        for name in columns
    ]
    person_at, org_at = columns.index("person"), columns.index("org_code")
    updates: dict[tuple[str, ...], list[tuple]] = {}
    inserts: list[tuple] = []
    slots: dict[tuple[str, ...], list[int]] = {}
    for pid in ids:
        changes = values[pid]
        names = tuple(changes)
        if pid in existing:
            updates.setdefault(names, []).append((*(adapt(n, changes[n]) for n in names), at, pid))
        elif pid in orgs:
            row = template.copy()
            row[person_at], row[org_at] = pid, orgs[pid]
            positions = slots.get(names)
            if positions is None:
                positions = slots[names] = [columns.index(n) for n in names]
            for name, position in zip(names, positions, strict=True):
                row[position] = adapt(name, changes[name])
            inserts.append(tuple(row))
    with connection.cursor() as cursor:
        if inserts:
            cursor.executemany(engine._insert_sql(PersonFacts, tuple(columns)), inserts)
        for names, params in updates.items():
            cursor.executemany(engine._update_sql(PersonFacts, [*names, "updated_at"]), params)
    return None


def _fact_adapter(fields: dict[str, Any]) -> Any:
    """``adapt(name, value)``: a fact's value as the database takes it, constants adapted once."""
    ops = connection.ops
    datetime_fields = {name for name, f in fields.items() if f.get_internal_type() == "DateTimeField"}
    # SQLite stores naive UTC text: an aware UTC time is written as str() of its naive self (what
    # adapt_datetimefield_value does, without its checks: ~1 µs instead of ~4).
    sqlite_utc = connection.vendor == "sqlite" and connection.timezone_name == "UTC"
    constants: dict[tuple[str, Any], Any] = {}

    def adapt(name: str, value: Any) -> Any:
        if name in datetime_fields and isinstance(value, dt.datetime) and value.tzinfo is not None:
            if sqlite_utc and value.utcoffset() == _ZERO:
                return str(value.replace(tzinfo=None))
            return ops.adapt_datetimefield_value(value)
        try:
            return constants[name, value]
        except KeyError:
            adapted = constants[name, value] = fields[name].get_db_prep_save(value, connection)
            return adapted
        except TypeError:  # unhashable
            return fields[name].get_db_prep_save(value, connection)

    return adapt


def _facts_write_each_pg(ids: list[int], values: dict[int, dict[str, Any]]) -> list[tuple]:
    """PostgreSQL: per set of named facts, one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO UPDATE``
    per :data:`engine.PG_ROWS` people.

    ``executemany`` is one Bind/Execute per row on psycopg 3 (a million 17-column facts rows cost minutes);
    arrays as binary parameters are ~1 µs a value. People with facts get the named facts and ``updated_at``
    (the ``DO UPDATE``), the others a full row of defaults with their person's org code, which the statement
    looks up itself (a lateral probe of the person's primary key per row: joined plainly, the planner may hash
    the whole person table for 20,000 rows); ids of no person are skipped by that join, as on SQLite. A fact
    with the same value for every row of a statement (a lab batch's result) travels once, not as an array.
    Returns every written row as the engine reads facts (``RETURNING``), which spares the recompute that
    follows reading them again."""
    quote = connection.ops.quote_name
    person, facts = Person._meta, PersonFacts._meta
    fields = {name: facts.get_field(name) for name in FACT_FIELDS}
    adapt = _fact_adapter(fields)
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    table = quote(facts.db_table)
    columns = list(facts.concrete_fields)  # person, org_code, the facts, updated_at
    written: list[tuple] = []
    with engine.raw_cursor() as cursor:
        groups: dict[tuple[str, ...], list[int]] = {}
        for pid in ids:
            groups.setdefault(tuple(values[pid]), []).append(pid)
        for names, pids in groups.items():
            for start in range(0, len(pids), engine.PG_ROWS):
                chunk = pids[start : start + engine.PG_ROWS]
                given = {n: [adapt(n, values[pid][n]) for pid in chunk] for n in names}
                single = {
                    n: column[0] for n, column in given.items() if column.count(column[0]) == len(column)
                }
                arrays = [n for n in names if n not in single]
                aliases = {name: f"c{i}" for i, name in enumerate(arrays)}
                select: list[str] = []
                params: list[Any] = []  # the SELECT list's parameters come first in the statement
                for f in columns:
                    if f.name == "person":
                        select.append("v.k")
                    elif f.name == "org_code":
                        select.append("p.o")
                    elif f.name in aliases:
                        select.append(f"v.{aliases[f.name]}")
                    else:
                        if f.name in single:
                            value = single[f.name]
                        elif f.name == "updated_at":
                            value = at
                        else:
                            value = adapt(f.name, f.get_default())
                        select.append(f"%b::{engine.pg_type(f)}")
                        params.append(value)
                unnest = ", ".join(["%b::bigint[]", *(f"%b::{engine.pg_type(fields[n])}[]" for n in arrays)])
                updated = [quote(fields[n].column) for n in names] + [quote("updated_at")]
                sql = (
                    f"INSERT INTO {table} ({', '.join(quote(f.column) for f in columns)}) "  # noqa: S608
                    f"SELECT {', '.join(select)} "
                    f"FROM unnest({unnest}) AS v({', '.join(['k', *aliases.values()])}) "
                    f"CROSS JOIN LATERAL (SELECT {quote('org_code')} AS o FROM {quote(person.db_table)} "
                    f"WHERE {quote(person.pk.column)} = v.k OFFSET 0) AS p "
                    f"ON CONFLICT ({quote(facts.pk.column)}) DO UPDATE SET "
                    + ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
                    + f" RETURNING {engine.pg_facts_select()}"
                )
                cursor.execute(sql, [*params, chunk, *(given[n] for n in arrays)])
                written += cursor.fetchall()
    return written


def risk_area_new_case(*, actor: User | None, area: RiskArea, at: dt.datetime | None = None) -> RiskArea:
    """A new case in the area restarts its downgrade clock."""
    _require(actor, Perm.RISK_AREA_EDIT)
    if area.ended_at is not None:
        raise Conflict(_("This area has ended; designate it again if cases reappear."))
    area.last_case_at = at or timezone.now()
    with transaction.atomic():
        area.save(update_fields=["last_case_at"])
        audit_record(actor=actor, action="riskarea.new_case", obj=area)
    return area


def _change_level(
    area: RiskArea, to_level: str, *, reason: str, actor: User | None, now: dt.datetime
) -> None:
    RiskAreaChange.objects.create(
        area=area,
        from_level=area.level,
        to_level=to_level,
        at=now,
        reason=reason,
        by=actor if actor is not None and actor.pk else None,
    )
    if to_level:
        area.level, area.level_since = to_level, now
        area.save(update_fields=["level", "level_since"])
    else:
        area.ended_at = now
        area.save(update_fields=["ended_at"])
    audit_record(
        actor=actor, action="riskarea.level", obj=area, detail={"to": to_level or "ended", "reason": reason}
    )
    events.publish(
        "riskarea.changed", payload={"area_id": area.pk, "level": to_level or "ended"}, org_code=area.org_code
    )


def risk_area_end(*, actor: User | None, area: RiskArea, reason: str) -> RiskArea:
    _require(actor, Perm.RISK_AREA_EDIT)
    if area.ended_at is not None:
        raise Conflict(_("This area has ended already."))
    with transaction.atomic():
        _change_level(area, "", reason=reason or "ended", actor=actor, now=timezone.now())
    return area


def risk_areas_downgrade_due(*, now: dt.datetime | None = None) -> list[RiskArea]:
    """Policy: high → medium after N days without a new case, medium → low (ended) after M days."""
    now = now or timezone.now()
    days = policy_param(disease_code="covid19", name="risk_area_downgrade_days", default={}) or {}
    high_days, medium_days = int(days.get("high_to_medium", 7)), int(days.get("medium_to_low", 3))
    changed = []
    for area in RiskArea.objects.filter(ended_at__isnull=True, level__in=[RiskLevel.HIGH, RiskLevel.MEDIUM]):
        quiet_since = max(area.level_since, area.last_case_at or area.level_since)
        quiet_days = (now - quiet_since) / dt.timedelta(days=1)
        with transaction.atomic():
            if area.level == RiskLevel.HIGH and quiet_days >= high_days:
                _change_level(
                    area, RiskLevel.MEDIUM, reason=f"{high_days} days without new cases", actor=None, now=now
                )
                changed.append(area)
            elif area.level == RiskLevel.MEDIUM and quiet_days >= medium_days:
                _change_level(
                    area, "", reason=f"{medium_days} days without new cases: low risk", actor=None, now=now
                )
                changed.append(area)
    return changed


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def risk_area_import(*, actor: User | None, rows: Iterable[dict[str, Any]]) -> ImportResult:
    """External lists (CSV/Excel rows with name, region_code, level, effective_from): bad rows reported, good kept."""
    _require(actor, Perm.RISK_AREA_EDIT)
    result = ImportResult()
    for row_no, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            level = {
                "高": "high",
                "高风险": "high",
                "中": "medium",
                "中风险": "medium",
                "低": "low",
                "低风险": "low",
            }.get(str(row.get("level", "")).strip(), str(row.get("level", "")).strip().lower())
            start = row.get("effective_from")
            if isinstance(start, str) and start.strip():
                start = dt.datetime.fromisoformat(start.strip())
            elif isinstance(start, dt.date) and not isinstance(start, dt.datetime):
                start = dt.datetime.combine(start, dt.time())
            risk_area_designate(
                actor=actor,
                data=RiskAreaInput(
                    name=str(row.get("name", "")).strip(),
                    level=level,
                    kind=AreaKind.REGION,
                    region_code=str(row.get("region_code", "")).strip().split(".")[0],
                    effective_from=start or None,
                ),
            )
            result.created += 1
        except DomainError as err:
            result.errors.append((row_no, err.message))
        except ValueError:
            result.errors.append(
                (row_no, _("effective_from is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)."))
            )
    return result


# --- rule sets ------------------------------------------------------------------------------------


def rule_set_create(
    *, actor: User | None, policy: PolicyVersion, name: str, response_levels: list[str], rules_json: Any
) -> RuleSet:
    _require(actor, Perm.POLICY_EDIT)
    try:
        valid = rules.validate(rules_json)
    except rules.RuleError as err:
        raise DomainError(str(err), field="rules") from None
    with transaction.atomic():
        rule_set = RuleSet.objects.create(
            policy=policy,
            name=name.strip()[:100] or "rules",
            response_levels=list(response_levels),
            rules=valid,
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(actor=actor, action="healthcode.ruleset_create", obj=rule_set)
    return rule_set


def rule_set_activate(*, actor: User | None, rule_set: RuleSet) -> engine.RecomputeResult:
    """Make ``rule_set`` the one in force for its response levels, then recompute everyone."""
    _require(actor, Perm.POLICY_EDIT)
    now = timezone.now()
    with transaction.atomic():
        for other in RuleSet.objects.filter(is_active=True).exclude(pk=rule_set.pk):
            if set(other.response_levels) & set(rule_set.response_levels):
                other.is_active = False
                other.save(update_fields=["is_active"])
        rule_set.is_active, rule_set.activated_at = True, now
        rule_set.save(update_fields=["is_active", "activated_at"])
        audit_record(actor=actor, action="healthcode.ruleset_activate", obj=rule_set)
    return engine.recompute()


# --- overrides and appeals --------------------------------------------------------------------------


def override_create(
    *,
    actor: User,
    person: Person,
    colour: str,
    reason: str,
    expires_at: dt.datetime,
    appeal: Appeal | None = None,
) -> Override:
    """A staff decision that sets a colour until it expires; audited, and recomputed at once."""
    _require(actor, Perm.HEALTHCODE_OVERRIDE)
    if not in_scope_code(actor, person.org_code):
        raise Forbidden(_("This person is outside your area."))
    if colour not in Colour.values:
        raise DomainError(_("Unknown colour %(c)s.") % {"c": colour}, field="colour")
    if not reason.strip():
        raise DomainError(_("Say why the colour is set by hand."), field="reason")
    if expires_at <= timezone.now():
        raise DomainError(_("The override must expire in the future."), field="expires_at")
    if expires_at > timezone.now() + dt.timedelta(days=30):
        raise DomainError(_("An override lasts at most 30 days."), field="expires_at")
    with transaction.atomic():
        override = Override.objects.create(
            person=person,
            org_code=person.org_code,
            colour=colour,
            reason=reason.strip()[:200],
            expires_at=expires_at,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="healthcode.override",
            obj=override,
            detail={"colour": colour, "appeal": appeal.pk if appeal else None},
        )
    engine.recompute([person.pk])
    return override


def override_revoke(*, actor: User, override: Override) -> Override:
    _require(actor, Perm.HEALTHCODE_OVERRIDE)
    if not in_scope_code(actor, override.org_code):
        raise Forbidden(_("This person is outside your area."))
    if override.revoked_at is not None:
        raise Conflict(_("This override was revoked already."))
    with transaction.atomic():
        override.revoked_at = timezone.now()
        override.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="healthcode.override_revoke", obj=override)
    engine.recompute([override.person_id])
    return override


def appeal_submit(*, actor: User, note: str) -> Appeal:
    """A resident disputes their colour."""
    person = actor.person
    if person is None:
        raise Forbidden(_("Only residents appeal their own colour."))
    if not note.strip():
        raise DomainError(_("Say why the colour is wrong."), field="note")
    if Appeal.objects.filter(person=person, status=AppealStatus.OPEN).exists():
        raise Conflict(_("You have an open appeal already; staff will answer it."))
    code = HealthCode.objects.filter(person=person).first()
    with transaction.atomic():
        appeal = Appeal.objects.create(
            person=person,
            org_code=person.org_code,
            colour=code.colour if code else Colour.GREEN,
            rule_id=code.rule_id if code else "",
            note=note.strip()[:1000],
        )
        audit_record(actor=actor, action="healthcode.appeal", obj=appeal)
        events.publish(
            "healthcode.appealed",
            payload={"appeal_id": appeal.pk, "person_id": person.pk},
            org_code=person.org_code,
        )
    return appeal


def appeal_decide(
    *,
    actor: User,
    appeal: Appeal,
    uphold: bool,
    note: str,
    colour: str = Colour.GREEN,
    expires_at: dt.datetime | None = None,
) -> Appeal:
    """Staff answer an appeal: confirm the colour, or override it (with a reason and an expiry)."""
    _require(actor, Perm.HEALTHCODE_OVERRIDE)
    if appeal.status != AppealStatus.OPEN:
        raise Conflict(_("This appeal has been answered already."))
    if not note.strip():
        raise DomainError(_("Give the reason for the decision."), field="note")
    with transaction.atomic():
        if uphold:
            appeal.override = override_create(
                actor=actor,
                person=appeal.person,
                colour=colour,
                reason=note,
                appeal=appeal,
                expires_at=expires_at or timezone.now() + dt.timedelta(days=7),
            )
            appeal.status = AppealStatus.OVERRIDDEN
        else:
            appeal.status = AppealStatus.REJECTED
        appeal.reviewed_by, appeal.reviewed_at, appeal.review_note = actor, timezone.now(), note.strip()[:300]
        appeal.save(update_fields=["override", "status", "reviewed_by", "reviewed_at", "review_note"])
        audit_record(
            actor=actor, action="healthcode.appeal_decide", obj=appeal, detail={"status": appeal.status}
        )
    return appeal


# --- check-ins inside risk areas -------------------------------------------------------------------

_risky_venues = TTLCache(ttl=30.0, max_size=1)


def _risky_venue_levels() -> dict[int, str]:
    def load() -> dict[int, str]:
        from epigrid.healthcode.geo import venues_in_area

        levels: dict[int, str] = {}
        now = timezone.now()
        areas = RiskArea.objects.filter(
            kind__in=[AreaKind.ORG_UNIT, AreaKind.POLYGON],
            level__in=[RiskLevel.HIGH, RiskLevel.MEDIUM],
            effective_from__lte=now,
            ended_at__isnull=True,
        ).select_related("org_unit")
        for area in areas:
            for venue_id in venues_in_area(area):
                if RISK_RANK[area.level] > RISK_RANK[levels.get(venue_id, "")]:
                    levels[venue_id] = area.level
        return levels

    return _risky_venues.get_or_load("levels", load) or {}


def forget_risky_venues() -> None:
    _risky_venues.clear()


def note_checkin(person_id: int, venue_id: int, scanned_at: dt.datetime) -> None:
    """Installed as the check-in hook: a check-in at a venue inside a risk area becomes a visit fact.

    The hot path pays one dictionary look-up; the venue table of risk areas is rebuilt every 30 s.
    """
    level = _risky_venue_levels().get(venue_id)
    if level:
        facts_update(
            actor=None, person_ids=[person_id], changes={"visit_level": level, "visit_at": scanned_at}
        )
