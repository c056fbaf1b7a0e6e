"""Quarantine test data: sites with rooms, households, placements — all through the services."""

from __future__ import annotations

from epigrid.core import services as core_services
from epigrid.core.models import OrgUnit, Person
from epigrid.core.tests.factories import PersonFactory
from epigrid.quarantine import services
from epigrid.quarantine.models import Site


def hotel(
    grid: OrgUnit | None = None, *, rooms: list[tuple[str, int, int]] | None = None, name: str = ""
) -> Site:
    """A centralised site; by default four rooms: 101 (1 bed), 102 (2), 201 (3), 202 (1)."""
    return services.site_create(
        actor=None,
        name=name or "隔离酒店",
        grid=grid,
        address="滨海路8号",
        rooms=rooms if rooms is not None else [("101", 1, 1), ("102", 1, 2), ("201", 2, 3), ("202", 2, 1)],
    )


def household(grid: OrgUnit, size: int) -> list[Person]:
    home = core_services.household_create(actor=None, address="黄河路12号", grid=grid)
    people = [PersonFactory(grid=grid) for _ in range(size)]
    for person in people:
        person.household = home
        person.save(update_fields=["household"])
    return people
