"""``epigrid bench tracing [--scale N]``: contact tracing at district scale, against the policy's definition.

Setup, in a jurisdiction of its own (district :data:`BENCH_DISTRICT`, ten grids) inside a transaction that
is rolled back at the end (nothing is left, not even audit entries): N residents in homes of one to five,
N / 50 venues of every type, and 28 days of check-ins, about three a day per person (a workplace on
weekdays for two in three; meals, shops and errands near home, mostly at a few favourite places; the venue
type's default stay or an earlier check-out). Rows are bulk-loaded as a benchmark may: ``COPY`` on
PostgreSQL, one prepared ``INSERT`` through ``executemany`` on SQLite (not the services: their checks are not
what is measured here). The table is then analysed so the planner sees the rows.

Metrics (each case: a random resident, infectious window of the policy's 4 days ending at a random time in
the last 20 days, isolated at its end):

- ``close_secondary_p50`` / ``_p99``: the tracing engine (``tracing.person_stays`` + ``tracing.trace``: the
  read path of ``services.case_trace``) for close and secondary contacts, over ``min(200, N / 10)`` cases;
  ``close_p50`` / ``_p99`` the same with secondary contacts off. Baseline: a straightforward pandas
  merge-and-filter per case on the check-ins held in memory (over the first 20 cases), and the ratio.
  ``cpu_s``: this process's CPU time for the engine's cases; on PostgreSQL ``server_cpu_s`` adds the
  backend's (read from ``/proc``, same machine).
- ``batch_s``: close and secondary contacts of ``min(1,000, N / 2)`` cases at once in DuckDB over Arrow:
  the check-ins read from the database into Arrow columns (``batch_load_s``) and joined by venue and day.
  Baseline: the engine's mean time per case times the number of cases.
- ``recall`` / ``precision``: every engine answer (and the batch's, for the same cases) against
  :func:`epigrid.simulation.outbreak.reference_contacts`, which compares every stay with every stay at the
  same venue: 1.0 means the same (person, tier) pairs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.db import connection, transaction

from epigrid.checkins.models import CheckIn
from epigrid.core.models import Household, Person
from epigrid.core.selectors import general_rule
from epigrid.investigation import tracing
from epigrid.places.models import Venue, VenueStatus, VenueType
from epigrid.simulation import outbreak
from epigrid.simulation.benchkit import bench_jurisdiction, bulk_load

BENCH_DISTRICT = "370694"
GRIDS = 10
DAYS = 28
PER_DAY = 3.0
CASES = 200
BATCH = 1000
PANDAS_CASES = 20
US = outbreak.US
DAY_US = outbreak.DAY_US
MIN_US = 60 * US

Metric = dict[str, Any]
T = VenueType

# Share of venues by type, and of non-work visits by type.
VENUE_MIX = {
    T.RESTAURANT: 0.30, T.SHOP: 0.20, T.SUPERMARKET: 0.07, T.OTHER: 0.09, T.OFFICE: 0.10,
    T.ENTERPRISE: 0.12, T.CONSTRUCTION: 0.03, T.SCHOOL: 0.04, T.HOSPITAL: 0.01, T.TRANSPORT: 0.02,
    T.HOTEL: 0.02,
}  # fmt: skip
VISIT_MIX = {
    T.RESTAURANT: 0.40, T.SHOP: 0.18, T.SUPERMARKET: 0.20, T.OTHER: 0.13, T.HOSPITAL: 0.03,
    T.TRANSPORT: 0.04, T.HOTEL: 0.02,
}  # fmt: skip
VISIT_HOURS = {  # local opening hours in which visits start
    T.RESTAURANT: (11.5, 20.0), T.SHOP: (9.0, 21.0), T.SUPERMARKET: (8.0, 21.0), T.OTHER: (9.0, 22.0),
    T.HOSPITAL: (8.0, 16.5), T.TRANSPORT: (6.0, 21.0), T.HOTEL: (12.0, 22.0),
}  # fmt: skip
WORK_TYPES = [T.OFFICE, T.ENTERPRISE, T.CONSTRUCTION, T.SCHOOL]


class _Rollback(Exception):
    pass


@dataclasses.dataclass
class Town:
    """The bench's people and check-ins as columns (times in whole seconds since the epoch)."""

    person_ids: np.ndarray
    household_of: np.ndarray  # household pk per person
    venue_ids: np.ndarray
    venue_org: list[str]
    person: np.ndarray  # per check-in: index into person_ids
    venue: np.ndarray  # index into venue_ids
    scanned: np.ndarray
    leave: np.ndarray
    explicit: np.ndarray


# --- setup -------------------------------------------------------------------------------------------------


def _stamp(seconds: np.ndarray) -> list[str]:
    """Times as the database's text input: SQLite's stored form, or UTC text for PostgreSQL's COPY."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    suffix = "+00" if connection.vendor == "postgresql" else ""
    return [t.replace("T", " ") + suffix for t in text.tolist()]


def _households_and_people(n: int, grids: list, rng: np.random.Generator, tag: str) -> tuple:
    sizes = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.16, 0.30, 0.28, 0.16, 0.10])
    ends = np.cumsum(sizes)
    homes = int(np.searchsorted(ends, n) + 1)
    home_of = np.repeat(np.arange(homes), sizes[:homes])[:n]
    home_grid = rng.integers(0, len(grids), size=homes)
    now = _stamp(np.array([int(time.time())]))[0]
    bulk_load(
        Household,
        ("grid", "org_code", "address", "created_at"),
        ((grids[g].pk, grids[g].code, f"基准{tag}-{k}", now) for k, g in enumerate(home_grid.tolist())),
    )
    household_ids = np.array(
        Household.objects.filter(address__startswith=f"基准{tag}-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    secret = Person._meta.get_field("id_number").get_db_prep_save("TR-BENCH", connection)
    blank = Person._meta.get_field("phone").get_db_prep_save("", connection)
    person_grid = home_grid[home_of]
    bulk_load(
        Person,
        ("id_type", "id_number", "id_number_index", "id_number_masked", "name", "sex", "phone", "phone_index",
         "phone_masked", "address", "household", "grid", "org_code", "created_at", "updated_at"),
        (
            ("resident", secret, f"tr-{tag}-{i}", "TR******", f"流调{i}", "", blank, "", "", "",
             int(household_ids[h]), grids[g].pk, grids[g].code, now, now)
            for i, (h, g) in enumerate(zip(home_of.tolist(), person_grid.tolist(), strict=True))
        ),
    )  # fmt: skip
    person_ids = np.array(
        Person.objects.filter(id_number_index__startswith=f"tr-{tag}-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return person_ids, household_ids[home_of], person_grid


def _venues(count: int, grids: list, rng: np.random.Generator, tag: str, opened: int) -> tuple:
    kinds = list(VENUE_MIX)
    types = rng.choice(len(kinds), size=count, p=np.array(list(VENUE_MIX.values())) / sum(VENUE_MIX.values()))
    types[: len(kinds)] = np.arange(len(kinds))  # every type at least once, even at small scales
    grid = rng.integers(0, len(grids), size=count)
    at = _stamp(np.array([opened]))[0]
    bulk_load(
        Venue,
        ("name", "type", "address", "lat", "lng", "grid", "org_code", "contact_name", "is_key_place", "status",
         "decision_note", "code_version", "decided_at", "code_issued_at", "created_at"),
        (
            (f"基准场所{tag}-{k}", kinds[t], "基准路", 34.0 + 0.001 * k % 0.2, 117.0, grids[g].pk, grids[g].code,
             "", False, VenueStatus.APPROVED, "", 1, at, at, at)
            for k, (t, g) in enumerate(zip(types.tolist(), grid.tolist(), strict=True))
        ),
    )  # fmt: skip
    venue_ids = np.array(
        Venue.objects.filter(name__startswith=f"基准场所{tag}-").order_by("pk").values_list("pk", flat=True)
    )
    return venue_ids, np.array(kinds)[types], grid


def _pick(
    of_type: np.ndarray, venue_grid: np.ndarray, grids: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A venue (index) among ``of_type`` for each entry of ``grids``: one in that grid if there is any."""
    order = of_type[np.argsort(venue_grid[of_type], kind="stable")]
    counts = np.bincount(venue_grid[order], minlength=GRIDS)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    local = counts[grids] > 0
    u = rng.random(len(grids))
    anywhere = order[(u * len(order)).astype(np.int64)]
    nearby = order[
        np.minimum(starts[grids] + (u * np.maximum(counts[grids], 1)).astype(np.int64), len(order) - 1)
    ]
    return np.where(local, nearby, anywhere)


def _checkins(n: int, person_grid: np.ndarray, types: np.ndarray, venue_grid: np.ndarray, first_day: int,
              rng: np.random.Generator) -> dict[str, np.ndarray]:  # fmt: skip
    """28 days of check-ins, about PER_DAY a person a day (vectorised)."""
    stays = {
        kind: int(general_rule("venue_default_stay_minutes", {}).get(kind, 60)) * 60 for kind in VENUE_MIX
    }
    days = np.arange(DAYS)
    weekday = ((first_day // 86_400 + days + 3) % 7) < 5  # 1970-01-01 was a Thursday
    persons, venues, starts, leaves, explicit = [], [], [], [], []

    # Work: two in three have a workplace near home; weekdays, arriving 7:30-9:00, 8-9.5 hours.
    work_kind = rng.choice(len(WORK_TYPES), size=n, p=[0.4, 0.4, 0.1, 0.1])
    has_work = rng.random(n) < 0.65
    workplace = np.full(n, -1)
    for k, kind in enumerate(WORK_TYPES):
        sel = np.flatnonzero(has_work & (work_kind == k))
        workplace[sel] = _pick(np.flatnonzero(types == kind), venue_grid, person_grid[sel], rng)
    pi, di = np.nonzero((workplace >= 0)[:, None] & weekday[None, :] & (rng.random((n, DAYS)) < 0.92))
    work_start = first_day + di * 86_400 + rng.integers(int(7.5 * 3600), 9 * 3600, len(pi)) - 8 * 3600
    persons.append(pi)
    venues.append(workplace[pi])
    starts.append(work_start)
    leaves.append(work_start + rng.integers(8 * 3600, int(9.5 * 3600), len(pi)))
    explicit.append(np.ones(len(pi), dtype=bool))

    # Other visits: the rest of PER_DAY on average, mostly at three favourite places per type.
    rate = PER_DAY - len(pi) / (n * DAYS)
    count = rng.poisson(rate, size=(n, DAYS))
    pi = np.repeat(np.repeat(np.arange(n), DAYS), count.ravel())
    di = np.repeat(np.tile(days, n), count.ravel())
    kinds = list(VISIT_MIX)
    kind = rng.choice(len(kinds), size=len(pi), p=np.array(list(VISIT_MIX.values())))
    venue = np.empty(len(pi), dtype=np.int64)
    start = np.empty(len(pi), dtype=np.int64)
    for k, name in enumerate(kinds):
        sel = np.flatnonzero(kind == k)
        of_type = np.flatnonzero(types == name)
        favourites = np.column_stack([_pick(of_type, venue_grid, person_grid, rng) for _ in range(3)])
        fresh = _pick(of_type, venue_grid, person_grid[pi[sel]], rng)
        fav = favourites[pi[sel], rng.integers(0, 3, len(sel))]
        venue[sel] = np.where(rng.random(len(sel)) < 0.6, fav, fresh)
        lo, hi = VISIT_HOURS[name]
        start[sel] = (
            first_day + di[sel] * 86_400 + rng.integers(int(lo * 3600), int(hi * 3600), len(sel)) - 8 * 3600
        )
    default = np.array([stays[kinds[k]] for k in range(len(kinds))])[kind]
    early = rng.random(len(pi)) < 0.3
    stay = np.where(early, (default * rng.uniform(0.3, 0.95, len(pi))).astype(np.int64), default)
    persons.append(pi)
    venues.append(venue)
    starts.append(start)
    leaves.append(start + np.maximum(stay, 60))
    explicit.append(early)

    columns = {
        "person": np.concatenate(persons),
        "venue": np.concatenate(venues),
        "scanned": np.concatenate(starts),
        "leave": np.concatenate(leaves),
        "explicit": np.concatenate(explicit),
    }
    order = np.lexsort((columns["person"], columns["scanned"]))
    return {name: values[order] for name, values in columns.items()}


def _setup(n: int, rng: np.random.Generator) -> tuple[Town, dict[str, float]]:
    tag = uuid.uuid4().hex[:6]
    timings: dict[str, float] = {}
    started = time.perf_counter()
    _district, grids = bench_jurisdiction(BENCH_DISTRICT, "流调基准区", lat=34.0, lng=117.0, grids=GRIDS)
    now = int(time.time())
    # Local (UTC+8) midnight DAYS days ago: the history ends today.
    first_day = (now + 8 * 3600) // 86_400 * 86_400 - (DAYS - 1) * 86_400
    person_ids, household_of, person_grid = _households_and_people(n, grids, rng, tag)
    venue_ids, types, venue_grid = _venues(
        max(len(VENUE_MIX), n // 50), grids, rng, tag, first_day - 86_400 * 30
    )
    timings["people_venues_s"] = time.perf_counter() - started

    started = time.perf_counter()
    rows = _checkins(n, person_grid, types, venue_grid, first_day, rng)
    keep = rows["scanned"] <= now  # nothing in the future
    rows = {name: values[keep] for name, values in rows.items()}
    timings["generate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    org = np.array([g.code for g in grids])[venue_grid]
    base = uuid.uuid4().int >> 40 << 40
    total = len(rows["person"])
    pg = connection.vendor == "postgresql"
    now_text = _stamp(np.array([now]))[0]

    def checkin_rows() -> Iterator[tuple]:
        for start in range(0, total, 200_000):
            part = slice(start, start + 200_000)
            client = [f"{base + i:032x}" for i in range(start, min(start + 200_000, total))]
            for c, p, v, o, s, e, x in zip(
                client,
                person_ids[rows["person"][part]].tolist(),
                venue_ids[rows["venue"][part]].tolist(),
                org[rows["venue"][part]].tolist(),
                _stamp(rows["scanned"][part]),
                _stamp(rows["leave"][part]),
                rows["explicit"][part].tolist(),
                strict=True,
            ):
                yield (c, p, v, o, s, e, x if pg else int(x), "self", "green", now_text)

    bulk_load(
        CheckIn,
        ("client_id", "person", "venue", "org_code", "scanned_at", "leave_at", "left_explicitly", "method",
         "colour", "created_at"),
        checkin_rows(),
    )  # fmt: skip
    timings["load_s"] = time.perf_counter() - started
    if connection.vendor == "postgresql":
        # Autovacuum keeps a real table's statistics current; these rows are uncommitted, so do it here.
        # (SQLite has no statistics unless someone runs ANALYZE, and EpiGrid does not.)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(CheckIn._meta.db_table)}")
        timings["analyze_s"] = time.perf_counter() - started
    town = Town(
        person_ids=person_ids,
        household_of=household_of,
        venue_ids=venue_ids,
        venue_org=org.tolist(),
        person=rows["person"],
        venue=rows["venue"],
        scanned=rows["scanned"],
        leave=rows["leave"],
        explicit=rows["explicit"],
    )
    return town, timings


# --- the contenders ----------------------------------------------------------------------------------------


def _window(end_us: int, rules: tracing.Rules) -> tuple[dt.datetime, dt.datetime]:
    end = outbreak.from_us(end_us)
    return end - dt.timedelta(days=rules.infectious_days_before_onset), end


def engine_contacts(
    person_id: int, window: tuple[dt.datetime, dt.datetime], rules: tracing.Rules
) -> dict[int, str]:
    """The read path of ``services.case_trace``: the case's stays in its window, then ``tracing.trace``."""
    stays = tracing.person_stays({person_id: window}, max_stay=rules.max_stay)
    found = tracing.trace(case_person_ids=[person_id], stays=stays, window=window, rules=rules)
    return {pk: entry.tier for pk, entry in found.items()}


def co_present_proposed(
    stays: list[tracing.Stay], *, min_minutes: float, max_stay: dt.timedelta, exclude: Any = frozenset()
) -> list[tracing.Exposure]:
    """What ``tracing.co_present`` returns, computed the way this bench proposes (see docs/benchmarks.md):

    - one index range per venue and group of overlapping stays (stays of many close contacts at one
      workplace overlap: the current query asks for the same rows once per stay, in many OR terms);
    - the policy's minutes in the bounds: a check-in overlapping ``[start, end)`` by ``m`` minutes began by
      ``end - m`` and left at ``start + m`` or later, so the range is ``[start - max_stay, end - m]`` and
      ``leave_at >= start + m`` is checked on the row;
    - the pairs found with numpy per venue (every stay against every row at once) instead of a Python loop
      over ``rows x stays of the venue``, which is what makes the current engine quadratic."""
    from collections import defaultdict

    from django.db.models import Q

    if not stays:
        return []
    threshold = dt.timedelta(minutes=min_minutes)
    by_venue: dict[int, list[tracing.Stay]] = defaultdict(list)
    for stay in stays:
        by_venue[stay.venue_id].append(stay)
    ranges: list[tuple[int, dt.datetime, dt.datetime]] = []
    for venue_id, group in by_venue.items():
        group.sort(key=lambda st: st.start)
        low, high = group[0].start, group[0].end
        for stay in group[1:]:
            if stay.start <= high:
                high = max(high, stay.end)
                continue
            ranges.append((venue_id, low, high))
            low, high = stay.start, stay.end
        ranges.append((venue_id, low, high))
    rows: dict[int, list[tuple]] = defaultdict(list)
    for start in range(0, len(ranges), 150):
        query = Q()
        for venue_id, low, high in ranges[start : start + 150]:
            if high - low < threshold:
                continue
            query |= Q(
                venue_id=venue_id,
                scanned_at__gte=low - max_stay,
                scanned_at__lte=high - threshold,
                leave_at__gte=low + threshold,
            )
        if not query:
            continue
        for venue_id, person_id, scanned_at, leave_at in CheckIn.objects.filter(query).values_list(
            "venue_id", "person_id", "scanned_at", "leave_at"
        ):
            rows[venue_id].append((person_id, outbreak.to_us(scanned_at), outbreak.to_us(leave_at)))
    threshold_us = round(min_minutes * MIN_US)
    excluded = np.array(sorted(exclude), dtype=np.int64)
    found: set[tracing.Exposure] = set()
    for venue_id, got in rows.items():
        mine = by_venue[venue_id]
        s_person = np.array([st.person_id for st in mine], dtype=np.int64)
        s_start = np.array([outbreak.to_us(st.start) for st in mine], dtype=np.int64)
        s_end = np.array([outbreak.to_us(st.end) for st in mine], dtype=np.int64)
        r = np.array(got, dtype=np.int64)
        keep = ~np.isin(r[:, 0], excluded)
        r = r[keep]
        o_start = np.maximum(s_start[:, None], r[None, :, 1])
        o_end = np.minimum(s_end[:, None], r[None, :, 2])
        hit = (o_end - o_start >= threshold_us) & (s_person[:, None] != r[None, :, 0])
        i, j = np.nonzero(hit)
        for a, b, via, person in zip(
            o_start[i, j].tolist(), o_end[i, j].tolist(), s_person[i].tolist(), r[j, 0].tolist(), strict=True
        ):
            found.add(tracing.Exposure(person, venue_id, outbreak.from_us(a), outbreak.from_us(b), via))
    return sorted(found, key=lambda e: (e.person_id, e.start, e.venue_id))


class PandasTracer:
    """The straightforward way: the check-ins in one DataFrame; per case, merge the case's stays with every
    check-in on venue and filter by overlap; the same for the close contacts' stays."""

    def __init__(self, town: Town) -> None:
        import pandas as pd

        self.pd = pd
        self.df = pd.DataFrame(
            {
                "person": town.person_ids[town.person],
                "venue": town.venue_ids[town.venue],
                "s": town.scanned * US,
                "e": town.leave * US,
            }
        )
        self.home = pd.DataFrame({"person": town.person_ids, "household": town.household_of})

    def _exposed(self, stays, min_us: int):
        pd = self.pd
        pairs = stays.merge(self.df, on="venue", suffixes=("_c", ""))
        start = pd.concat([pairs["s"], pairs["s_c"]], axis=1).max(axis=1)
        end = pd.concat([pairs["e"], pairs["e_c"]], axis=1).min(axis=1)
        hit = (end - start >= min_us) & (pairs["person"] != pairs["person_c"])
        return pairs.loc[hit, ["person_c", "person"]].assign(start=start[hit])

    def contacts(
        self, person_id: int, lo: int, hi: int, min_minutes: float, secondary: bool
    ) -> dict[int, str]:
        df, home, min_us = self.df, self.home, round(min_minutes * MIN_US)
        mine = df[(df.person == person_id) & (df.s < hi) & (df.e > lo)].copy()
        mine["s"], mine["e"] = mine["s"].clip(lower=lo), mine["e"].clip(upper=hi)
        close = self._exposed(mine, min_us).groupby("person")["start"].min()
        household = home[home.household.isin(home[home.person == person_id].household)]
        close = pd_concat_first(self.pd, close, household.person[household.person != person_id], lo)
        tiers = dict.fromkeys(close.index.tolist(), "close")
        if not secondary or close.empty:
            return tiers
        theirs = df[df.person.isin(close.index)].merge(
            close.rename("first"), left_on="person", right_index=True
        )
        theirs = theirs[(theirs.s < hi) & (theirs.e > theirs["first"]) & (theirs["first"] < hi)].copy()
        theirs["s"] = theirs[["s", "first"]].max(axis=1)
        theirs["e"] = theirs["e"].clip(upper=hi)
        found = set(self._exposed(theirs[["person", "venue", "s", "e"]], min_us)["person"].tolist())
        homes = home[home.person.isin(close.index[close < hi])]
        found |= set(home[home.household.isin(homes.household)].person.tolist())
        for pk in found - set(tiers) - {person_id}:
            tiers[pk] = "secondary"
        return tiers


def pd_concat_first(pd: Any, close: Any, household: Any, lo: int) -> Any:
    """The close contacts' first exposures, household members at the window's start."""
    both = pd.concat([close, pd.Series(lo, index=household.values, dtype="int64")])
    return both.groupby(level=0).min()


def _read_arrow(town_district: str) -> Any:
    """The check-ins of the bench district as Arrow columns (venue, person, start, end in µs), read from the
    database: integer seconds computed by the database so no datetime objects are made."""
    import pyarrow as pa

    quote = connection.ops.quote_name
    table = quote(CheckIn._meta.db_table)
    if connection.vendor == "postgresql":
        seconds = "CAST(EXTRACT(EPOCH FROM {}) AS BIGINT)"
    else:
        seconds = "CAST(strftime('%%s', {}) AS INTEGER)"
    sql = (
        f"SELECT {quote('venue_id')}, {quote('person_id')}, {seconds.format(quote('scanned_at'))}, "  # noqa: S608
        f"{seconds.format(quote('leave_at'))} FROM {table} WHERE {quote('org_code')} LIKE %s"
    )
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [f"{town_district}%"])
        while chunk := cursor.fetchmany(500_000):
            parts.append(np.array(chunk, dtype=np.int64))
    rows = np.concatenate(parts) if parts else np.empty((0, 4), dtype=np.int64)
    return pa.table({"venue": rows[:, 0], "person": rows[:, 1], "s": rows[:, 2] * US, "e": rows[:, 3] * US})


BATCH_SQL = """
CREATE TEMP TABLE cd AS
  SELECT venue, person, s, e, unnest(range(s // {day}, (e - 1) // {day} + 1)) AS d FROM checkins;
CREATE TEMP TABLE cs AS
  SELECT k.case_id, k.person AS cp, c.venue, greatest(c.s, k.lo) AS s, least(c.e, k.hi) AS e
  FROM cases k JOIN checkins c ON c.person = k.person WHERE c.s < k.hi AND c.e > k.lo;
CREATE TEMP TABLE close_ AS
  SELECT case_id, person, min(first) AS first FROM (
    SELECT cs.case_id, o.person, greatest(o.s, cs.s) AS first
    FROM (SELECT *, unnest(range(s // {day}, (e - 1) // {day} + 1)) AS d FROM cs) cs
    JOIN cd o ON o.venue = cs.venue AND o.d = cs.d
    WHERE o.person <> cs.cp AND least(o.e, cs.e) - greatest(o.s, cs.s) >= {min_us}
    UNION ALL
    SELECT k.case_id, h2.person, k.lo FROM cases k
    JOIN homes h1 ON h1.person = k.person JOIN homes h2 ON h2.household = h1.household AND h2.person <> k.person
    WHERE {household}
  ) GROUP BY 1, 2;
CREATE TEMP TABLE ss AS
  SELECT cl.case_id, cl.person AS via, c.venue, greatest(c.s, cl.first) AS s, least(c.e, k.hi) AS e
  FROM close_ cl JOIN cases k USING (case_id) JOIN checkins c ON c.person = cl.person
  WHERE c.s < k.hi AND c.e > cl.first AND cl.first < k.hi;
CREATE TEMP TABLE secondary_ AS
  SELECT DISTINCT x.case_id, x.person FROM (
    SELECT ss.case_id, o.person
    FROM (SELECT *, unnest(range(s // {day}, (e - 1) // {day} + 1)) AS d FROM ss) ss
    JOIN cd o ON o.venue = ss.venue AND o.d = ss.d
    WHERE o.person <> ss.via AND least(o.e, ss.e) - greatest(o.s, ss.s) >= {min_us}
    UNION ALL
    SELECT cl.case_id, h2.person FROM close_ cl JOIN cases k USING (case_id)
    JOIN homes h1 ON h1.person = cl.person JOIN homes h2 ON h2.household = h1.household AND h2.person <> cl.person
    WHERE cl.first < k.hi
  ) x JOIN cases k USING (case_id)
  WHERE x.person <> k.person
    AND NOT EXISTS (SELECT 1 FROM close_ c WHERE c.case_id = x.case_id AND c.person = x.person);
"""


def duckdb_batch(arrow: Any, homes: Any, cases: list[tuple[int, int, int, int]], rules: tracing.Rules,
                 *, secondary: bool = True) -> dict[int, dict[int, str]]:  # fmt: skip
    """Close (and secondary) contacts of many cases at once: joins on (venue, day) in DuckDB over Arrow."""
    import duckdb
    import pyarrow as pa

    db = duckdb.connect()
    db.execute(f"SET threads TO {os.cpu_count() or 1}")
    db.register("checkins", arrow)
    db.register("homes", homes)
    db.register(
        "cases",
        pa.table({name: [c[i] for c in cases] for i, name in enumerate(("case_id", "person", "lo", "hi"))}),
    )
    sql = BATCH_SQL.format(
        day=DAY_US,
        min_us=round(rules.min_overlap_minutes * MIN_US),
        household="TRUE" if rules.household_is_close else "FALSE",
    )
    if not secondary:
        sql = sql.split("CREATE TEMP TABLE ss")[0]
    for statement in filter(str.strip, sql.split(";")):
        db.execute(statement)
    out: dict[int, dict[int, str]] = {c[0]: {} for c in cases}
    for case_id, person in db.execute("SELECT case_id, person FROM close_").fetchall():
        out[case_id][person] = "close"
    if secondary:
        for case_id, person in db.execute("SELECT case_id, person FROM secondary_").fetchall():
            out[case_id][person] = "secondary"
    db.close()
    return out


# --- measuring ---------------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else 0.0


def _agreement(
    truth: dict[int, dict[int, str]], found: dict[int, dict[int, str]]
) -> tuple[float, float, int]:
    """Recall and precision of (case, person, tier) over the cases ``found`` answered."""
    true_pairs = {(c, p, t) for c, tiers in truth.items() if c in found for p, t in tiers.items()}
    found_pairs = {(c, p, t) for c, tiers in found.items() if c in truth for p, t in tiers.items()}
    hit = len(true_pairs & found_pairs)
    recall = hit / len(true_pairs) if true_pairs else 1.0
    precision = hit / len(found_pairs) if found_pairs else 1.0
    return recall, precision, len(true_pairs)


class _ServerCpu:
    """CPU seconds of this connection's PostgreSQL backend (same machine: /proc); None elsewhere."""

    def __init__(self) -> None:
        self.pid = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]

    def read(self) -> float | None:
        if self.pid is None:
            return None
        try:
            fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BUDGET_S = 300.0  # per engine variant: a slow engine is measured on the cases that fit, and says so


def _run_engine(
    cases: list[tuple[int, int, int, int]], rules: tracing.Rules, *, proposed: bool = False
) -> tuple[dict, list[float], float, float | None]:
    from unittest import mock

    server = _ServerCpu()
    cpu, server_cpu = time.process_time(), server.read()
    found, times = {}, []
    began = time.perf_counter()
    with (
        mock.patch.object(tracing, "co_present", co_present_proposed)
        if proposed
        else contextlib.nullcontext()
    ):
        for case_id, person, _lo, hi in cases:
            window = _window(hi, rules)
            started = time.perf_counter()
            found[case_id] = engine_contacts(person, window, rules)
            times.append((time.perf_counter() - started) * 1000)
            if time.perf_counter() - began > BUDGET_S and len(times) >= 5:
                break
    after = server.read()
    return found, times, time.process_time() - cpu, (after - server_cpu) if after is not None else None


def bench_tracing(*, scale: int | None) -> list[Metric]:
    """Contact tracing at N residents (default 100,000) with 28 days of check-ins; see the module doc."""
    n = scale or 100_000
    rng = np.random.default_rng(20220314)
    rules = tracing.Rules.for_disease(str(general_rule("default_disease", "covid19")))
    close_rules = dataclasses.replace(rules, secondary=False)
    context = {"n": n, "database": connection.vendor}
    metrics: list[Metric] = []

    def metric(name: str, value: float, unit: str, **extra: Any) -> None:
        out: Metric = {"metric": name, "value": round(value, 3), "unit": unit}
        if extra.get("baseline") is not None:
            out["baseline"] = round(extra["baseline"], 3)
            out["ratio"] = round(value / extra["baseline"], 4) if extra["baseline"] else None
        out.update({k: v for k, v in extra.items() if k != "baseline"}, **context)
        metrics.append(out)

    try:
        with _sqlite_cache(4096), transaction.atomic():
            town, timings = _setup(n, rng)
            metric("checkins_loaded", len(town.person), "rows", days=DAYS, venues=len(town.venue_ids),
                   rows_per_s=round(len(town.person) / timings["load_s"]), **{k: round(v, 2) for k, v in timings.items()})  # fmt: skip

            # The cases: residents with at least one check-in, each window ending in the last 20 days.
            count, batch_count = min(CASES, max(1, n // 10)), min(BATCH, max(1, n // 2))
            people = np.unique(town.person)
            chosen = rng.choice(people, size=min(batch_count, len(people)), replace=False)
            last = int(town.scanned.max())
            ends = last - rng.integers(0, 20 * 86_400, size=len(chosen))
            cases = []
            for case_id, (p, end) in enumerate(zip(chosen.tolist(), ends.tolist(), strict=True)):
                window = _window(int(end) * US, rules)
                cases.append(
                    (case_id, int(town.person_ids[p]), outbreak.to_us(window[0]), outbreak.to_us(window[1]))
                )
            sample = cases[:count]

            # The reference: every stay against every stay at the venue.
            stays = outbreak.StayTable.build(
                town.person_ids[town.person], town.venue_ids[town.venue], town.scanned * US, town.leave * US
            )
            homes = outbreak.Households.build(
                zip(town.person_ids.tolist(), town.household_of.tolist(), strict=True)
            )
            started = time.perf_counter()
            truth = {
                c: outbreak.reference_contacts(stays, homes, p, (lo, hi), min_minutes=rules.min_overlap_minutes,
                                               household_is_close=rules.household_is_close)
                for c, p, lo, hi in sample
            }  # fmt: skip
            truth_close = {c: {p: t for p, t in tiers.items() if t == "close"} for c, tiers in truth.items()}
            reference_s = time.perf_counter() - started
            sizes = [len(t) for t in truth.values()]
            closes = [len(t) for t in truth_close.values()]

            # Pandas baseline (first PANDAS_CASES cases), then the engine on all sampled cases.
            tracer = PandasTracer(town)
            pandas_ms: dict[bool, list[float]] = {True: [], False: []}
            pandas_found: dict[bool, dict] = {True: {}, False: {}}
            for secondary in (False, True):
                for c, p, lo, hi in sample[:PANDAS_CASES]:
                    started = time.perf_counter()
                    pandas_found[secondary][c] = tracer.contacts(
                        p, lo, hi, rules.min_overlap_minutes, secondary
                    )
                    pandas_ms[secondary].append((time.perf_counter() - started) * 1000)
            del tracer

            found_close, close_ms, close_cpu, close_server = _run_engine(sample, close_rules)
            found_all, all_ms, all_cpu, all_server = _run_engine(sample, rules)
            prop_close, prop_close_ms, prop_close_cpu, prop_close_server = _run_engine(
                sample, close_rules, proposed=True
            )
            prop_all, prop_all_ms, prop_all_cpu, prop_all_server = _run_engine(sample, rules, proposed=True)

            for name, ms, cpu, server, secondary in (
                ("close", close_ms, close_cpu, close_server, False),
                ("close_secondary", all_ms, all_cpu, all_server, True),
                ("proposed_close", prop_close_ms, prop_close_cpu, prop_close_server, False),
                ("proposed_close_secondary", prop_all_ms, prop_all_cpu, prop_all_server, True),
            ):
                extra = {"cases": len(ms), "cpu_s": round(cpu, 2), "mean_ms": round(float(np.mean(ms)), 2)}
                if server is not None:
                    extra["server_cpu_s"] = round(server, 2)
                metric(f"{name}_p50", _pct(ms, 50), "ms", baseline=_pct(pandas_ms[secondary], 50),
                       baseline_cases=len(pandas_ms[secondary]), **extra)  # fmt: skip
                metric(f"{name}_p99", _pct(ms, 99), "ms", baseline=_pct(pandas_ms[secondary], 99),
                       baseline_cases=len(pandas_ms[secondary]), **extra)  # fmt: skip

            # The batch: DuckDB over Arrow read from the database.
            import pyarrow as pa

            started, cpu = time.perf_counter(), time.process_time()
            arrow = _read_arrow(BENCH_DISTRICT)
            load_s = time.perf_counter() - started
            homes_arrow = pa.table({"person": town.person_ids, "household": town.household_of})
            started = time.perf_counter()
            batch = duckdb_batch(arrow, homes_arrow, cases, rules)
            batch_s = time.perf_counter() - started
            batch_cpu = time.process_time() - cpu
            per_case_s = float(np.mean(all_ms)) / 1000
            metric("batch_s", batch_s, "s", baseline=per_case_s * len(cases), cases=len(cases),
                   cpu_s=round(batch_cpu, 2), threads=os.cpu_count(),
                   contacts=sum(len(t) for t in batch.values()))  # fmt: skip
            metric("batch_load_s", load_s, "s", rows=arrow.num_rows)
            started, cpu = time.perf_counter(), time.process_time()
            batch_close = duckdb_batch(arrow, homes_arrow, cases, rules, secondary=False)
            metric("batch_close_s", time.perf_counter() - started, "s", baseline=float(np.mean(close_ms)) / 1000 * len(cases),
                   cases=len(cases), cpu_s=round(time.process_time() - cpu, 2),
                   contacts=sum(len(t) for t in batch_close.values()))  # fmt: skip

            # Agreement with the reference.
            for name, got, want in (
                ("engine", found_all, truth),
                ("engine_close", found_close, truth_close),
                ("proposed", prop_all, truth),
                ("proposed_close", prop_close, truth_close),
                ("batch", batch, truth),
                ("batch_close", batch_close, truth_close),
                ("pandas", pandas_found[True], {c: truth[c] for c in pandas_found[True]}),
            ):
                recall, precision, pairs = _agreement(want, got)
                compared = len(set(got) & set(want))
                metric(f"{name}_recall", recall, "ratio", pairs=pairs, cases=compared)
                metric(f"{name}_precision", precision, "ratio", pairs=pairs, cases=compared)
            metric("contacts_per_case_p50", _pct(sizes, 50), "persons", close_p50=_pct(closes, 50),
                   p99=_pct(sizes, 99), reference_s=round(reference_s, 2))  # fmt: skip
            raise _Rollback
    except _Rollback:
        pass
    finally:
        from epigrid.core import geo

        geo.invalidate()
    return metrics


class _sqlite_cache:
    """A large SQLite page cache while the bench's uncommitted rows exist: without it SQLite spills them into
    the WAL as it goes and reads them back through the WAL index."""

    def __init__(self, mib: int) -> None:
        self.mib, self.before = mib, None

    def __enter__(self) -> None:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self.before = cursor.fetchone()[0]
                cursor.execute(f"PRAGMA cache_size = {-1024 * int(self.mib)}")

    def __exit__(self, *exc: object) -> None:
        if self.before is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.before)}")


__all__ = ["BENCH_DISTRICT", "PandasTracer", "bench_tracing", "duckdb_batch", "engine_contacts"]
