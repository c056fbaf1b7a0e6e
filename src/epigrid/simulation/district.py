"""Loading the synthetic demo district through the services.

``ensure_demo_district`` computes a :class:`~epigrid.simulation.plan.DistrictPlan` and runs the load steps
in order inside one transaction, so a load either lands completely or not at all and a re-run never
duplicates anything. Other modules add their demo data by registering a step::

    from epigrid.simulation import district

    @district.demo_step("venues")
    def load_venues(ctx: district.DemoContext) -> None:
        rng = ctx.rng("venues")  # its own seeded stream: adding a step never changes the others' data
        for grid in ctx.grids(): ...

Register from your app's ``AppConfig.ready()`` (import your demo module there), so the step exists before
``epigrid demo`` runs; steps run in registration order, i.e. in ``INSTALLED_APPS`` order after the core
steps here. A step receives the :class:`DemoContext`: the plan, the created org units by code, the household pks in
plan order, the person pks in plan order, the demo accounts by username, the load's anchor time ("now") and
seeded random streams. The venue and check-in history steps live in ``steps.py`` (registered by this app's
``ready()``, so they run after the core steps here).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from epigrid.core import events, services
from epigrid.core.identity import IdType
from epigrid.core.models import Event, Household, OrgLevel, OrgUnit, Person, User
from epigrid.core.services import PersonInput
from epigrid.simulation import geometry
from epigrid.simulation.plan import DEMO_USERNAMES, DISTRICT_CODE, SCALES, DistrictPlan, plan_district

__all__ = ["DEMO_USERNAMES", "DISTRICT_CODE", "SCALES", "DemoContext", "demo_step", "ensure_demo_district"]


@dataclass
class DemoContext:
    plan: DistrictPlan
    progress: bool = False
    units: dict[str, OrgUnit] = field(default_factory=dict)  # code -> unit
    household_ids: list[int] = field(default_factory=list)  # pk of plan.households[i]
    users: dict[str, User] = field(default_factory=dict)  # username -> account
    # "Now" for the whole load: history steps end here, and date what existed before relative to it.
    anchor: dt.datetime = field(default_factory=timezone.now)
    _person_ids: list[int] | None = field(default=None, repr=False)

    @property
    def seed(self) -> int:
        return self.plan.seed

    def rng(self, name: str) -> random.Random:
        """A random stream of its own for step ``name``, seeded from the plan's seed."""
        return random.Random(f"{self.plan.seed}:{name}")

    def grids(self) -> list[OrgUnit]:
        return [u for u in self.units.values() if u.level == OrgLevel.GRID]

    def bar(self, total: int, desc: str, unit: str = "it") -> tqdm:
        return tqdm(total=total, desc=desc, unit=unit, disable=not self.progress)

    def person_ids(self) -> list[int]:
        """Person pk of every planned resident in plan order (``plan.persons()``); after the residents step."""
        if self._person_ids is None:
            rows = Person.objects.filter(org_code__startswith=DISTRICT_CODE).values_list(
                "id_number_index", "pk"
            )
            by_index = dict(rows.iterator(chunk_size=5000))
            self._person_ids = [
                by_index[services.person_document_index(IdType.RESIDENT, person.id_number)]
                for person in self.plan.persons()
            ]
        return self._person_ids


Step = Callable[[DemoContext], None]
STEPS: list[tuple[str, Step]] = []


# Steps that commit as they go (each service call its own transaction) instead of as one transaction.
OWN_TRANSACTIONS: set[str] = set()


def demo_step(name: str, *, own_transactions: bool = False) -> Callable[[Step], Step]:
    """Register ``func`` as a load step; steps run in registration order. Re-registering replaces.

    ``own_transactions``: the step is many audited service calls (thousands of venues, say); wrapping them
    in one transaction would make PostgreSQL keep every version of the audit head row until the end.
    """
    if own_transactions:
        OWN_TRANSACTIONS.add(name)

    def register(func: Step) -> Step:
        for i, (existing, _f) in enumerate(STEPS):
            if existing == name:
                STEPS[i] = (name, func)
                return func
        STEPS.append((name, func))
        return func

    return register


@demo_step("org_units")
def load_org_units(ctx: DemoContext) -> None:
    with ctx.bar(len(ctx.plan.units), "org units") as bar:
        for unit in ctx.plan.units:
            ctx.units[unit.code] = services.orgunit_create(
                actor=None,
                code=unit.code,
                level=unit.level,
                name=unit.name,
                parent=ctx.units.get(unit.parent_code) if unit.parent_code else None,
                boundary=geometry.geojson(unit.polygon),
                centroid=unit.centroid,
            )
            bar.update()


@demo_step("households")
def load_households(ctx: DemoContext) -> None:
    with ctx.bar(len(ctx.plan.households), "households", "hh") as bar:

        def rows() -> Iterator[tuple[str, OrgUnit]]:
            for household in ctx.plan.households:
                yield household.address, ctx.units[household.grid_code]
                bar.update()

        ctx.household_ids.extend(services.household_bulk_create(actor=None, rows=rows()))


def _resident_rows(ctx: DemoContext, bar: tqdm) -> Iterator[PersonInput]:
    for household, household_id in zip(ctx.plan.households, ctx.household_ids, strict=True):
        grid_id = ctx.units[household.grid_code].pk
        for person in household.members:
            yield PersonInput(
                id_number=person.id_number,
                name=person.name,
                phone=person.phone,
                address=household.address,
                sex=person.sex,
                birth_date=person.birth_date,
                lat=household.lat,
                lng=household.lng,
                grid_id=grid_id,
                household_id=household_id,
            )
        bar.update(len(household.members))


@demo_step("residents")
def load_residents(ctx: DemoContext) -> None:
    total = sum(len(h.members) for h in ctx.plan.households)
    with ctx.bar(total, "residents", "person") as bar:
        result = services.person_bulk_register(actor=None, rows=_resident_rows(ctx, bar))
    if result.errors:
        row, message = result.errors[0]
        raise RuntimeError(f"{len(result.errors)} planned residents were rejected; row {row}: {message}")


@demo_step("accounts")
def load_accounts(ctx: DemoContext) -> None:
    from epigrid.cli import DEMO_PASSWORD

    residents = [a for a in ctx.plan.accounts if a.person_id_number]
    wanted = {a.person_id_number for a in residents}
    indexes = [services.person_document_index(IdType.RESIDENT, number) for number in wanted]
    persons = {p.id_number: p for p in Person.objects.filter(id_number_index__in=indexes)}
    with ctx.bar(len(ctx.plan.accounts), "accounts") as bar:
        for account in ctx.plan.accounts:
            ctx.users[account.username] = services.user_create(
                actor=None,
                username=account.username,
                password=DEMO_PASSWORD,
                role=account.role,
                org_unit=ctx.units[account.unit_code] if account.unit_code else None,
                person=persons[account.person_id_number] if account.person_id_number else None,
                display_name=account.display_name,
            )
            bar.update()


def district_counts(code: str = DISTRICT_CODE) -> dict[str, int]:
    """What the database holds for the district ``code``."""
    units = OrgUnit.objects.filter(code__startswith=code)
    return {
        "streets": units.filter(level=OrgLevel.STREET).count(),
        "communities": units.filter(level=OrgLevel.COMMUNITY).count(),
        "grids": units.filter(level=OrgLevel.GRID).count(),
        "households": Household.objects.filter(org_code__startswith=code).count(),
        "residents": Person.objects.filter(org_code__startswith=code).count(),
        "accounts": User.objects.filter(username__in=DEMO_USERNAMES).count(),
    }


def _summary(name: str, counts: dict[str, int], note: str) -> str:
    parts = ", ".join(f"{value:,} {key}" for key, value in counts.items())
    return f"{name} ({DISTRICT_CODE}): {parts} ({note})"


LOADED_EVENT = "demo.loaded"


def load_plan(plan: DistrictPlan, *, progress: bool = False) -> DemoContext:
    """Run every registered step for ``plan``, each in its own transaction, then mark the load complete.

    One transaction per step rather than one for the whole load: PostgreSQL keeps every version of a row
    updated within a transaction, and the audit chain's head row is updated for every audited write, so a
    district-sized single transaction slowed down quadratically. A load that fails part-way leaves no
    completion mark, and ``ensure_demo_district`` then asks for ``--reset``.
    """
    ctx = DemoContext(plan=plan, progress=progress)
    for name, step in STEPS:
        started = time.perf_counter()
        if name in OWN_TRANSACTIONS:
            step(ctx)
        else:
            with transaction.atomic():
                step(ctx)
        if progress:
            tqdm.write(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with transaction.atomic():
        events.publish(
            LOADED_EVENT, payload={"scale": plan.scale, "seed": plan.seed}, org_code=plan.district.code
        )
    return ctx


def ensure_demo_district(*, scale: str, seed: int, progress: bool) -> str:
    """Load the demo district unless it is there already; return a one-line summary."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {', '.join(SCALES)}")
    existing = OrgUnit.objects.filter(code=DISTRICT_CODE, level=OrgLevel.DISTRICT).first()
    if existing is not None:
        if not Event.objects.filter(type=LOADED_EVENT).exists():
            raise RuntimeError(
                "an earlier demo load did not finish; run `epigrid demo --reset` to load afresh"
            )
        return _summary(existing.name, district_counts(), "already loaded; --reset to load afresh")
    started = time.perf_counter()
    plan = plan_district(scale, seed)
    if progress:
        tqdm.write(f"  plan ({scale}, seed {seed}): {time.perf_counter() - started:.1f} s", file=sys.stderr)
    load_plan(plan, progress=progress)
    elapsed = time.perf_counter() - started
    return _summary(plan.district.name, district_counts(), f"{scale}, seed {seed}, loaded in {elapsed:.1f} s")
