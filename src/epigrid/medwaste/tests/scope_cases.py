"""Scope cases of medical waste's models (see ``epigrid.core.testing``). No detail URLs: the grid worker of
the generic suite holds no waste permission, so every waste page answers 403 to it whatever the object."""

from __future__ import annotations

from epigrid.core.testing import scope_case
from epigrid.medwaste.models import Handover, Stage
from epigrid.medwaste.tests import factories


@scope_case("medwaste.party")
def make_party(grid, person):
    return factories.party("institution", grid)


@scope_case("medwaste.vehicle")
def make_vehicle(grid, person):
    return factories.vehicle(factories.party("disposer", grid))


@scope_case("medwaste.bag")
def make_bag(grid, person):
    return factories.bag_at(Stage.LABELLED, area=grid)


@scope_case("medwaste.custodyrecord")
def make_record(grid, person):
    return factories.bag_at(Stage.STORED, area=grid).records.get(stage=Stage.STORED)


@scope_case("medwaste.handover")
def make_handover(grid, person):
    return Handover.objects.get(bags=factories.bag_at(Stage.STORED, area=grid))


@scope_case("medwaste.trip")
def make_trip(grid, person):
    return factories.bag_at(Stage.COLLECTED, area=grid).trip


@scope_case("medwaste.wastealarm")
def make_alarm(grid, person):
    import datetime as dt

    from django.utils import timezone

    from epigrid.medwaste.services.alarms import waste_alarms_evaluate

    bag = factories.bag_at(Stage.STORED, area=grid)
    waste_alarms_evaluate(now=timezone.now() + dt.timedelta(hours=49), bag_ids=[bag.pk])
    return bag.alarms.get()
