"""Scope cases of venues (see ``epigrid.core.testing``)."""

from __future__ import annotations

from epigrid.core.testing import scope_case
from epigrid.places.tests.factories import VenueFactory


@scope_case("places.venue", detail_urls=["/api/v1/venues/{pk}"])
def make_venue(grid, person):
    return VenueFactory(grid=grid)
