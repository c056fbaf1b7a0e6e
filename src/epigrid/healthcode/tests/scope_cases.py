"""Scope cases of the health code's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from epigrid.core.testing import scope_case
from epigrid.healthcode import engine, services
from epigrid.healthcode.models import (
    Appeal,
    HealthCode,
    HealthCodeChange,
    Override,
    PersonFacts,
    TravelDeclaration,
)


def _red(person) -> None:
    services.facts_update(actor=None, person_ids=[person.pk], changes={"fever_at": timezone.now()})


@scope_case("healthcode.personfacts")
def make_facts(grid, person):
    _red(person)
    return PersonFacts.objects.get(person=person)


@scope_case("healthcode.healthcode", detail_urls=["/api/v1/health-codes/{pk}"])
def make_code(grid, person):
    _red(person)
    return HealthCode.objects.get(person=person)


@scope_case("healthcode.healthcodechange")
def make_change(grid, person):
    _red(person)
    return HealthCodeChange.objects.get(person=person)


@scope_case("healthcode.override")
def make_override(grid, person):
    override = Override.objects.create(
        person=person,
        org_code=person.org_code,
        colour="green",
        reason="test",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    engine.recompute([person.pk])
    return override


@scope_case("healthcode.appeal")
def make_appeal(grid, person):
    return Appeal.objects.create(person=person, org_code=person.org_code, colour="green", note="test")


@scope_case("healthcode.traveldeclaration")
def make_declaration(grid, person):
    return TravelDeclaration.objects.create(
        person=person,
        org_code=person.org_code,
        from_region_code="110105",
        arrived_at=timezone.now(),
        client_id=uuid.uuid4(),
    )


@scope_case("healthcode.riskarea")
def make_area(grid, person):
    return services.risk_area_designate(
        actor=None,
        data=services.RiskAreaInput(name=grid.name, level="medium", kind="orgunit", org_unit_code=grid.code),
    )
