"""Scope cases of check-ins, kiosks and visits (see ``epigrid.core.testing``)."""

from __future__ import annotations

import uuid

from epigrid.checkins import services
from epigrid.checkins.models import VisitStatus
from epigrid.core.roles import Role
from epigrid.core.testing import scope_case
from epigrid.core.tests.factories import UserFactory
from epigrid.places.models import VenueType
from epigrid.places.tests.factories import VenueFactory, venue_approver


@scope_case("checkins.checkin", detail_urls=["/api/v1/checkins/{pk}"])
def make_checkin(grid, person):
    venue = VenueFactory(grid=grid)
    return services.checkin_record(actor=None, venue=venue, person=person, client_id=uuid.uuid4()).checkin


@scope_case("checkins.kiosk")
def make_kiosk(grid, person):
    kiosk, _token = services.kiosk_create(actor=venue_approver(), venue=VenueFactory(grid=grid), name="大门")
    return kiosk


@scope_case("checkins.visitorregistration")
def make_visit(grid, person):
    operator = UserFactory(role=Role.VENUE_OPERATOR, org_unit=grid)
    venue = VenueFactory(grid=grid, type=VenueType.OFFICE, operator=operator)
    visit = services.visit_invite(
        actor=operator,
        venue=venue,
        host_name="王经理",
        host_phone="13900000000",
        purpose="洽谈",
        expected_at=None,
    )
    visit.visitor, visit.status = person, VisitStatus.REGISTERED
    visit.save(update_fields=["visitor", "status"])
    return visit
