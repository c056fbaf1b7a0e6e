"""Factories for the shared kernel. They create through the services, like every other writer."""

from __future__ import annotations

import datetime as dt

import factory

from epigrid.core import services
from epigrid.core.identity import compose_resident_id
from epigrid.core.models import OrgUnit, Person, User
from epigrid.core.services import PersonInput
from epigrid.simulation.benchkit import square  # noqa: F401 - re-exported for the tests' fixtures

TEST_PASSWORD = "test-password-123"


class PersonFactory(factory.Factory):
    class Meta:
        model = PersonInput

    name = factory.Faker("name", locale="zh_CN")
    id_number = factory.Sequence(
        lambda n: compose_resident_id("370602", dt.date(1980, 1, 1) + dt.timedelta(days=n), n)
    )
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    address = factory.Faker("address", locale="zh_CN")
    grid_id = None

    @classmethod
    def _create(cls, model_class: type, *args, grid: OrgUnit | None = None, **kwargs) -> Person:
        if grid is not None:
            kwargs["grid_id"] = grid.pk
        return services.person_register(actor=None, data=model_class(**kwargs))


class UserFactory(factory.Factory):
    class Meta:
        model = dict

    username = factory.Sequence(lambda n: f"user{n}")
    role = "district_admin"
    org_unit = None
    person = None

    @classmethod
    def _create(cls, model_class: type, *args, **kwargs) -> User:
        return services.user_create(actor=None, password=TEST_PASSWORD, **kwargs)
