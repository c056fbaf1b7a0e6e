"""Contact tracing: who shared a place and time with whom, by the disease policy's rules.

The heart is :func:`co_present`: for a set of stays (a person at a venue from ``start`` to ``end``) it finds
every other check-in at the same venue whose stay overlaps by at least the policy's minutes. It asks the
check-in index ``(venue, scanned_at)`` for a tight range per stay: a stay that overlaps ``[start, end)`` began
before ``end`` and, since no stay is longer than ``checkin_max_stay_hours``, not earlier than ``start`` minus
that bound (without the lower bound the range is the venue's whole history; performance.md measured 900 ms
against 13 ms). All stays go into one query (``OR`` of ranges, which both databases answer with index scans).

Everything here is a read; ``services.case_trace`` stores what it finds.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Q

from epigrid.checkins.models import CheckIn
from epigrid.core.models import Person
from epigrid.core.selectors import general_rule, policy_param
from epigrid.places.models import Venue

_STAYS_PER_QUERY = 150  # OR terms per statement: 4 parameters each, under SQLite's historical 999


@dataclass(frozen=True)
class Stay:
    person_id: int
    venue_id: int
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Exposure:
    """One qualifying overlap between a source stay and another person's stay."""

    person_id: int
    venue_id: int
    start: dt.datetime  # the overlap
    end: dt.datetime
    via_person_id: int  # whose stay it overlapped (the case, or a close contact)

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True)
class Rules:
    """The policy numbers tracing depends on, read once per run."""

    infectious_days_before_onset: int
    min_overlap_minutes: float
    household_is_close: bool
    secondary: bool
    max_stay: dt.timedelta
    weights: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_disease(cls, disease_code: str) -> Rules:
        def param(name: str, default: object) -> object:
            return policy_param(disease_code=disease_code, name=name, default=default)

        return cls(
            infectious_days_before_onset=int(param("infectious_days_before_onset", 4)),
            min_overlap_minutes=float(param("close_contact_min_overlap_minutes", 15)),
            household_is_close=bool(param("household_is_close_contact", True)),
            secondary=bool(param("secondary_contact", True)),
            max_stay=dt.timedelta(hours=float(general_rule("checkin_max_stay_hours", 24))),
            weights=dict(param("transmission_weight", {}) or {}),
        )


def overlap(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime):
    """The common part of two half-open intervals, or None when they only touch or are apart."""
    start, end = max(a_start, b_start), min(a_end, b_end)
    return (start, end) if end > start else None


def clip(stays: Iterable[Stay], start: dt.datetime, end: dt.datetime) -> list[Stay]:
    """The parts of ``stays`` inside ``[start, end)``."""
    out = []
    for stay in stays:
        part = overlap(stay.start, stay.end, start, end)
        if part:
            out.append(Stay(stay.person_id, stay.venue_id, *part))
    return out


def person_stays(
    windows: dict[int, tuple[dt.datetime, dt.datetime]], *, max_stay: dt.timedelta
) -> list[Stay]:
    """Check-ins of each person overlapping their own window, clipped to it; one query for all of them
    (index (person, scanned_at))."""
    if not windows:
        return []
    earliest = min(start for start, _end in windows.values())
    latest = max(end for _start, end in windows.values())
    rows = CheckIn.objects.filter(
        person_id__in=list(windows), scanned_at__lt=latest, scanned_at__gte=earliest - max_stay
    ).values_list("person_id", "venue_id", "scanned_at", "leave_at")
    stays = []
    for person_id, venue_id, scanned_at, leave_at in rows:
        start, end = windows[person_id]
        part = overlap(scanned_at, leave_at, start, end)
        if part:
            stays.append(Stay(person_id, venue_id, *part))
    return stays


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


def _us(value: dt.datetime) -> int:
    return (value - _EPOCH) // _US


def _at(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(value))


def co_present(
    stays: list[Stay], *, min_minutes: float, max_stay: dt.timedelta, exclude: set[int] = frozenset()
) -> list[Exposure]:
    """Every overlap of at least ``min_minutes`` between one of ``stays`` and a check-in of someone else
    at the same venue. ``exclude`` names people never to report (the case itself).

    - One index range per venue and group of overlapping stays: the stays of many close contacts at one
      workplace overlap, and asking once per stay fetched the same rows again and again.
    - The policy's minutes are in the bounds: a check-in overlapping ``[start, end)`` by ``m`` minutes began
      by ``end - m`` and left at ``start + m`` or later.
    - The pairs are found with numpy per venue (every stay against every row at once), not a Python loop
      over rows × stays. (docs/benchmarks.md, tracing: 2× faster for close + secondary, same results.)"""
    if not stays:
        return []
    threshold = dt.timedelta(minutes=min_minutes)
    by_venue: dict[int, list[Stay]] = defaultdict(list)
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
    ranges = [r for r in ranges if r[2] - r[1] >= threshold]  # too short to hold a qualifying overlap
    rows: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for first in range(0, len(ranges), _STAYS_PER_QUERY):
        query = Q()
        for venue_id, low, high in ranges[first : first + _STAYS_PER_QUERY]:
            query |= Q(
                venue_id=venue_id,
                scanned_at__gte=low - max_stay,
                scanned_at__lte=high - threshold,
                leave_at__gte=low + threshold,
            )
        for venue_id, person_id, scanned_at, leave_at in CheckIn.objects.filter(query).values_list(
            "venue_id", "person_id", "scanned_at", "leave_at"
        ):
            if person_id not in exclude:
                rows[venue_id].append((person_id, _us(scanned_at), _us(leave_at)))
    threshold_us = threshold // _US
    found: set[Exposure] = set()
    for venue_id, got in rows.items():
        mine = by_venue[venue_id]
        s_person = np.array([st.person_id for st in mine], dtype=np.int64)
        s_start = np.array([_us(st.start) for st in mine], dtype=np.int64)
        s_end = np.array([_us(st.end) for st in mine], dtype=np.int64)
        r = np.array(got, dtype=np.int64)
        o_start = np.maximum(s_start[:, None], r[None, :, 1])
        o_end = np.minimum(s_end[:, None], r[None, :, 2])
        hit = (o_end - o_start >= threshold_us) & (s_person[:, None] != r[None, :, 0])
        i, j = np.nonzero(hit)
        for a, b, via, person in zip(
            o_start[i, j].tolist(), o_end[i, j].tolist(), s_person[i].tolist(), r[j, 0].tolist(), strict=True
        ):
            found.add(Exposure(person, venue_id, _at(a), _at(b), via))
    # A check-in matching two stays, or two ranges, is still one overlap per pair of stays.
    return sorted(found, key=lambda e: (e.person_id, e.start, e.venue_id))


def household_members(person_ids: Iterable[int]) -> dict[int, list[int]]:
    """For each person, the other members of their household."""
    ids = list(person_ids)
    homes = dict(
        Person.objects.filter(pk__in=ids, household_id__isnull=False).values_list("pk", "household_id")
    )
    members: dict[int, list[int]] = defaultdict(list)
    for pk, household_id in Person.objects.filter(household_id__in=set(homes.values())).values_list(
        "pk", "household_id"
    ):
        members[household_id].append(pk)
    return {pk: [m for m in members[home] if m != pk] for pk, home in homes.items()}


@dataclass
class Found:
    """A contact as tracing found them: tier, the rule of their strongest exposure, every exposure."""

    person_id: int
    tier: str  # close | secondary | companion
    exposures: list[Exposure] = field(default_factory=list)
    household_via: list[tuple[int, dt.datetime, dt.datetime]] = field(default_factory=list)

    @property
    def rule(self) -> str:
        if self.tier == "companion":
            return "companion"
        return "household" if self.household_via else "venue"

    @property
    def first_exposure_at(self) -> dt.datetime:
        return min([e.start for e in self.exposures] + [h[1] for h in self.household_via])

    @property
    def last_exposure_at(self) -> dt.datetime:
        return max([e.end for e in self.exposures] + [h[2] for h in self.household_via])

    @property
    def strongest(self) -> Exposure | None:
        return max(self.exposures, key=lambda e: (e.minutes, -e.start.timestamp()), default=None)

    @property
    def via_person_id(self) -> int:
        if self.household_via:
            return self.household_via[0][0]
        strongest = self.strongest
        return strongest.via_person_id if strongest else 0


def trace(
    *,
    case_person_ids: list[int],
    stays: list[Stay],
    window: tuple[dt.datetime, dt.datetime],
    rules: Rules,
    isolated: dict[int, dt.datetime] | None = None,
) -> dict[int, Found]:
    """Close and secondary contacts of a case whose (already clipped) ``stays`` lie in ``window``.

    Close: an overlap of at least the policy's minutes with one of the stays; household members (if the
    policy says so). Secondary: the same rules applied to each close contact from their first exposure until
    they were isolated (``isolated``; not yet isolated means until the window's end). A person is reported
    once, in the nearest tier."""
    isolated = isolated or {}
    case_ids = set(case_person_ids)
    found: dict[int, Found] = {}
    for exposure in co_present(
        stays, min_minutes=rules.min_overlap_minutes, max_stay=rules.max_stay, exclude=case_ids
    ):
        found.setdefault(exposure.person_id, Found(exposure.person_id, "close")).exposures.append(exposure)
    if rules.household_is_close:
        for case_person, members in household_members(case_ids).items():
            for member in members:
                if member not in case_ids:
                    entry = found.setdefault(member, Found(member, "close"))
                    entry.household_via.append((case_person, *window))
    if not rules.secondary or not found:
        return found

    close_ids = set(found)
    windows: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for pk, entry in found.items():
        end = min(isolated.get(pk, window[1]), window[1])
        if end > entry.first_exposure_at:
            windows[pk] = (entry.first_exposure_at, end)
    their_stays = person_stays(windows, max_stay=rules.max_stay)
    skip = case_ids | close_ids
    secondary: dict[int, Found] = {}
    for exposure in co_present(
        their_stays, min_minutes=rules.min_overlap_minutes, max_stay=rules.max_stay, exclude=skip
    ):
        secondary.setdefault(exposure.person_id, Found(exposure.person_id, "secondary")).exposures.append(
            exposure
        )
    for close_person, members in household_members(windows).items():
        for member in members:
            if member not in skip:
                entry = secondary.setdefault(member, Found(member, "secondary"))
                entry.household_via.append((close_person, *windows[close_person]))
    found.update(secondary)
    return found


# --- spatio-temporal companions (时空伴随) ------------------------------------------------------------

_METRES_PER_DEGREE = 111_320.0


def cell_of(lat: float, lng: float, metres: float) -> tuple[int, int]:
    """The ``metres``-square cell of a point: rows of ``metres`` of latitude, each cut into columns
    ``metres`` wide at the row's middle latitude (so every point of a row uses the same scale)."""
    row = math.floor(lat * _METRES_PER_DEGREE / metres)
    middle = (row + 0.5) * metres / _METRES_PER_DEGREE
    column = math.floor(lng * _METRES_PER_DEGREE * math.cos(math.radians(middle)) / metres)
    return row, column


@dataclass(frozen=True)
class CompanionRules:
    cell_metres: float
    min_minutes: float  # together in the cell for more than this
    min_hours_14d: float  # and the companion spent more than this in the cell over 14 days

    @classmethod
    def for_disease(cls, disease_code: str) -> CompanionRules:
        def param(name: str, default: float) -> float:
            return float(policy_param(disease_code=disease_code, name=name, default=default))

        return cls(
            param("companion_cell_metres", 800),
            param("companion_min_minutes", 10),
            param("companion_min_hours_14d", 30),
        )


def companions(
    stays: list[Stay], *, rules: CompanionRules, max_stay: dt.timedelta, exclude: set[int]
) -> dict[int, Found]:
    """People in the same cell as one of ``stays`` for more than the policy's minutes who also spent more
    than the policy's hours in that cell over the 14 days before — the cell's regulars, not passers-by.
    Presence in a cell is known from check-ins at the venues inside it."""
    if not stays:
        return {}
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    venue_cell: dict[int, tuple[int, int]] = {}
    for pk, lat, lng in Venue.objects.exclude(lat__isnull=True).values_list("pk", "lat", "lng"):
        cell = cell_of(lat, lng, rules.cell_metres)
        cells[cell].append(pk)
        venue_cell[pk] = cell
    threshold = dt.timedelta(minutes=rules.min_minutes)
    together: dict[tuple[int, tuple[int, int]], list[Exposure]] = defaultdict(list)
    for stay in stays:
        cell = venue_cell.get(stay.venue_id)
        if cell is None:
            continue
        rows = (
            CheckIn.objects.filter(
                venue_id__in=cells[cell],
                scanned_at__gte=stay.start - max_stay,
                scanned_at__lt=stay.end,
                leave_at__gt=stay.start,
            )
            .exclude(person_id__in=exclude)
            .values_list("person_id", "venue_id", "scanned_at", "leave_at")
        )
        for person_id, venue_id, scanned_at, leave_at in rows:
            part = overlap(stay.start, stay.end, scanned_at, leave_at)
            if part and part[1] - part[0] > threshold:
                together[(person_id, cell)].append(Exposure(person_id, venue_id, *part, stay.person_id))
    found: dict[int, Found] = {}
    need = dt.timedelta(hours=rules.min_hours_14d)
    for (person_id, cell), exposures in sorted(together.items()):
        until = max(e.end for e in exposures)
        since = until - dt.timedelta(days=14)
        spent = dt.timedelta(0)
        for scanned_at, leave_at in CheckIn.objects.filter(
            person_id=person_id,
            venue_id__in=cells[cell],
            scanned_at__lt=until,
            scanned_at__gte=since - max_stay,
        ).values_list("scanned_at", "leave_at"):
            part = overlap(scanned_at, leave_at, since, until)
            if part:
                spent += part[1] - part[0]
        if spent > need:
            found.setdefault(person_id, Found(person_id, "companion")).exposures.extend(exposures)
    return found
