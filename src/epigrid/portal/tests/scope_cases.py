"""Scope cases of the portal's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

from django.utils import timezone

from epigrid.core.testing import scope_case
from epigrid.portal.models import CorrectionField, CorrectionRequest


@scope_case("portal.correctionrequest")
def make_correction(grid, person):
    return CorrectionRequest.objects.create(
        person=person,
        field=CorrectionField.ADDRESS,
        requested_value="幸福路2号",
        created_at=timezone.now(),
        org_code=person.org_code,
    )
