"""A mobility model for the synthetic district: days of scan check-ins for every resident, vectorised.

:func:`simulate_history` is pure: given the residents, the venues (with their opening times), the grids,
an anchor time and a seeded generator, it returns the check-ins as columns (numpy arrays). The same seed
gives the same history *relative to the anchor*: moving the anchor by whole weeks moves every check-in by
the same amount. Nothing is scanned after the anchor or before a venue opened.

The model, per resident and day (all rates are per day and multiplied by the scale's ``rate``):

- Working-age adults mostly have a workplace (office building, enterprise, construction site, a few at
  schools and hospitals), chosen with a bias to near home; they arrive around 8:15 on weekdays (construction
  sites also on Saturdays) and eat lunch near work (11:30-13:00) on many work days.
- Children from 3 go to a kindergarten or school near home on weekdays (checked in by a parent when small).
- Dinner at restaurants 17:30-19:30, more on Friday and Saturday; supermarkets and shops in the evening on
  weekdays and all day at weekends (the elderly shop in the morning); leisure venues in the evening; now and
  then a hospital, a station, a hotel.
- Venues near home are preferred (weight ``exp(-distance / L)``, four times more in the home grid), and
  everyone has a few favourite restaurants, supermarkets and shops they return to.
- Everyone has a personal activity level (log-normal); children and the elderly scan less.
- Stays: the venue type's default stay (the automatic check-out), or for some an explicit, earlier check-out;
  workers who check out explicitly leave after 8-9.5 hours.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from epigrid.places.models import VenueType
from epigrid.simulation import geometry

T = VenueType
TYPES: list[str] = list(T.values)
METHODS = ["self", "family", "staff", "kiosk"]

# Distance scale (km) of the preference for near venues, by type.
REACH_KM: dict[str, float] = {
    T.RESTAURANT: 0.8,
    T.SHOP: 0.6,
    T.SUPERMARKET: 1.2,
    T.OTHER: 2.0,
    T.SCHOOL: 1.5,
    T.HOSPITAL: 3.0,
    T.OFFICE: 4.0,
    T.ENTERPRISE: 5.0,
    T.CONSTRUCTION: 5.0,
    T.HOTEL: 6.0,
    T.TRANSPORT: 10.0,
}
HOME_GRID_BOOST = 4.0
FAVOURITES = 3  # per person and type (restaurant, supermarket, shop, other)
FAVOURITE_SHARE = 0.6
WORKPLACE_TYPES = [T.OFFICE, T.ENTERPRISE, T.CONSTRUCTION, T.SCHOOL, T.HOSPITAL]
WORKPLACE_WEIGHTS = [0.36, 0.42, 0.12, 0.04, 0.06]
EMPLOYMENT_RATE = 0.8  # of residents aged 18-59


@dataclass(frozen=True)
class HistorySpec:
    days: int
    rate: float  # multiplies every per-day probability (capped)


# Days of history and the scan-rate multiplier per demo scale (see docs/benchmarks.md for the load times).
HISTORY: dict[str, HistorySpec] = {
    "test": HistorySpec(14, 1.0),
    "tiny": HistorySpec(21, 1.0),
    "district": HistorySpec(14, 1.0),
}


@dataclass
class Residents:
    """Column arrays, one entry per resident."""

    age: np.ndarray  # years at the anchor date (float)
    home_grid: np.ndarray  # index into the grid list
    has_phone: np.ndarray  # bool
    household_size: np.ndarray  # int


@dataclass
class Venues:
    """Column arrays, one entry per venue."""

    type: np.ndarray  # index into TYPES
    grid: np.ndarray  # index into the grid list
    lat: np.ndarray
    lng: np.ndarray
    opened: np.ndarray  # epoch seconds of registration


@dataclass
class History:
    """The check-ins as columns, sorted by scan time."""

    person: np.ndarray  # index into the residents
    venue: np.ndarray  # index into the venues
    scanned: np.ndarray  # epoch seconds (int64)
    leave: np.ndarray  # epoch seconds (int64), > scanned
    explicit: np.ndarray  # bool: an explicit check-out
    method: np.ndarray  # index into METHODS
    client: np.ndarray  # (n, 2) uint64 halves of the client_id UUID

    def __len__(self) -> int:
        return len(self.person)


class _Chooser:
    """Draws venues of one type with a bias towards a given grid, vectorised (one CDF row per grid)."""

    def __init__(self, venues: Venues, grid_xy: np.ndarray, kind: str) -> None:
        self.ids = np.flatnonzero(venues.type == TYPES.index(kind))
        if not len(self.ids):
            self.cdf = None
            return
        vx = venues.lng[self.ids] / geometry.KM_LNG
        vy = venues.lat[self.ids] / geometry.KM_LAT
        dist = np.hypot(grid_xy[:, :1] - vx[None, :], grid_xy[:, 1:] - vy[None, :])
        weight = np.exp(-dist / REACH_KM[kind])
        weight *= np.where(
            venues.grid[self.ids][None, :] == np.arange(len(grid_xy))[:, None], HOME_GRID_BOOST, 1
        )
        weight += 1e-12
        cdf = np.cumsum(weight, axis=1)
        cdf /= cdf[:, -1:]
        # Row g lives in [g, g + 1] so that one searchsorted serves every grid.
        self.cdf = (cdf + np.arange(len(grid_xy))[:, None]).ravel()
        self.per_row = len(self.ids)

    def __call__(self, grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Venue indices (into all venues) for events whose anchor grid is ``grids``; -1 if none exist."""
        if self.cdf is None:
            return np.full(len(grids), -1)
        u = rng.random(len(grids)) * (1 - 1e-9)
        pos = np.searchsorted(self.cdf, grids + u, side="right")
        col = np.clip(pos - grids * self.per_row, 0, self.per_row - 1)
        return self.ids[col]


def day_starts(anchor: dt.datetime, days: int, tz: dt.tzinfo) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of local midnight of each of the ``days`` days ending with the anchor's, and weekdays."""
    last = anchor.astimezone(tz).date()
    dates = [last - dt.timedelta(days=days - 1 - k) for k in range(days)]
    starts = np.array([int(dt.datetime.combine(d, dt.time(), tzinfo=tz).timestamp()) for d in dates])
    return starts.astype(np.int64), np.array([d.weekday() for d in dates])


def simulate_history(
    residents: Residents,
    venues: Venues,
    grid_centroids: np.ndarray,  # (grids, 2) lat, lng
    *,
    anchor: dt.datetime,
    days: int,
    rate: float,
    stays: dict[str, int],  # default stay in minutes by venue type
    rng: np.random.Generator,
    tz: dt.tzinfo | None = None,
) -> History:
    tz = tz or zoneinfo.ZoneInfo("Asia/Shanghai")
    n = len(residents.age)
    starts, weekday = day_starts(anchor, days, tz)
    weekend = weekday >= 5
    grid_xy = np.column_stack(
        [grid_centroids[:, 1] / geometry.KM_LNG, grid_centroids[:, 0] / geometry.KM_LAT]
    )
    choosers = {kind: _Chooser(venues, grid_xy, kind) for kind in TYPES}
    age = residents.age
    home = residents.home_grid

    # Who is who.
    infant = age < 3
    pupil = (age >= 3) & (age < 18)
    working_age = (age >= 18) & (age < 60)
    worker = working_age & (rng.random(n) < EMPLOYMENT_RATE)
    work_type = rng.choice(len(WORKPLACE_TYPES), size=n, p=WORKPLACE_WEIGHTS)
    workplace = np.full(n, -1)
    for k, kind in enumerate(WORKPLACE_TYPES):
        sel = np.flatnonzero(worker & (work_type == k))
        workplace[sel] = choosers[kind](home[sel], rng)
    sel = np.flatnonzero(pupil)
    workplace[sel] = choosers[T.SCHOOL](home[sel], rng)
    worker &= workplace >= 0
    work_grid = np.where(workplace >= 0, venues.grid[np.maximum(workplace, 0)], home)
    # How much each person goes out: personal level times an age factor.
    level = rng.lognormal(0.0, 0.4, n)
    level *= np.select(
        [infant, age < 12, age < 18, age < 60, age < 75], [0.0, 0.35, 0.7, 1.0, 0.7], default=0.4
    )
    level *= rate
    favourites = {
        kind: np.column_stack([choosers[kind](home, rng) for _ in range(FAVOURITES)])
        for kind in (T.RESTAURANT, T.SUPERMARKET, T.SHOP, T.OTHER)
    }

    persons: list[np.ndarray] = []
    venue_ids: list[np.ndarray] = []
    minutes: list[np.ndarray] = []
    days_of: list[np.ndarray] = []

    def happen(
        who: np.ndarray, per_day: np.ndarray, scale: np.ndarray | float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(person, day) pairs of the events drawn for persons ``who`` (indices) with per-day rates."""
        factor = scale[who] if isinstance(scale, np.ndarray) else np.full(len(who), scale)
        p = np.clip(factor[:, None] * per_day[None, :], 0, 0.97)
        pi, di = np.nonzero(rng.random(p.shape) < p)
        return who[pi], di

    def add(pi: np.ndarray, di: np.ndarray, vi: np.ndarray, minute: np.ndarray) -> None:
        keep = vi >= 0
        persons.append(pi[keep])
        days_of.append(di[keep])
        venue_ids.append(vi[keep])
        minutes.append(minute[keep])

    def near_home(kind: str, pi: np.ndarray) -> np.ndarray:
        fresh = choosers[kind](home[pi], rng)
        if kind not in favourites:
            return fresh
        fav = favourites[kind][pi, rng.integers(0, FAVOURITES, len(pi))]
        return np.where(rng.random(len(pi)) < FAVOURITE_SHARE, fav, fresh)

    def uniform(lo: float, hi: float, size: int) -> np.ndarray:
        return rng.uniform(lo * 60, hi * 60, size)

    everyone = np.flatnonzero(~infant)
    adults = np.flatnonzero(age >= 18)
    workers = np.flatnonzero(worker)
    non_workers = np.flatnonzero((age >= 18) & ~worker)
    elderly = age >= 65

    # Work and school: the person's own workplace, arriving in the morning.
    construction = work_type == WORKPLACE_TYPES.index(T.CONSTRUCTION)
    attend = np.where(weekend, 0.06, 0.92)
    office_pi, office_di = happen(workers[~construction[workers]], attend)
    add(office_pi, office_di, workplace[office_pi], rng.normal(8.25 * 60, 25, len(office_pi)).clip(390, 600))
    site = np.where(weekday == 6, 0.1, np.where(weekday == 5, 0.6, 0.94))
    site_pi, site_di = happen(workers[construction[workers]], site)
    add(site_pi, site_di, workplace[site_pi], rng.normal(7.25 * 60, 15, len(site_pi)).clip(360, 540))
    school = np.flatnonzero(pupil & (workplace >= 0))
    pi, di = happen(school, np.where(weekend, 0.0, 0.95))
    add(pi, di, workplace[pi], rng.normal(7.6 * 60, 8, len(pi)).clip(7 * 60, 8.5 * 60))

    # Meals near home: lunch for those not at work, dinner for everyone.
    # Lunch near work on some of the days at work.
    pi, di = np.concatenate([office_pi, site_pi]), np.concatenate([office_di, site_di])
    lunch = rng.random(len(pi)) < 0.4
    pi, di = pi[lunch], di[lunch]
    add(pi, di, choosers[T.RESTAURANT](work_grid[pi], rng), uniform(11.5, 13.0, len(pi)))
    pi, di = happen(non_workers, np.full(days, 0.1), level)
    add(pi, di, near_home(T.RESTAURANT, pi), uniform(11.5, 13.0, len(pi)))
    pi, di = happen(workers, np.where(weekend, 0.22, 0.0), level)
    add(pi, di, near_home(T.RESTAURANT, pi), uniform(11.5, 13.0, len(pi)))
    dinner = np.select([weekday == 4, weekday == 5, weekday == 6], [0.3, 0.3, 0.2], default=0.14)
    pi, di = happen(everyone, dinner, level)
    add(pi, di, near_home(T.RESTAURANT, pi), uniform(17.5, 19.5, len(pi)))

    # Shopping and leisure: evenings on weekdays, all day at weekends; the elderly shop in the morning.
    for kind, weekday_rate, weekend_rate, evening in (
        (T.SUPERMARKET, 0.22, 0.4, (17.5, 21.0)),
        (T.SHOP, 0.15, 0.35, (18.0, 21.0)),
        (T.OTHER, 0.05, 0.15, (18.5, 21.5)),
    ):
        per_day = np.where(weekend, weekend_rate, weekday_rate)
        pi, di = happen(adults, per_day, level)
        weekend_event = weekend[di]
        minute = np.where(weekend_event, uniform(9.0, 20.5, len(pi)), uniform(*evening, len(pi)))
        if kind == T.SUPERMARKET:
            minute = np.where(elderly[pi] & ~weekend_event, uniform(7.5, 10.5, len(pi)), minute)
        add(pi, di, near_home(kind, pi), minute)
        # Children come along now and then (checked in by a parent).
        pi, di = happen(np.flatnonzero(pupil), per_day * 0.5, level)
        add(
            pi,
            di,
            near_home(kind, pi),
            np.where(weekend[di], uniform(9.0, 20.0, len(pi)), uniform(*evening, len(pi))),
        )

    # Rare trips: hospital (more for the elderly and small children), station, hotel.
    sick = np.select([elderly, age < 6], [3.0, 2.0], default=1.0)
    pi, di = happen(everyone, np.where(weekend, 0.003, 0.006), sick)
    add(pi, di, choosers[T.HOSPITAL](home[pi], rng), uniform(8.0, 16.5, len(pi)))
    travel = np.select([weekday == 4, weekday == 6], [0.016, 0.016], default=0.007)
    pi, di = happen(adults, travel, level)
    add(pi, di, choosers[T.TRANSPORT](home[pi], rng), uniform(6.5, 20.0, len(pi)))
    pi, di = happen(adults, np.full(days, 0.002), level)
    add(pi, di, choosers[T.HOTEL](home[pi], rng), uniform(12.0, 22.0, len(pi)))

    person = np.concatenate(persons)
    venue = np.concatenate(venue_ids)
    day = np.concatenate(days_of)
    scanned = starts[day] + (np.concatenate(minutes) * 60).astype(np.int64) + rng.integers(0, 60, len(person))

    # Stays: the default stay (automatic check-out) or an explicit one.
    vtype = venues.type[venue]
    default = (
        np.array([stays.get(kind, stays.get(T.OTHER, 60)) for kind in TYPES], dtype=np.int64)[vtype] * 60
    )
    is_work = (venue == workplace[person]) & (worker[person] | pupil[person])
    explicit = rng.random(len(person)) < np.where(is_work, np.where(pupil[person], 0.0, 0.35), 0.25)
    explicit_stay = np.where(
        is_work,
        rng.uniform(8 * 3600, 9.5 * 3600, len(person)),
        default * rng.uniform(0.3, 0.95, len(person)),
    ).astype(np.int64)
    leave = scanned + np.where(explicit, np.maximum(explicit_stay, 60), default)

    # Methods: own scan; a parent for small children and people without a phone; gate scanners at firms.
    no_phone = ~residents.has_phone[person]
    method = np.zeros(len(person), dtype=np.int8)
    method[no_phone | (age[person] < 12)] = METHODS.index("family")
    method[no_phone & (residents.household_size[person] == 1)] = METHODS.index("staff")
    gate = is_work & np.isin(vtype, [TYPES.index(T.ENTERPRISE), TYPES.index(T.CONSTRUCTION)])
    method[gate & (rng.random(len(person)) < 0.5)] = METHODS.index("kiosk")

    client = rng.integers(0, 2**64 - 1, size=(len(person), 2), dtype=np.uint64, endpoint=True)

    keep = (scanned <= int(anchor.timestamp())) & (scanned >= venues.opened[venue])
    order = np.lexsort((person[keep], scanned[keep]))
    return History(
        person=person[keep][order],
        venue=venue[keep][order],
        scanned=scanned[keep][order],
        leave=leave[keep][order],
        explicit=explicit[keep][order],
        method=method[keep][order],
        client=client[keep][order],
    )


def client_uuid(hi: int, lo: int) -> uuid.UUID:
    return uuid.UUID(int=(hi << 64) | lo, version=4)


def iter_rows(history: History, person_ids: list[int], venue_ids: list[int], chunk: int = 20_000) -> Iterator:
    """The history as :class:`~epigrid.checkins.services.CheckinImportRow` objects, chunk by chunk."""
    from epigrid.checkins.services import CheckinImportRow

    utc = dt.UTC
    pids = np.asarray(person_ids)
    vids = np.asarray(venue_ids)
    for start in range(0, len(history), chunk):
        s = slice(start, start + chunk)
        for hi, lo, pid, vid, scanned, leave, method, explicit in zip(
            history.client[s, 0].tolist(),
            history.client[s, 1].tolist(),
            pids[history.person[s]].tolist(),
            vids[history.venue[s]].tolist(),
            history.scanned[s].tolist(),
            history.leave[s].tolist(),
            history.method[s].tolist(),
            history.explicit[s].tolist(),
            strict=True,
        ):
            yield CheckinImportRow(
                client_id=client_uuid(hi, lo),
                person_id=pid,
                venue_id=vid,
                scanned_at=dt.datetime.fromtimestamp(scanned, utc),
                leave_at=dt.datetime.fromtimestamp(leave, utc),
                method=METHODS[method],
                colour="green",
                left_explicitly=explicit,
            )
