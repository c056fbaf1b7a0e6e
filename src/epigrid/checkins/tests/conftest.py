from __future__ import annotations

import pytest

from epigrid.places.codes import venue_code_url
from epigrid.places.tests.factories import VenueFactory


@pytest.fixture
def venue_a(jurisdiction):
    return VenueFactory(grid=jurisdiction.grid_a, name="海味餐厅")


@pytest.fixture
def venue_b(jurisdiction):
    return VenueFactory(grid=jurisdiction.grid_b, name="家乐超市")


@pytest.fixture
def code_a(venue_a) -> str:
    return venue_code_url(venue_a, base_url="https://epigrid.test")
