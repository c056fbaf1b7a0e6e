"""The outbreak simulator behind ``epigrid simulate``: infections spread through homes and shared stays.

On a district in the database (the demo's, by default) :func:`run_outbreak` seeds K infections and spreads
them day by day over the last D days through household and venue co-presence, then tests the people whose
symptoms would have brought them to a fever clinic by now, and writes a ground-truth file. Everything that
lands in the database goes through the services, so the rest of the platform reacts as in use:

- **Mobility.** The district's recorded check-ins are its residents' lives: where they cover the simulated
  days the outbreak spreads through them. Days after the last recorded check-in (a demo loaded some days ago,
  or none at all) are filled with the demo's mobility model (:mod:`~epigrid.simulation.history`) and stored
  through ``checkins.services.checkin_bulk_import`` (actor ``None``, the system). Generating days that
  already have records would give everyone two lives.
- **Spread** (:func:`spread`, pure, deterministic for a seed): each infected person has an incubation period
  (log-normal), is infectious from ``presymptomatic_infectious_days`` before onset until
  ``infectious_days_after_onset`` after it (a fraction never has symptoms and is less infectious), infects each
  household member with a daily probability that adds up to ``household_attack_rate`` over the infectious
  period, and everyone whose stay at a venue overlaps theirs with probability ``1 - exp(-rate * hours)``,
  the rate being ``venue_attack_rate_per_hour`` times the venue type's factor. Any overlap can transmit;
  whether it was long enough to make a *contact* is the policy's question, not the virus's.
- **Detection.** Symptomatic infections whose onset was at least ``test_delay_days`` ago are tested now
  (fever reported to the health code, a single tube each through ``testing.services``, the lab's results
  through ``results_submit``): each positive single tube publishes ``specimen.positive`` and the
  investigation module opens the case and traces it by itself.
- **Ground truth** (JSON): who infected whom, when, where and how; for every case the true close and
  secondary contacts by the policy's definition, computed by :func:`reference_contacts` (every stay compared
  with every stay at the same venue) from the simulated stays, and how well the Contact rows the
  investigation stored agree (recall and precision, 1.0 when the engine is right).

Parameters come from the disease policy's ``"simulation"`` block, each falling back to :data:`DEFAULTS` when
missing (seeding never overwrites a policy that exists, so older databases have no such block).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.utils import timezone

US = 1_000_000  # times are integer microseconds since the epoch: exact, as the database stores them
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Transmission defaults (COVID-19, Omicron-era orders of magnitude); the policy's "simulation" block wins.
DEFAULTS: dict[str, Any] = {
    "household_attack_rate": 0.2,  # share of household members one case infects over its infectious period
    "venue_attack_rate_per_hour": 0.004,  # per hour of shared stay with one infectious person, factor 1
    "venue_type_factor": {
        "restaurant": 3.0,
        "school": 1.5,
        "hospital": 1.5,
        "other": 1.5,
        "transport": 1.0,
        "hotel": 1.0,
        "supermarket": 1.0,
        "shop": 1.0,
        "office": 0.5,
        "enterprise": 0.5,
        "construction": 0.3,
    },
    "incubation_mean_days": 3.5,
    "incubation_sd_days": 1.5,
    "presymptomatic_infectious_days": 2,
    "infectious_days_after_onset": 7,
    "asymptomatic_fraction": 0.3,
    "asymptomatic_relative_infectiousness": 0.5,
    "test_delay_days": 1,  # onset to a test at a fever clinic
    "detection_rate_symptomatic": 1.0,
}


def params_for(disease_code: str) -> dict[str, Any]:
    """The simulation parameters of the disease's active policy, each missing one from :data:`DEFAULTS`."""
    from epigrid.core.selectors import policy_param

    given = policy_param(disease_code=disease_code, name="simulation", default={}) or {}
    params = {**DEFAULTS, **{k: v for k, v in given.items() if k in DEFAULTS}}
    params["venue_type_factor"] = {**DEFAULTS["venue_type_factor"], **(given.get("venue_type_factor") or {})}
    return params


def to_us(value: dt.datetime) -> int:
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def from_us(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=int(value))


def iso(value: int) -> str:
    return timezone.localtime(from_us(value)).isoformat()


# --- stays and homes -----------------------------------------------------------------------------------


@dataclass
class StayTable:
    """Stays (person at venue from start to end) as int64 columns sorted by venue, then start."""

    person: np.ndarray
    venue: np.ndarray
    start: np.ndarray
    end: np.ndarray
    _venue_ids: np.ndarray = field(init=False, repr=False)
    _venue_starts: np.ndarray = field(init=False, repr=False)
    _person_order: np.ndarray = field(init=False, repr=False)
    _person_ids: np.ndarray = field(init=False, repr=False)
    _person_starts: np.ndarray = field(init=False, repr=False)

    @classmethod
    def build(cls, person: Iterable, venue: Iterable, start: Iterable, end: Iterable) -> StayTable:
        columns = [np.asarray(list(c) if not isinstance(c, np.ndarray) else c, dtype=np.int64) for c in
                   (person, venue, start, end)]  # fmt: skip
        order = np.lexsort((columns[0], columns[2], columns[1]))  # venue, start, person: a stable order
        table = cls(*(c[order] for c in columns))
        table._index()
        return table

    def _index(self) -> None:
        self._venue_ids, self._venue_starts = np.unique(self.venue, return_index=True)
        self._person_order = np.lexsort((self.start, self.person))
        self._person_ids, self._person_starts = np.unique(self.person[self._person_order], return_index=True)

    def __len__(self) -> int:
        return len(self.person)

    def at_venue(self, venue_id: int) -> slice:
        k = np.searchsorted(self._venue_ids, venue_id)
        if k >= len(self._venue_ids) or self._venue_ids[k] != venue_id:
            return slice(0, 0)
        end = self._venue_starts[k + 1] if k + 1 < len(self._venue_starts) else len(self.venue)
        return slice(int(self._venue_starts[k]), int(end))

    def of_person(self, person_id: int) -> np.ndarray:
        """Indices of the person's stays, by start."""
        k = np.searchsorted(self._person_ids, person_id)
        if k >= len(self._person_ids) or self._person_ids[k] != person_id:
            return np.empty(0, dtype=np.int64)
        end = self._person_starts[k + 1] if k + 1 < len(self._person_starts) else len(self.person)
        return self._person_order[self._person_starts[k] : end]


@dataclass
class Households:
    home: dict[int, int]  # person -> household
    members: dict[int, list[int]]  # household -> persons, sorted

    @classmethod
    def build(cls, pairs: Iterable[tuple[int, int]]) -> Households:
        home = {int(p): int(h) for p, h in pairs}
        members: dict[int, list[int]] = {}
        for person, household in sorted(home.items()):
            members.setdefault(household, []).append(person)
        return cls(home, members)

    def others(self, person_id: int) -> list[int]:
        home = self.home.get(person_id)
        return [] if home is None else [m for m in self.members[home] if m != person_id]


# --- the reference definition of contacts ----------------------------------------------------------------


def _exposed(
    stays: StayTable, person_id: int, lo: int, hi: int, min_us: int
) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """Everyone whose stay overlaps one of ``person_id``'s stays (clipped to [lo, hi)) by ``min_us`` or more,
    with the overlap's start: every stay at the venue is compared, no index, no time bound."""
    for i in stays.of_person(person_id):
        s, e = max(int(stays.start[i]), lo), min(int(stays.end[i]), hi)
        if e <= s:
            continue
        at = stays.at_venue(int(stays.venue[i]))
        o_start = np.maximum(stays.start[at], s)
        o_end = np.minimum(stays.end[at], e)
        hit = (o_end - o_start >= min_us) & (stays.person[at] != person_id)
        yield stays.person[at][hit], o_start[hit]


def reference_contacts(
    stays: StayTable,
    households: Households,
    case_person_id: int,
    window: tuple[int, int],
    *,
    min_minutes: float,
    household_is_close: bool = True,
    secondary: bool = True,
) -> dict[int, str]:
    """The policy's contacts of a case, straight from the definition (domain.md): ``{person: tier}``.

    Close: an overlap of at least ``min_minutes`` with one of the case's stays inside its infectious
    ``window``, or a shared home. Secondary: the same with a close contact's stays from their first exposure
    (the window's start for a household member) until the window's end, which is when the close contacts are
    isolated; homes of close contacts too. Everyone once, in the nearer tier."""
    lo, hi = window
    min_us = round(min_minutes * 60 * US)
    first: dict[int, int] = {}
    for people, starts in _exposed(stays, case_person_id, lo, hi, min_us):
        for person, start in zip(people.tolist(), starts.tolist(), strict=True):
            first[person] = min(first.get(person, start), start)
    if household_is_close:
        for member in households.others(case_person_id):
            first[member] = lo
    tiers = dict.fromkeys(first, "close")
    if not secondary:
        return tiers
    skip = set(first) | {case_person_id}
    for close, since in sorted(first.items()):
        if hi <= since:
            continue
        for people, _starts in _exposed(stays, close, since, hi, min_us):
            for person in people.tolist():
                if person not in skip:
                    tiers[person] = "secondary"
        for member in households.others(close):
            if member not in skip:
                tiers[member] = "secondary"
    return tiers


# --- the spread -------------------------------------------------------------------------------------------


@dataclass
class Infection:
    person_id: int
    infected_at: int  # us
    setting: str  # seed | household | venue
    infector: int | None
    venue_id: int | None
    overlap_minutes: float | None
    onset_at: int  # us; for an asymptomatic infection the time symptoms would have started
    symptomatic: bool

    def infectious(self, params: dict[str, Any]) -> tuple[int, int]:
        before = round(float(params["presymptomatic_infectious_days"]) * DAY_US)
        after = round(float(params["infectious_days_after_onset"]) * DAY_US)
        return self.onset_at - before, self.onset_at + after


def _course(rng: np.random.Generator, params: dict[str, Any], infected_at: int) -> tuple[int, bool]:
    """Onset time and whether there will be symptoms. The incubation is at least a day longer than the
    pre-symptomatic infectious period, so nobody infects on the day they were infected."""
    mean, sd = float(params["incubation_mean_days"]), float(params["incubation_sd_days"])
    sigma2 = math.log(1 + (sd / mean) ** 2)
    days = float(rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))
    days = max(days, float(params["presymptomatic_infectious_days"]) + 1)
    symptomatic = bool(rng.random() >= float(params["asymptomatic_fraction"]))
    return infected_at + round(days * DAY_US), symptomatic


def spread(
    *,
    stays: StayTable,
    households: Households,
    population: list[int],
    start: int,
    end: int,
    seeds: int,
    params: dict[str, Any],
    venue_factor: dict[int, float],
    rng: np.random.Generator,
    immune: set[int] | frozenset[int] = frozenset(),
) -> dict[int, Infection]:
    """Seed ``seeds`` infections among ``population`` (infectious from the first day) and spread them day by
    day from ``start`` to ``end`` (us). Pure and deterministic: the same inputs and generator state give the
    same infections."""
    candidates = sorted(set(population) - set(immune))
    infected: dict[int, Infection] = {}
    for person in sorted(rng.choice(candidates, size=min(seeds, len(candidates)), replace=False).tolist()):
        onset, symptomatic = _course(rng, params, 0)
        latent = onset - round(float(params["presymptomatic_infectious_days"]) * DAY_US)
        at = start - latent + int(rng.integers(0, DAY_US))  # infectious from some time on the first day
        infected[person] = Infection(person, at, "seed", None, None, None, at + onset, symptomatic)

    span = float(params["presymptomatic_infectious_days"]) + float(params["infectious_days_after_onset"])
    household_daily = 1 - (1 - float(params["household_attack_rate"])) ** (1 / max(span, 1e-9))
    venue_rate = float(params["venue_attack_rate_per_hour"])
    weak = float(params["asymptomatic_relative_infectiousness"])
    blocked = set(immune)
    for day_start in range(start, end, DAY_US):
        day_end = min(day_start + DAY_US, end)
        found: dict[int, tuple[int, str, int, int | None, float | None]] = {}  # person -> earliest exposure

        def expose(
            person: int,
            at: int,
            setting: str,
            infector: int,
            venue: int | None,
            minutes: float | None,
            found: dict = found,
        ) -> None:
            if person in infected or person in blocked:
                return
            if person not in found or at < found[person][0]:
                found[person] = (at, setting, infector, venue, minutes)

        for source in sorted(infected):
            infection = infected[source]
            a, b = infection.infectious(params)
            a, b = max(a, day_start), min(b, day_end)
            if b <= a:
                continue
            strength = 1.0 if infection.symptomatic else weak
            members = households.others(source)
            if members:
                p = 1 - (1 - household_daily) ** (strength * (b - a) / DAY_US)
                for member, draw in zip(members, rng.random(len(members)).tolist(), strict=True):
                    if draw < p:
                        expose(member, a + int(rng.integers(0, b - a)), "household", source, None, None)
            mine = stays.of_person(source)
            for i in mine[(stays.start[mine] >= day_start) & (stays.start[mine] < day_end)].tolist():
                s, e = (
                    max(int(stays.start[i]), a),
                    min(int(stays.end[i]), infection.infectious(params)[1], end),
                )
                if e <= s:
                    continue
                venue = int(stays.venue[i])
                at = stays.at_venue(venue)
                o_start = np.maximum(stays.start[at], s)
                overlap = np.minimum(stays.end[at], e) - o_start
                near = np.flatnonzero((overlap > 0) & (stays.person[at] != source))
                if not len(near):
                    continue
                hours = overlap[near] / HOUR_US
                p = 1 - np.exp(-venue_rate * venue_factor.get(venue, 1.0) * strength * hours)
                for k in near[rng.random(len(near)) < p].tolist():
                    when = int(o_start[k]) + int(rng.integers(0, max(int(overlap[k]), 1)))
                    expose(
                        int(stays.person[at][k]), when, "venue", source, venue, round(overlap[k] / 60 / US, 1)
                    )

        for person in sorted(found):
            at, setting, infector, venue, minutes = found[person]
            onset, symptomatic = _course(rng, params, at)
            infected[person] = Infection(person, at, setting, infector, venue, minutes, onset, symptomatic)
    return infected


# --- the database side ------------------------------------------------------------------------------------


@dataclass
class OutbreakSummary:
    seed: int
    seeds: int
    days: int
    start: str
    end: str
    checkins_recorded: int
    checkins_generated: int
    infected: int
    by_setting: dict[str, int]
    symptomatic: int
    tested: int
    cases: int
    contacts_true: int
    contacts_found: int
    recall: float | None
    precision: float | None
    infections_traced: int  # onward infections of cases found among those cases' contacts
    infections_from_cases: int
    path: str
    elapsed_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outbreak:
    """What :func:`simulate` did; :meth:`ground_truth` reads the cases the investigation opened."""

    seed: int
    days: int
    disease_code: str
    params: dict[str, Any]
    start: int
    end: int
    stays: StayTable
    households: Households
    infections: dict[int, Infection]
    tested: dict[int, int]  # person -> specimen id
    recorded: int
    generated: int
    started: float = field(default_factory=time.perf_counter)

    def ground_truth(self) -> dict[str, Any]:
        from epigrid.investigation import tracing
        from epigrid.investigation.models import Case, Contact

        rules = tracing.Rules.for_disease(self.disease_code)
        cases = {
            c.specimen_id: c
            for c in Case.objects.filter(specimen_id__in=list(self.tested.values())).order_by("pk")
        }
        out_cases = []
        true_all: set[tuple[int, int, str]] = set()
        found_all: set[tuple[int, int, str]] = set()
        traced = from_cases = 0
        for person_id, specimen_id in sorted(self.tested.items()):
            case = cases.get(specimen_id)
            entry: dict[str, Any] = {"person_id": person_id, "specimen_id": specimen_id, "case_id": None}
            if case is None or case.window_start is None:
                out_cases.append(entry)  # not opened (yet): its handler runs after the results' commit
                continue
            window = (to_us(case.window_start), to_us(case.window_end))
            truth = reference_contacts(
                self.stays,
                self.households,
                person_id,
                window,
                min_minutes=rules.min_overlap_minutes,
                household_is_close=rules.household_is_close,
                secondary=rules.secondary,
            )
            stored = dict(Contact.objects.filter(case=case).values_list("person_id", "tier"))
            true_all |= {(case.pk, p, t) for p, t in truth.items()}
            found_all |= {(case.pk, p, t) for p, t in stored.items()}
            infectees = sorted(p for p, inf in self.infections.items() if inf.infector == person_id)
            from_cases += len(infectees)
            traced += sum(p in stored for p in infectees)
            entry.update(
                case_id=case.pk,
                window=[iso(window[0]), iso(window[1])],
                close=sorted(p for p, t in truth.items() if t == "close"),
                secondary=sorted(p for p, t in truth.items() if t == "secondary"),
                infected=infectees,
                found_close=sorted(p for p, t in stored.items() if t == "close"),
                found_secondary=sorted(p for p, t in stored.items() if t == "secondary"),
            )
            out_cases.append(entry)
        hit = len(true_all & found_all)
        return {
            "seed": self.seed,
            "days": self.days,
            "start": iso(self.start),
            "end": iso(self.end),
            "disease": self.disease_code,
            "params": self.params,
            "contact_rules": {
                "min_overlap_minutes": rules.min_overlap_minutes,
                "household_is_close": rules.household_is_close,
                "secondary": rules.secondary,
            },
            "checkins": {"recorded": self.recorded, "generated": self.generated},
            "infections": [
                {
                    "person_id": inf.person_id,
                    "infected_at": iso(inf.infected_at),
                    "day": (inf.infected_at - self.start) // DAY_US,
                    "setting": inf.setting,
                    "infector": inf.infector,
                    "venue_id": inf.venue_id,
                    "overlap_minutes": inf.overlap_minutes,
                    "onset_at": iso(inf.onset_at),
                    "symptomatic": inf.symptomatic,
                    "tested": inf.person_id in self.tested,
                }
                for inf in sorted(self.infections.values(), key=lambda i: (i.infected_at, i.person_id))
            ],
            "cases": out_cases,
            "tracing": {
                "contacts_true": len(true_all),
                "contacts_found": len(found_all),
                "recall": round(hit / len(true_all), 6) if true_all else (1.0 if not found_all else 0.0),
                "precision": round(hit / len(found_all), 6) if found_all else (1.0 if not true_all else 0.0),
                "infections_from_cases": from_cases,
                "infections_traced": traced,
            },
        }

    def write(self, path: Path | str) -> OutbreakSummary:
        """Write the ground truth to ``path`` and return the summary."""
        truth = self.ground_truth()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
        settings: dict[str, int] = {}
        for inf in self.infections.values():
            settings[inf.setting] = settings.get(inf.setting, 0) + 1
        tracing_ = truth["tracing"]
        return OutbreakSummary(
            seed=self.seed,
            seeds=settings.get("seed", 0),
            days=self.days,
            start=truth["start"],
            end=truth["end"],
            checkins_recorded=self.recorded,
            checkins_generated=self.generated,
            infected=len(self.infections),
            by_setting=dict(sorted(settings.items())),
            symptomatic=sum(inf.symptomatic for inf in self.infections.values()),
            tested=len(self.tested),
            cases=sum(1 for c in truth["cases"] if c["case_id"]),
            contacts_true=tracing_["contacts_true"],
            contacts_found=tracing_["contacts_found"],
            recall=tracing_["recall"],
            precision=tracing_["precision"],
            infections_traced=tracing_["infections_traced"],
            infections_from_cases=tracing_["infections_from_cases"],
            path=str(path),
            elapsed_s=round(time.perf_counter() - self.started, 2),
        )


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"  {message}", file=sys.stderr, flush=True)


def _recorded_stays(since: dt.datetime, until: dt.datetime) -> tuple[list, list, list, list]:
    """Every check-in that began in [since, until], whoever and wherever: tracing sees them all."""
    from epigrid.checkins.models import CheckIn

    columns: tuple[list, list, list, list] = ([], [], [], [])
    rows = (
        CheckIn.objects.filter(scanned_at__gte=since, scanned_at__lte=until)
        .order_by("pk")
        .values_list("person_id", "venue_id", "scanned_at", "leave_at")
    )
    for person, venue, scanned, leave in rows.iterator(chunk_size=20_000):
        columns[0].append(person)
        columns[1].append(venue)
        columns[2].append(to_us(scanned))
        columns[3].append(to_us(leave))
    return columns


def _generate_checkins(
    district_code: str, fill_from: dt.datetime, anchor: dt.datetime, seed: int
) -> tuple[list, list, list, list]:
    """The mobility model for the district's residents from ``fill_from`` to ``anchor``, stored through
    ``checkin_bulk_import``; returns the stored stays as columns."""
    from epigrid.checkins.services import checkin_bulk_import
    from epigrid.core.models import OrgLevel, OrgUnit, Person
    from epigrid.places.models import Venue, VenueStatus
    from epigrid.simulation import history, steps

    grids = list(
        OrgUnit.objects.filter(code__startswith=district_code, level=OrgLevel.GRID)
        .order_by("code")
        .values_list("pk", "centroid_lat", "centroid_lng")
    )
    venues = list(
        Venue.objects.filter(org_code__startswith=district_code, status=VenueStatus.APPROVED)
        .order_by("pk")
        .values_list("pk", "type", "grid_id", "lat", "lng", "created_at")
    )
    people = list(
        Person.objects.filter(org_code__startswith=district_code)
        .order_by("pk")
        .values_list("pk", "birth_date", "grid_id", "phone_masked", "household_id")
    )
    if not grids or not venues or not people:
        return [], [], [], []
    grid_index = {pk: i for i, (pk, _lat, _lng) in enumerate(grids)}
    centre = (float(np.mean([v[3] for v in venues])), float(np.mean([v[4] for v in venues])))
    centroids = np.array([[lat if lat is not None else centre[0], lng if lng is not None else centre[1]]
                          for _pk, lat, lng in grids])  # fmt: skip
    today = timezone.localdate(anchor)
    sizes: dict[int, int] = {}
    for *_rest, household in people:
        if household is not None:
            sizes[household] = sizes.get(household, 0) + 1
    residents = history.Residents(
        age=np.array([(today - b).days / 365.25 if b else 35.0 for _pk, b, *_r in people]),
        home_grid=np.array([grid_index.get(g, 0) for _pk, _b, g, *_r in people]),
        has_phone=np.array([bool(phone) for *_r, phone, _h in people]),
        household_size=np.array([sizes.get(h, 1) if h is not None else 1 for *_r, h in people]),
    )
    columns = history.Venues(
        type=np.array([history.TYPES.index(v[1]) for v in venues]),
        grid=np.array([grid_index.get(v[2], 0) for v in venues]),
        lat=np.array([v[3] for v in venues]),
        lng=np.array([v[4] for v in venues]),
        opened=np.array([math.ceil(v[5].timestamp()) for v in venues], dtype=np.int64),
    )
    days = (timezone.localdate(anchor) - timezone.localdate(fill_from)).days + 1
    simulated = history.simulate_history(
        residents,
        columns,
        centroids,
        anchor=anchor,
        days=days,
        rate=1.0,
        stays=steps.default_stays(),
        rng=np.random.default_rng([seed, 0x4D0B]),
        tz=timezone.get_current_timezone(),
    )
    keep = simulated.scanned > int(fill_from.timestamp())
    for name in ("person", "venue", "scanned", "leave", "explicit", "method", "client"):
        setattr(simulated, name, getattr(simulated, name)[keep])
    # Fresh client ids per filled period: a later run must not collide with the rows of an earlier one.
    salt = int.from_bytes(hashlib.sha256(f"{seed}:{fill_from.isoformat()}".encode()).digest()[:8], "big")
    simulated.client[:, 0] ^= np.uint64(salt)
    person_ids = [p[0] for p in people]
    venue_ids = [v[0] for v in venues]
    result = checkin_bulk_import(actor=None, rows=history.iter_rows(simulated, person_ids, venue_ids))
    if result.errors:
        row, message = result.errors[0]
        raise RuntimeError(f"{len(result.errors)} simulated check-ins were rejected; row {row}: {message}")
    pids, vids = np.asarray(person_ids), np.asarray(venue_ids)
    return (
        pids[simulated.person].tolist(),
        vids[simulated.venue].tolist(),
        (simulated.scanned * US).tolist(),
        (simulated.leave * US).tolist(),
    )


def _test_positive(people: list[int], infections: dict[int, Infection], seed: int) -> dict[int, int]:
    """Fever reported, a single tube each, the lab's positive results: returns person -> specimen id."""
    import uuid

    from epigrid.core.models import Person, User
    from epigrid.healthcode import services as healthcode
    from epigrid.testing import services as testing
    from epigrid.testing.models import PointKind, Specimen

    if not people:
        return {}
    for person in people:  # symptoms are what brings them to the fever clinic; the case is then confirmed
        healthcode.facts_update(
            actor=None, person_ids=[person], changes={"fever_at": from_us(infections[person].onset_at)}
        )
    accounts = {u.username: u for u in User.objects.filter(username__in=["sampler", "lab"], is_active=True)}
    sampler, lab = accounts.get("sampler"), accounts.get("lab")
    persons = {p.pk: p for p in Person.objects.filter(pk__in=people).select_related("grid")}
    point = None
    if sampler is None:
        grid = next((p.grid for p in persons.values() if p.grid is not None), None)
        if grid is None:
            raise RuntimeError("the simulated cases have no grid to test them in")
        point = testing.sampling_point_create(
            actor=None, name="发热门诊（模拟）", kind=PointKind.FIXED, grid=grid
        )
    stamp = timezone.now().strftime("%y%m%d%H%M%S")
    ids = np.random.default_rng([seed, 0x7E57]).integers(0, 2**63, size=(len(people), 2)).tolist()
    barcodes: dict[str, int] = {}
    for k, person in enumerate(people):
        barcode = f"SIM{stamp}{k:05d}"
        tube = testing.tube_register(actor=sampler, barcode=barcode, pool_size=1, sampling_point=point)
        testing.specimen_add(
            actor=sampler,
            tube=tube,
            person=persons[person],
            client_id=uuid.UUID(int=(ids[k][0] << 64) | ids[k][1], version=4),
        )
        barcodes[barcode] = person
    outcomes = testing.results_submit(actor=lab, rows=[{"tube": b, "result": "positive"} for b in barcodes])
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} simulated results were rejected: {failed[0].detail}")
    return dict(Specimen.objects.filter(tube__barcode__in=list(barcodes)).values_list("person_id", "pk"))


@dataclass
class Spread:
    """An outbreak spread over the last days of a district, nobody tested yet (:func:`spread_over_district`)."""

    disease_code: str
    params: dict[str, Any]
    start: int
    end: int
    stays: StayTable
    households: Households
    infections: dict[int, Infection]
    recorded: int
    generated: int

    def detected(self, seed: int) -> list[tuple[int, int]]:
        """(person, when found) of the symptomatic people found by testing before the end
        (``test_delay_days`` after onset, with the policy's detection rate), in person order; ``seed`` makes
        the draw repeatable."""
        delay = round(float(self.params["test_delay_days"]) * DAY_US)
        detect = np.random.default_rng([seed, 0xDE7E])
        return [
            (pk, inf.onset_at + delay)
            for pk, inf in sorted(self.infections.items())
            if inf.symptomatic and inf.onset_at + delay <= self.end
            and detect.random() < float(self.params["detection_rate_symptomatic"])
        ]  # fmt: skip


def spread_over_district(
    *,
    seeds: int,
    days: int,
    seed: int,
    district_code: str,
    disease_code: str | None = None,
    progress: bool = False,
) -> Spread:
    """Spread an outbreak over the last ``days`` days of the district through homes and the recorded stays
    (check-ins generated by the mobility model where the district has none), with the policy's simulation
    parameters; people already cases are immune. Writes nothing but the generated check-ins."""
    from epigrid.core.models import Person
    from epigrid.core.selectors import general_rule, policy_param
    from epigrid.investigation.models import Case, Classification
    from epigrid.places.models import Venue

    disease_code = disease_code or str(general_rule("default_disease", "covid19"))
    params = params_for(disease_code)
    max_stay_hours = int(general_rule("checkin_max_stay_hours", 24))
    window_days = int(policy_param(disease_code=disease_code, name="infectious_days_before_onset", default=4))
    anchor = timezone.now().replace(microsecond=0)
    start_dt = anchor - dt.timedelta(days=days)
    # Tracing looks back the infectious window (and one stay) from now: the stays must cover that too.
    since = min(start_dt, anchor - dt.timedelta(days=window_days + 1)) - dt.timedelta(hours=max_stay_hours)

    residents = list(
        Person.objects.filter(org_code__startswith=district_code).order_by("pk").values_list("pk", flat=True)
    )
    if not residents:
        raise RuntimeError(f"no residents under {district_code}: load the demo district first")
    recorded = _recorded_stays(since, anchor)
    last = max(recorded[2], default=None)
    district_last = None
    if last is not None:
        from epigrid.checkins.models import CheckIn

        district_last = (
            CheckIn.objects.filter(person__org_code__startswith=district_code, scanned_at__lte=anchor)
            .order_by("-scanned_at")
            .values_list("scanned_at", flat=True)
            .first()
        )
    fill_from = max(start_dt, district_last) if district_last else start_dt
    _say(
        progress, f"{len(recorded[0]):,} recorded check-ins since {timezone.localtime(since):%Y-%m-%d %H:%M}"
    )
    generated: tuple[list, list, list, list] = ([], [], [], [])
    if anchor - fill_from > dt.timedelta(minutes=30):
        generated = _generate_checkins(district_code, fill_from, anchor, seed)
        _say(
            progress,
            f"{len(generated[0]):,} check-ins generated from {timezone.localtime(fill_from):%Y-%m-%d %H:%M}",
        )
    stays = StayTable.build(*(a + b for a, b in zip(recorded, generated, strict=True)))
    households = Households.build(
        Person.objects.filter(household_id__isnull=False)
        .values_list("pk", "household_id")
        .iterator(chunk_size=20_000)
    )
    factors = params["venue_type_factor"]
    venue_factor = {
        pk: float(factors.get(kind, 1.0))
        for pk, kind in Venue.objects.filter(pk__in=np.unique(stays.venue).tolist()).values_list("pk", "type")
    }
    immune = set(
        Case.objects.filter(merged_into__isnull=True)
        .exclude(classification=Classification.EXCLUDED)
        .values_list("person_id", flat=True)
    )
    start, end = to_us(start_dt), to_us(anchor)
    infections = spread(
        stays=stays,
        households=households,
        population=residents,
        start=start,
        end=end,
        seeds=seeds,
        params=params,
        venue_factor=venue_factor,
        rng=np.random.default_rng([seed, 0x5EED]),
        immune=immune,
    )
    _say(progress, f"{len(infections):,} infected ({seeds} seeds, {days} days)")
    return Spread(
        disease_code, params, start, end, stays, households, infections, len(recorded[0]), len(generated[0])
    )


def simulate(
    *,
    seeds: int = 5,
    days: int = 14,
    seed: int = 1,
    district_code: str | None = None,
    disease_code: str | None = None,
    progress: bool = False,
) -> Outbreak:
    """Spread an outbreak over the last ``days`` days of the district and test the symptomatic; the
    investigation opens the cases once the results commit (at once outside a transaction)."""
    from epigrid.simulation.plan import DISTRICT_CODE

    started = time.perf_counter()
    outbreak = spread_over_district(
        seeds=seeds,
        days=days,
        seed=seed,
        district_code=district_code or DISTRICT_CODE,
        disease_code=disease_code,
        progress=progress,
    )
    tested = _test_positive([pk for pk, _at in outbreak.detected(seed)], outbreak.infections, seed)
    _say(progress, f"{len(tested):,} tested positive")
    return Outbreak(
        seed=seed,
        days=days,
        disease_code=outbreak.disease_code,
        params=outbreak.params,
        start=outbreak.start,
        end=outbreak.end,
        stays=outbreak.stays,
        households=outbreak.households,
        infections=outbreak.infections,
        tested=tested,
        recorded=outbreak.recorded,
        generated=outbreak.generated,
        started=started,
    )


def run_outbreak(
    *,
    seeds: int = 5,
    days: int = 14,
    seed: int = 1,
    out: Path | str | None = None,
    district_code: str | None = None,
    disease_code: str | None = None,
    progress: bool = False,
) -> OutbreakSummary:
    """:func:`simulate`, then the ground truth written to ``out`` (default ``VAR_DIR/outbreak-<seed>.json``).

    Outside a transaction the cases are open by the time the ground truth is computed; inside one (a test)
    their handlers wait for the commit: call :func:`simulate` and :meth:`Outbreak.write` after it instead."""
    from django.conf import settings

    outbreak = simulate(
        seeds=seeds,
        days=days,
        seed=seed,
        district_code=district_code,
        disease_code=disease_code,
        progress=progress,
    )
    return outbreak.write(out or Path(settings.VAR_DIR) / f"outbreak-{seed}.json")


__all__ = [
    "DEFAULTS",
    "Households",
    "Infection",
    "Outbreak",
    "OutbreakSummary",
    "StayTable",
    "params_for",
    "reference_contacts",
    "run_outbreak",
    "simulate",
    "spread",
]
