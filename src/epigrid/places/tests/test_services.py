"""Venue decisions follow the application's state."""

from __future__ import annotations

import pytest

from epigrid.core.errors import Conflict, Forbidden
from epigrid.places import services
from epigrid.places.models import VenueStatus
from epigrid.places.tests.factories import VenueFactory


def test_only_pending_applications_are_rejected_and_only_approved_venues_suspended(users, jurisdiction):
    officer = users["community_officer"]
    approved = VenueFactory(grid=jurisdiction.grid_a)
    with pytest.raises(Conflict):
        services.venue_reject(actor=officer, venue=approved, note="材料不全")
    pending = VenueFactory(grid=jurisdiction.grid_a, approve=False)
    with pytest.raises(Conflict):
        services.venue_suspend(actor=officer, venue=pending, reason="x")
    assert services.venue_reject(actor=officer, venue=pending, note="材料不全").status == VenueStatus.REJECTED
    assert (
        services.venue_suspend(actor=officer, venue=approved, reason="停业").status == VenueStatus.SUSPENDED
    )


def test_community_decides_only_in_its_own_area(users, jurisdiction):
    pending_b = VenueFactory(grid=jurisdiction.grid_b, approve=False)
    with pytest.raises(Forbidden):
        services.venue_approve(actor=users["community_officer"], venue=pending_b)
    with pytest.raises(Forbidden):
        services.venue_approve(actor=users["grid_worker"], venue=pending_b)
