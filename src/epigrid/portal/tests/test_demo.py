"""The demo's summary names the numbers its residents sign in with."""

from __future__ import annotations

import pytest

from epigrid.core.roles import Role
from epigrid.core.tests.factories import UserFactory
from epigrid.portal.demo import sign_in_numbers
from epigrid.portal.tests import factories

pytestmark = pytest.mark.django_db


def test_the_demo_residents_numbers(jurisdiction):
    first = factories.person(jurisdiction.grid_a, phone=factories.phone())
    no_phone = factories.person(jurisdiction.grid_a, phone="")
    UserFactory(username="resident2", role=Role.RESIDENT, person=no_phone)
    UserFactory(username="resident1", role=Role.RESIDENT, person=first)
    UserFactory(
        username="someone",
        role=Role.RESIDENT,
        person=factories.person(jurisdiction.grid_b, phone=factories.phone()),
    )
    assert sign_in_numbers() == [("resident1", first.phone)]
