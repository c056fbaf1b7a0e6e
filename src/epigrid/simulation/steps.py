"""Demo steps for venues and check-in history (registered by ``SimulationConfig.ready``, after the core steps).

``venues``: every venue of :func:`~epigrid.simulation.venues.plan_venues` goes through the real workflow:
``venue_apply`` (by the ``venue`` operator account for the venues it runs, by the community officer in their
community, by the district administrator elsewhere) and ``venue_approve`` (community officer or district
administrator), which issues the code. Afterwards the registration, decision and code dates are moved back to
the venue's planned opening day, so that the check-in history can predate the load; the audit entries keep
the true time of the load.

``checkin_history``: the mobility model of :mod:`~epigrid.simulation.history` for every resident, ending at
the load's anchor time, stored with ``checkins.services.checkin_bulk_import``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
from django.db import connection
from django.utils import timezone
from tqdm import tqdm

from epigrid.checkins.services import CheckinImportRow, checkin_bulk_import
from epigrid.places.models import Venue, VenueStatus, VenueType
from epigrid.places.services import VenueInput, venue_apply, venue_approve, venue_default_stay_minutes
from epigrid.simulation import history
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.simulation.plan import DISTRICT_CODE, DistrictPlan
from epigrid.simulation.venues import plan_venues

APPROVAL_NOTE = "演示数据"


@demo_step("venues", own_transactions=True)
def load_venues(ctx: DemoContext) -> None:
    plans = plan_venues(ctx.plan, ctx.rng("venues"))
    admin, community, operator = ctx.users["admin"], ctx.users["community"], ctx.users["venue"]
    community_code = community.org_unit.code
    delays = ctx.rng("venue_decisions")
    backdated: list[Venue] = []
    with ctx.bar(len(plans), "venues", "venue") as bar:
        for plan in plans:
            local = plan.grid_code.startswith(community_code)
            applicant = operator if plan.operator else (community if local else admin)
            venue = venue_apply(
                actor=applicant,
                data=VenueInput(
                    name=plan.name,
                    type=plan.type,
                    address=plan.address,
                    lat=plan.lat,
                    lng=plan.lng,
                    capacity=plan.capacity,
                ),
            )
            if venue.org_code != plan.grid_code:
                raise RuntimeError(f"venue {plan.name} landed in grid {venue.org_code}, not {plan.grid_code}")
            venue = venue_approve(
                actor=community if local else admin,
                venue=venue,
                is_key_place=plan.key_place,
                note=APPROVAL_NOTE,
            )
            venue.created_at = ctx.anchor - dt.timedelta(days=plan.opened_days)
            decided = venue.created_at + dt.timedelta(hours=delays.uniform(2, 72))
            venue.decided_at = venue.code_issued_at = min(decided, ctx.anchor)
            backdated.append(venue)
            bar.update()
    Venue.objects.bulk_update(backdated, ["created_at", "decided_at", "code_issued_at"], batch_size=500)
    if ctx.progress:
        keys = sum(p.key_place for p in plans)
        tqdm.write(f"  {len(plans):,} venues, {keys} key places ({keys / len(plans):.1%})", file=sys.stderr)


def residents_of(plan: DistrictPlan, anchor: dt.datetime) -> history.Residents:
    """The residents of ``plan`` (in plan order) as the mobility model's columns."""
    today = timezone.localtime(anchor).date()
    grid_index = {g.code: i for i, g in enumerate(plan.units_at("grid"))}
    ages, grids, phones, sizes = [], [], [], []
    for household in plan.households:
        for person in household.members:
            ages.append((today - person.birth_date).days / 365.25)
            grids.append(grid_index[household.grid_code])
            phones.append(bool(person.phone))
            sizes.append(len(household.members))
    return history.Residents(np.array(ages), np.array(grids), np.array(phones), np.array(sizes))


def grid_centroids(plan: DistrictPlan) -> np.ndarray:
    return np.array([g.centroid for g in plan.units_at("grid")])


def district_venues(plan: DistrictPlan) -> tuple[list[int], history.Venues]:
    """Approved venues of the district in pk order: their pks and the model's columns."""
    grid_index = {g.code: i for i, g in enumerate(plan.units_at("grid"))}
    rows = list(
        Venue.objects.filter(org_code__startswith=DISTRICT_CODE, status=VenueStatus.APPROVED)
        .order_by("pk")
        .values_list("pk", "type", "org_code", "lat", "lng", "created_at")
    )
    columns = history.Venues(
        type=np.array([history.TYPES.index(r[1]) for r in rows]),
        grid=np.array([grid_index[r[2]] for r in rows]),
        lat=np.array([r[3] for r in rows]),
        lng=np.array([r[4] for r in rows]),
        opened=np.array([int(np.ceil(r[5].timestamp())) for r in rows], dtype=np.int64),
    )
    return [r[0] for r in rows], columns


def default_stays() -> dict[str, int]:
    return {kind: venue_default_stay_minutes(kind) for kind in VenueType.values}


def simulate(ctx: DemoContext) -> tuple[history.History, list[int]]:
    """The check-in history of ``ctx``'s district (venues loaded), and the venue pks it indexes."""
    spec = history.HISTORY.get(ctx.plan.scale, history.HISTORY["district"])
    venue_ids, venues = district_venues(ctx.plan)
    result = history.simulate_history(
        residents_of(ctx.plan, ctx.anchor),
        venues,
        grid_centroids(ctx.plan),
        anchor=ctx.anchor,
        days=spec.days,
        rate=spec.rate,
        stays=default_stays(),
        rng=np.random.default_rng(ctx.rng("checkin_history").getrandbits(64)),
        tz=timezone.get_current_timezone(),
    )
    return result, venue_ids


def _counted(rows: Iterable[CheckinImportRow], bar: tqdm, every: int = 5000) -> Iterator[CheckinImportRow]:
    n = 0
    for row in rows:
        yield row
        n += 1
        if n == every:
            bar.update(n)
            n = 0
    bar.update(n)


@contextmanager
def _sqlite_page_cache(mib: int) -> Iterator[None]:
    """A bigger SQLite page cache while loading: the random client_id keys otherwise thrash the default 2 MB
    cache once the unique index outgrows it (measured 7,500 -> 12,500 rows/s at 1.7 M check-ins)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-1024 * int(mib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


@demo_step("checkin_history")
def load_checkin_history(ctx: DemoContext) -> None:
    simulated, venue_ids = simulate(ctx)
    rows = history.iter_rows(simulated, ctx.person_ids(), venue_ids)
    with ctx.bar(len(simulated), "check-ins", "row") as bar, _sqlite_page_cache(256):
        result = checkin_bulk_import(actor=None, rows=_counted(rows, bar))
    if result.errors:
        row, message = result.errors[0]
        raise RuntimeError(f"{len(result.errors)} simulated check-ins were rejected; row {row}: {message}")
    if ctx.progress:
        spec = history.HISTORY.get(ctx.plan.scale, history.HISTORY["district"])
        per_day = result.created / max(1, len(ctx.person_ids())) / spec.days
        tqdm.write(
            f"  {result.created:,} check-ins over {spec.days} days ({per_day:.2f} per resident per day)",
            file=sys.stderr,
        )
