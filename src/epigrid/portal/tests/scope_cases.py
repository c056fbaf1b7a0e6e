"""Scope cases of the portal's models (see ``epigrid.core.testing``): made through the services."""

from __future__ import annotations

from epigrid.core.testing import scope_case
from epigrid.portal.tests import factories


@scope_case("portal.correctionrequest", detail_urls=["/portal/corrections/{pk}/"])
def make_correction(grid, person):
    return factories.correction(person)
