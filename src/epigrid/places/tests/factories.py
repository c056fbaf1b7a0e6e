"""Venue factories: through the services, approved by a district administrator account."""

from __future__ import annotations

import factory

from epigrid.core.models import OrgLevel, OrgUnit, User
from epigrid.core.roles import Role
from epigrid.core.tests.factories import UserFactory
from epigrid.places import services
from epigrid.places.models import Venue, VenueType
from epigrid.places.services import VenueInput


def venue_approver() -> User:
    """A district administrator used by factories to approve venues (created once per test)."""
    existing = User.objects.filter(username="factory-approver").first()
    if existing is not None:
        return existing
    district = OrgUnit.objects.get(level=OrgLevel.DISTRICT)
    return UserFactory(username="factory-approver", role=Role.DISTRICT_ADMIN, org_unit=district)


class VenueFactory(factory.Factory):
    class Meta:
        model = VenueInput

    name = factory.Sequence(lambda n: f"测试餐厅{n}号店")
    type = VenueType.RESTAURANT
    address = factory.Sequence(lambda n: f"长江路{n}号")
    lat = 0.0
    lng = 0.0
    capacity = None

    @classmethod
    def _create(
        cls,
        model_class: type,
        *args,
        grid: OrgUnit,
        approve: bool = True,
        key_place: bool = False,
        operator=None,
        **kwargs,
    ) -> Venue:
        if not kwargs.get("lat"):
            kwargs["lat"], kwargs["lng"] = grid.centroid_lat, grid.centroid_lng
        applicant = operator or venue_approver()
        venue = services.venue_apply(actor=applicant, data=model_class(**kwargs))
        if approve:
            venue = services.venue_approve(actor=venue_approver(), venue=venue, is_key_place=key_place)
        return venue
