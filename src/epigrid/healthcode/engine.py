"""Computing colours: for a few people after an event (incremental) or for everyone (full recompute).

Both paths load facts as columns, evaluate the active rule set vectorised (``rules.evaluate_columns``),
apply active overrides, and write only what changed: the ``HealthCode`` row and one ``HealthCodeChange``
per person whose colour changed, with an event for each change.

Speed (``epigrid bench healthcode``): the work per person is kept in numpy and in the database's C code.
On SQLite the facts are read as raw text and their times parsed by numpy (Django's per-value datetime
converters cost ~2 µs each, and a person has nine time facts); the outcome of each person is compared with
their current code as integers, so only people whose colour or rule changed reach any Python loop; and the
writes are one prepared statement each through ``executemany`` (``bulk_update``'s ``CASE WHEN`` statements
took ~2.5 s for 1,000 rows, ``bulk_create`` ~80 µs a row) plus one ``bulk_create`` of the events.

On PostgreSQL ``executemany`` is one Bind/Execute round per row (psycopg 3), and Django's client-side binding
renders an ``IN`` list of 20,000 ids into the SQL text, which psycopg then splits in Python (~50 ms a query).
There facts and codes are read by one index probe per id (:func:`select_each`, whatever the statistics of
a table that is growing by a million rows) and times as epoch floats, and every write is one
statement over arrays sent as binary parameters (``INSERT ... SELECT FROM unnest(...)``,
``UPDATE ... FROM unnest(...)``) through a cursor with server-side binding (:func:`raw_cursor`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from epigrid.core import events
from epigrid.core.models import Person
from epigrid.core.selectors import response_level_current
from epigrid.healthcode import rules
from epigrid.healthcode.models import HealthCode, HealthCodeChange, Override, PersonFacts, RuleSet

BATCH = 20_000
_FIELDS = ("person_id", "org_code", *rules.ALL_FACTS)
_NO_CODE, _OTHER = -2, -3  # current-code keys that no outcome slot equals


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


# --- facts as columns -------------------------------------------------------------------------------


def _columns(rows: Sequence[tuple]) -> dict[str, np.ndarray]:
    """Facts rows (in ``_FIELDS`` order, times as datetimes) as typed numpy columns."""
    cols: dict[str, np.ndarray] = {}
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in _FIELDS]
    for name, values in zip(_FIELDS, transposed, strict=True):
        if name in rules.TIME_FACTS:
            cols[name] = np.array([v.timestamp() if v is not None else np.nan for v in values], dtype=float)
        else:
            cols[name] = _plain_column(name, values)
    return cols


def _plain_column(name: str, values: Sequence) -> np.ndarray:
    if name in rules.TEXT_FACTS or name == "org_code":
        return np.array([v or "" for v in values], dtype=str) if values else np.array([], dtype=str)
    if name == "person_id":
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=float)


def _sqlite_times(values: Sequence[str | None]) -> np.ndarray:
    """SQLite's stored datetimes (naive UTC text, ``YYYY-MM-DD HH:MM:SS[.ffffff]``) as float epoch seconds.

    The same floats as ``datetime.timestamp()``: whole microseconds divided by 10**6, correctly rounded.
    """
    objects = np.array(values, dtype=object)
    present = objects != None  # noqa: E711 - elementwise: numpy reads None as NaT far more slowly
    seconds = np.full(len(objects), np.nan)
    try:
        stamps = objects[present].astype("datetime64[us]")
    except ValueError:  # a value numpy does not read: let Django's parser have it
        from django.utils.dateparse import parse_datetime

        return np.array(
            [np.nan if v is None else parse_datetime(v).replace(tzinfo=dt.UTC).timestamp() for v in values],
            dtype=float,
        )
    seconds[present] = stamps.astype(np.int64) / 1e6
    return seconds


def _fast_path() -> bool:
    # Raw text times are naive UTC on SQLite unless the database was given a time zone of its own.
    return connection.vendor == "sqlite" and connection.timezone_name == "UTC"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class _PgCursor:
    """A psycopg cursor with server-side binding on Django's connection (same session, same transaction).

    Errors become Django's (``IntegrityError``...), and statements reach ``connection.queries`` when Django
    logs them (``CaptureQueriesContext`` in tests), as with Django's own cursors."""

    def __init__(self) -> None:
        import psycopg

        connection.ensure_connection()
        self.cursor = psycopg.Cursor(connection.connection)

    def __enter__(self) -> _PgCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cursor.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        started = time.monotonic()
        with connection.wrap_database_errors:
            self.cursor.execute(sql, params)
        if connection.queries_logged:
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})

    def fetchall(self) -> list[tuple]:
        with connection.wrap_database_errors:
            return self.cursor.fetchall()


PG_ANY = 2_000  # keys per "= ANY(array)" of an UPDATE: see pg_update
PG_EACH = 20_000  # ids per select_each query


def select_each(
    select: str, table: str, key: str, ids: Sequence[int], *, per_query: int = PG_EACH
) -> list[tuple]:
    """PostgreSQL: ``SELECT <select> FROM <table> WHERE <key> = id`` for each of ``ids`` (unordered), as one
    index probe per id whatever the table's statistics say.

    ``WHERE key = ANY(array)`` leaves the choice to the planner, which prices the probes against a scan of the
    table from its statistics; a table written a million rows at a time has none yet (autovacuum analyzes it
    a minute later, if it runs at all), and with 2,000 ids the health codes were read by sequential scans
    for half the import (30 s of 80, measured: 479 scans of ~470,000 rows). Here each id is a lateral
    subquery (``OFFSET 0``: planned apart, so not turned into a hash join) whose only sensible plan is the
    index on ``key``."""
    sql = (
        f"SELECT t.* FROM unnest(%b::bigint[]) AS v(k) CROSS JOIN LATERAL "  # noqa: S608 - names from models
        f"(SELECT {select} FROM {table} WHERE {key} = v.k OFFSET 0) AS t"
    )
    rows: list[tuple] = []
    with raw_cursor() as cursor:
        for start in range(0, len(ids), per_query):
            cursor.execute(sql, [list(ids[start : start + per_query])])
            rows += cursor.fetchall()
    return rows


def raw_cursor() -> _PgCursor:
    """A cursor for arrays as binary parameters (``%b``; ~1-2 µs a value in psycopg's C code), PostgreSQL only.

    Django's cursors bind parameters client-side: a list becomes a literal in the SQL text, and a query with
    thousands of placeholders is split by psycopg in Python."""
    return _PgCursor()


def pg_type(field: Any) -> str:
    """The PostgreSQL type of an array of ``field``'s values, for ``unnest(%b::<type>[])``."""
    if field.get_internal_type() in ("CharField", "TextField"):
        # text, not varchar(n): an explicit cast to varchar(n) would cut an over-long value silently, where
        # the assignment to the column refuses it as a plain INSERT would.
        return "text"
    return field.db_type(connection)


def _facts_columns(person_ids: list[int] | None) -> dict[str, np.ndarray]:
    """The ``PersonFacts`` of ``person_ids`` (None: all), ordered by person, as columns."""
    if is_postgres():
        return _facts_columns_pg(person_ids)
    if not _fast_path():
        facts = PersonFacts.objects.order_by("person_id")
        if person_ids is not None:
            facts = facts.filter(person_id__in=person_ids)
        return _columns(list(facts.values_list(*_FIELDS)))
    meta = PersonFacts._meta
    quote = connection.ops.quote_name
    selected = []
    for name in _FIELDS:
        column = quote(meta.get_field(name.removesuffix("_id") if name == "person_id" else name).column)
        # As an expression the column has no declared type, so sqlite3 hands over the stored text as it is.
        selected.append(f"CAST({column} AS TEXT)" if name in rules.TIME_FACTS else column)
    sql = f"SELECT {', '.join(selected)} FROM {quote(meta.db_table)}"  # noqa: S608 - names from the model
    params: list[int] = []
    if person_ids is not None:
        sql += f" WHERE {quote('person_id')} IN ({', '.join(['%s'] * len(person_ids))})"
        params = list(person_ids)
    sql += f" ORDER BY {quote('person_id')}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in _FIELDS]
    return {
        name: _sqlite_times(values) if name in rules.TIME_FACTS else _plain_column(name, values)
        for name, values in zip(_FIELDS, transposed, strict=True)
    }


def _facts_columns_pg(person_ids: list[int] | None) -> dict[str, np.ndarray]:
    """PostgreSQL: the facts of ``person_ids`` by ``= ANY(array)``, times as epoch seconds in float8.

    ``EXTRACT(EPOCH ...)`` is the exact decimal of whole microseconds; its float8 is the correctly rounded
    value, as ``datetime.timestamp()`` is, so both give the same floats (and no datetime objects are built).
    """
    meta = PersonFacts._meta
    quote = connection.ops.quote_name
    if person_ids is not None:
        rows = select_each(pg_facts_select(), quote(meta.db_table), quote("person_id"), person_ids)
        rows.sort(key=_first)
    else:
        with raw_cursor() as cursor:
            cursor.execute(
                f"SELECT {pg_facts_select()} FROM {quote(meta.db_table)} ORDER BY {quote('person_id')}"  # noqa: S608
            )
            rows = cursor.fetchall()
    return _pg_columns(rows)


def pg_facts_select() -> str:
    """The facts columns in ``_FIELDS`` order as PostgreSQL selects them for :func:`recompute`: times as
    epoch seconds in float8 (also a ``RETURNING`` list)."""
    meta, quote = PersonFacts._meta, connection.ops.quote_name
    selected = []
    for name in _FIELDS:
        column = quote(meta.get_field(name.removesuffix("_id") if name == "person_id" else name).column)
        selected.append(f"EXTRACT(EPOCH FROM {column})::float8" if name in rules.TIME_FACTS else column)
    return ", ".join(selected)


def _pg_columns(rows: list[tuple]) -> dict[str, np.ndarray]:
    """Rows of :func:`pg_facts_select`, sorted by person, as columns."""
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in _FIELDS]
    return {
        # None becomes NaN in a float array
        name: np.array(values, dtype=float) if name in rules.TIME_FACTS else _plain_column(name, values)
        for name, values in zip(_FIELDS, transposed, strict=True)
    }


def _first(row: tuple) -> Any:
    return row[0]


def _code_rows(person_ids: list[int] | None) -> list[tuple]:
    """(person_id, colour, rule_id, org_code) of the current codes of ``person_ids`` (None: all), by person.

    Raw SQL: the ORM spends ~4 µs preparing each value of an ``IN`` list."""
    meta = HealthCode._meta
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote('person_id')}, {quote('colour')}, {quote('rule_id')}, {quote('org_code')} "  # noqa: S608
        f"FROM {quote(meta.db_table)}"
    )
    params: list[Any] = []
    if person_ids is not None and is_postgres():
        columns = ", ".join(quote(c) for c in ("person_id", "colour", "rule_id", "org_code"))
        rows = select_each(columns, quote(meta.db_table), quote("person_id"), person_ids)
        return sorted(rows, key=_first)
    if person_ids is not None:
        sql += f" WHERE {quote('person_id')} IN ({', '.join(['%s'] * len(person_ids))})"
        params = list(person_ids)
    sql += f" ORDER BY {quote('person_id')}"
    with raw_cursor() if is_postgres() else connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _empty_columns(person_ids: Sequence[int], org_codes: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns of people about whom nothing is known."""
    size = len(person_ids)
    cols = {
        "person_id": np.array(person_ids, dtype=np.int64),
        "org_code": _plain_column("org_code", org_codes),
    }
    for name, empty in zip(rules.ALL_FACTS, _empty_facts(), strict=True):
        if name in rules.TIME_FACTS:
            cols[name] = np.full(size, np.nan)
        elif name in rules.TEXT_FACTS:
            cols[name] = np.full(size, "", dtype=str)
        else:
            cols[name] = np.full(size, float(empty))
    return cols


def _concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not len(b["person_id"]):
        return a
    return {name: np.concatenate([a[name], b[name]]) for name in _FIELDS}


_OVERRIDES_BY_ID = 1_000  # up to this many people, ask for their overrides; beyond, read all active ones


def _overrides(person_ids: Iterable[int] | None, now: dt.datetime) -> dict[int, Override]:
    """The active override of each of ``person_ids`` (None: everyone), the newest where there are several.

    Active overrides are few (staff decisions), so for many people they are read all at once and picked
    here rather than filtered by an ``IN`` list of 20,000 ids."""
    qs = Override.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    wanted = None if person_ids is None else set(person_ids)
    if wanted is not None and len(wanted) <= _OVERRIDES_BY_ID:
        qs = qs.filter(person_id__in=wanted)
    found: dict[int, Override] = {}
    for override in qs.order_by("created_at"):
        if wanted is None or override.person_id in wanted:
            found[override.person_id] = override  # the newest wins
    return found


# --- recompute --------------------------------------------------------------------------------------


def recompute(
    person_ids: Iterable[int] | None = None,
    *,
    now: dt.datetime | None = None,
    rule_set: RuleSet | None = None,
    known_facts: list[tuple] | None = None,
) -> RecomputeResult:
    """Recompute the colours of ``person_ids`` (None: everyone with facts or a code); write what changed.

    ``known_facts`` (PostgreSQL): every facts row of ``person_ids`` as :func:`pg_facts_select` gives them,
    when the caller has them at hand (``RETURNING`` of the write that just made them), so that they are not
    read again."""
    now = now or timezone.now()
    rule_set = rule_set or active_rule_set()
    rule_list = rule_set.rules if rule_set is not None else []
    result = RecomputeResult(by_colour={"green": 0, "yellow": 0, "red": 0})
    ids = None if person_ids is None else sorted(set(person_ids))
    if ids is not None and not ids:
        return result
    overrides = _overrides(ids, now)
    outcomes = _Outcomes(rule_list)
    for chunk in _chunks(ids):
        if known_facts is not None and chunk is not None and len(chunk) == len(ids or ()):
            cols = _pg_columns(sorted(known_facts, key=_first))  # one chunk: all of them
        else:
            cols = _facts_columns(chunk)
        code_rows = _code_rows(chunk)
        # People with a code but no facts any more are evaluated on empty facts; so is everyone else when
        # the rules give empty facts a colour (e.g. "no test within 72 hours" in an emergency).
        code_ids = np.array([r[0] for r in code_rows], dtype=np.int64)
        with_facts = np.isin(code_ids, cols["person_id"])
        orphans = [(r[0], r[3]) for r, has in zip(code_rows, with_facts.tolist(), strict=True) if not has]
        cols = _concat(cols, _empty_columns([p for p, _o in orphans], [o for _p, o in orphans]))
        if chunk is None and default_outcome(rule_list).colour != "green":
            known = cols["person_id"]
            people = list(
                Person.objects.order_by("pk").values_list("pk", "org_code").iterator(chunk_size=10_000)
            )
            pks = np.array([p[0] for p in people], dtype=np.int64)
            rest = np.flatnonzero(~np.isin(pks, known)).tolist()
            cols = _concat(cols, _empty_columns([people[i][0] for i in rest], [people[i][1] for i in rest]))
        if chunk is not None:
            seen = set(cols["person_id"].tolist())
            rest = [pid for pid in chunk if pid not in seen and pid in overrides]
            cols = _concat(cols, _empty_columns(rest, [""] * len(rest)))
        outcome_index = rules.evaluate_columns(rule_list, cols, now)
        result.changed += _write(
            cols, outcome_index, outcomes, code_rows, code_ids, overrides, rule_set, now, result
        )
        result.evaluated += len(cols["person_id"])
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


class _Outcomes:
    """The outcomes of a rule list as slots: rule ``i`` is slot ``i``, no match (green) the last slot.

    A current code (colour, rule id) maps to the slot that would write exactly it, so "unchanged" is an
    integer comparison; codes no slot would write (overrides, rules of another set) map to ``_OTHER``.
    """

    def __init__(self, rule_list: list[dict]) -> None:
        self.slots = [
            (rule["colour"], rule["id"], rule.get("reason", ""), rule.get("to_green", ""))
            for rule in rule_list
        ]
        self.slots.append(("green", "", "", ""))
        self.green = len(rule_list)
        self.by_code: dict[tuple[str, str], int] = {}
        for slot, (colour, rule_id, _reason, _to_green) in enumerate(self.slots):
            self.by_code.setdefault((colour, rule_id), slot)
        self.colours = np.array([rules.COLOURS.index(s[0]) for s in self.slots], dtype=np.int64)

    def key(self, colour: str, rule_id: str) -> int:
        return self.by_code.get((colour, rule_id), _OTHER)


def _write(cols, outcome_index, outcomes, code_rows, code_ids, overrides, rule_set, now, result) -> int:
    pids = cols["person_id"]
    slots = np.where(outcome_index >= 0, outcome_index, outcomes.green).astype(np.int64)
    # The current code of each person as a slot key; code_ids is sorted (ordered by person).
    code_keys = np.array([outcomes.key(r[1], r[2]) for r in code_rows], dtype=np.int64)
    pos = np.searchsorted(code_ids, pids)
    found = pos < len(code_ids)
    found[found] = code_ids[pos[found]] == pids[found]
    current = np.full(len(pids), _NO_CODE, dtype=np.int64)
    current[found] = code_keys[pos[found]]
    overridden = np.isin(pids, np.fromiter(overrides, dtype=np.int64, count=len(overrides)))

    counts = np.bincount(outcomes.colours[slots[~overridden]], minlength=len(rules.COLOURS))
    for colour, count in zip(rules.COLOURS, counts.tolist(), strict=True):
        result.by_colour[colour] += count
    todo = np.flatnonzero((slots != current) | overridden)
    if not len(todo):
        return 0

    at = connection.ops.adapt_datetimefield_value(now)
    rule_set_id = rule_set.pk if rule_set is not None else None
    new_codes: list[tuple] = []
    recoloured: list[tuple] = []  # colour changed: since = now
    reruled: list[tuple] = []  # same colour, another rule: since kept
    changes: list[tuple] = []
    by_colour = result.by_colour
    org_codes, positions = cols["org_code"], pos
    for i, pid, slot in zip(todo.tolist(), pids[todo].tolist(), slots[todo].tolist(), strict=True):
        org_code = str(org_codes[i])
        override = overrides.get(pid)
        if override is not None:
            colour, rule_id, reason, to_green = (
                override.colour,
                f"override:{override.pk}",
                override.reason,
                "",
            )
            by_colour[colour] += 1
        else:
            colour, rule_id, reason, to_green = outcomes.slots[slot]
        before = code_rows[positions[i]] if found[i] else None
        if before is not None and before[1] == colour and before[2] == rule_id:
            continue
        org_code = org_code or (before[3] if before else "")
        reason, to_green = reason[:200], to_green[:200]
        if before is None:
            new_codes.append((pid, org_code, colour, rule_id, reason, to_green, at, rule_set_id, at))
            if colour == "green":
                continue  # a first green is no change worth recording
        elif before[1] == colour:
            reruled.append((org_code, colour, rule_id, reason, to_green, rule_set_id, at, pid))
            continue
        else:
            recoloured.append((org_code, colour, rule_id, reason, to_green, at, rule_set_id, at, pid))
        changes.append(
            (pid, org_code, before[1] if before else "green", colour, rule_id, reason, rule_set_id, at)
        )

    kept_since = [f for f in _CODE_FIELDS[1:] if f != "since"]
    with transaction.atomic():
        if is_postgres():
            with raw_cursor() as cursor:
                _pg_insert_codes(cursor, new_codes)
                pg_update(cursor, HealthCode, _CODE_FIELDS[1:], recoloured)
                pg_update(cursor, HealthCode, kept_since, reruled)
                pg_insert(cursor, HealthCodeChange, _CHANGE_FIELDS, changes)
        else:
            with connection.cursor() as cursor:
                for sql, params in (
                    (_insert_sql(HealthCode, _CODE_FIELDS), new_codes),
                    (_update_sql(HealthCode, _CODE_FIELDS[1:]), recoloured),
                    (_update_sql(HealthCode, kept_since), reruled),
                    (_insert_sql(HealthCodeChange, _CHANGE_FIELDS), changes),
                ):
                    if params:
                        cursor.executemany(sql, params)
        _publish_changes(changes)
    return len(changes)


_CODE_FIELDS = (
    "person",
    "org_code",
    "colour",
    "rule_id",
    "reason",
    "to_green",
    "since",
    "rule_set",
    "computed_at",
)
_CHANGE_FIELDS = ("person", "org_code", "from_colour", "to_colour", "rule_id", "reason", "rule_set", "at")


def _insert_sql(model, fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608


def _update_sql(model, fields: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(model._meta.get_field(f).column)} = %s" for f in fields)
    pk = quote(model._meta.pk.column)
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {pk} = %s"  # noqa: S608


PG_ROWS = 50_000  # rows per array statement: bounds the size of one message


def pg_insert(cursor: Any, model: Any, fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """PostgreSQL: ``rows`` (values in ``fields`` order, adapted) as ``INSERT ... SELECT FROM unnest(arrays)``."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(quote(meta.get_field(f).column) for f in fields)
    arrays = ", ".join(f"%b::{pg_type(meta.get_field(f))}[]" for f in fields)
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608
    for start in range(0, len(rows), PG_ROWS):
        cursor.execute(sql, [list(column) for column in zip(*rows[start : start + PG_ROWS], strict=True)])


def _pg_insert_codes(cursor: Any, rows: list[tuple]) -> None:
    """PostgreSQL: new codes (``_CODE_FIELDS`` order) with the few distinct outcomes sent once.

    The rows of one recompute share their times and rule set, and their (colour, rule, reason, to-green)
    is one of a few outcomes: per row only person, org code and the outcome's number travel (three arrays
    of 20,000 values instead of nine)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = HealthCode._meta
    outcomes: dict[tuple, int] = {}
    pids, orgs, numbers = [], [], []
    since, rule_set_id, computed_at = rows[0][6], rows[0][7], rows[0][8]
    for pid, org_code, colour, rule_id, reason, to_green, row_since, row_rule_set, row_computed in rows:
        if (row_since, row_rule_set, row_computed) != (since, rule_set_id, computed_at):
            pg_insert(cursor, HealthCode, _CODE_FIELDS, rows)  # not one recompute's rows: the plain way
            return
        pids.append(pid)
        orgs.append(org_code)
        numbers.append(outcomes.setdefault((colour, rule_id, reason, to_green), len(outcomes) + 1))
    columns = ", ".join(quote(meta.get_field(f).column) for f in _CODE_FIELDS)
    time_type, rule_set_type = pg_type(meta.get_field("since")), pg_type(meta.get_field("rule_set"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 - names from the model
        f"SELECT v.k, v.o, s.colour, s.rule_id, s.reason, s.to_green, "
        f"%b::{time_type}, %b::{rule_set_type}, %b::{time_type} "
        "FROM unnest(%b::bigint[], %b::text[], %b::int8[]) AS v(k, o, n) "
        "JOIN unnest(%b::text[], %b::text[], %b::text[], %b::text[]) WITH ORDINALITY "
        "AS s(colour, rule_id, reason, to_green, n) ON s.n = v.n"
    )
    table = [list(column) for column in zip(*outcomes, strict=True)]
    for start in range(0, len(pids), PG_ROWS):
        end = start + PG_ROWS
        cursor.execute(
            sql,
            [since, rule_set_id, computed_at, pids[start:end], orgs[start:end], numbers[start:end], *table],
        )


def pg_update(cursor: Any, model: Any, fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """PostgreSQL: ``rows`` (values in ``fields`` order, then the primary key) as one
    ``UPDATE ... FROM unnest(arrays)`` per :data:`PG_ANY` rows."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = model._meta
    aliases = [f"c{i}" for i in range(len(fields))]
    assignments = ", ".join(
        f"{quote(meta.get_field(f).column)} = v.{alias}" for f, alias in zip(fields, aliases, strict=True)
    )
    key_type = pg_type(meta.pk)
    arrays = ", ".join(f"%b::{pg_type(meta.get_field(f))}[]" for f in fields)
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    # The keys once more as an index condition on the table: joined only to the unnest, the planner may
    # choose to scan the whole table (a million tubes) for 2,000 rows.
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608
        f"FROM unnest({arrays}, %b::{key_type}[]) AS v({', '.join(aliases)}, k) "
        f"WHERE {table}.{pk} = v.k AND {table}.{pk} = ANY(%b::{key_type}[])"
    )
    for start in range(0, len(rows), PG_ANY):  # a few thousand keys: the planner looks them up by index
        columns = [list(column) for column in zip(*rows[start : start + PG_ANY], strict=True)]
        cursor.execute(sql, [*columns, columns[-1]])


def _publish_changes(changes: list[tuple]) -> None:
    """One ``healthcode.changed`` event per change, stored in multi-row INSERTs (``events.publish_many``)."""
    events.publish_many(
        "healthcode.changed",
        [
            ({"person_id": pid, "from": before, "to": colour, "rule": rule_id}, org_code)
            for pid, org_code, before, colour, rule_id, _reason, _rule_set, _at in changes
        ],
    )


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
    cols = _facts_columns(None)
    current = dict(HealthCode.objects.values_list("person_id", "colour"))
    known = set(cols["person_id"].tolist())
    rest = [pid for pid in current if pid not in known]
    if default_outcome(rule_list, now).colour != "green":
        # the set colours people nobody knows anything about: everyone else is in the preview too
        known |= set(rest)
        rest += [
            pid
            for pid in Person.objects.values_list("pk", flat=True).iterator(chunk_size=10_000)
            if pid not in known
        ]
    cols = _concat(cols, _empty_columns(rest, [""] * len(rest)))
    indexes = rules.evaluate_columns(rule_list, cols, now)
    changes = []
    for person_id, index in zip(cols["person_id"].tolist(), indexes.tolist(), strict=True):
        if person_id in overrides:
            continue
        colour, rule_id = (
            (rule_list[index]["colour"], rule_list[index]["id"]) if index >= 0 else ("green", "")
        )
        before = current.get(person_id, "green")
        if before != colour:
            changes.append(PreviewRow(person_id, before, colour, rule_id))
    return changes
