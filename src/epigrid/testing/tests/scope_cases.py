"""Scope cases of testing's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from epigrid.core.models import User
from epigrid.core.roles import Role
from epigrid.core.testing import scope_case
from epigrid.core.tests.factories import UserFactory
from epigrid.testing import services
from epigrid.testing.models import Recall, SamplingPoint, Specimen, TestingRound, Tube


def _sampler(grid) -> User:
    return UserFactory(role=Role.SAMPLER, org_unit=grid)


def _tube(grid, person) -> Tube:
    tube = services.tube_register(actor=_sampler(grid), barcode=f"T{uuid.uuid4().hex[:10]}", pool_size=1)
    services.specimen_add(actor=tube.sampler, tube=tube, person=person, client_id=uuid.uuid4())
    return Tube.objects.get(pk=tube.pk)


@scope_case("testing.samplingpoint")
def make_point(grid, person):
    return SamplingPoint.objects.create(name=grid.name, grid=grid, org_code=grid.code)


@scope_case("testing.testinground")
def make_round(grid, person):
    return TestingRound.objects.create(
        name="全员核酸", area=grid, org_code=grid.code, day=timezone.localdate()
    )


@scope_case("testing.tube")
def make_tube(grid, person):
    return _tube(grid, person)


@scope_case("testing.specimen")
def make_specimen(grid, person):
    return Specimen.objects.get(tube=_tube(grid, person))


@scope_case("testing.box")
def make_box(grid, person):
    tube = _tube(grid, person)
    return services.box_pack(actor=tube.sampler, code=f"B{uuid.uuid4().hex[:8]}", barcodes=[tube.barcode])


@scope_case("testing.recall")
def make_recall(grid, person):
    tube = _tube(grid, person)
    now = timezone.now()
    return Recall.objects.create(
        person=person,
        org_code=person.org_code,
        tube=tube,
        reason="positive",
        due_at=now + dt.timedelta(hours=12),
        created_at=now,
    )
