"""Scope cases of quarantine's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

import uuid

from epigrid.core.testing import scope_case
from epigrid.quarantine import services
from epigrid.quarantine.models import DoorSeal, HealthReport, Placement, Room, ScheduledTest, Site, Visit
from epigrid.quarantine.tests.factories import hotel


def _home_placement(person) -> Placement:
    return services.placement_create(actor=None, person=person, tier="secondary")


@scope_case("quarantine.site")
def make_site(grid, person) -> Site:
    return hotel(grid)


@scope_case("quarantine.room")
def make_room(grid, person) -> Room:
    return hotel(grid).rooms.first()


@scope_case("quarantine.placement")
def make_placement(grid, person) -> Placement:
    return _home_placement(person)


@scope_case("quarantine.scheduledtest")
def make_test(grid, person) -> ScheduledTest:
    placement = _home_placement(person)
    first = placement.tests.first()
    placement.tests.exclude(pk=first.pk).delete()  # the suite expects one visible row per person
    return first


@scope_case("quarantine.healthreport")
def make_report(grid, person) -> HealthReport:
    report, _created = services.report_submit(
        actor=None, placement=_home_placement(person), temperature="36.6", client_id=uuid.uuid4()
    )
    return report


@scope_case("quarantine.doorseal")
def make_seal(grid, person) -> DoorSeal:
    return services.seal_record(actor=None, placement=_home_placement(person), number="FT-0001")


@scope_case("quarantine.visit")
def make_visit(grid, person) -> Visit:
    return services.visit_record(actor=None, placement=_home_placement(person), result="ok")
