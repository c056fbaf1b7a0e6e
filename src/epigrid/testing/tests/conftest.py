"""Fixtures of the testing app's tests."""

from __future__ import annotations

import pytest

from epigrid.core import selectors as core_selectors
from epigrid.core import services as core_services
from epigrid.core.roles import Role
from epigrid.core.tests.factories import UserFactory
from epigrid.testing import services


@pytest.fixture
def dual_on(users):
    """The policy switch ``testing_dual_confirmation`` on: a new active version of the general rules."""
    general = core_selectors.policy_active(disease_code="general")
    core_services.policy_version_create(
        actor=users["district_admin"],
        disease=general.disease,
        version="dual-confirmation",
        title="双人复核",
        params={**general.params, "testing_dual_confirmation": True},
        activate=True,
    )
    core_selectors.policy_cache_clear()  # the on_commit clear does not run inside the test's transaction
    assert services.dual_confirmation_required()


@pytest.fixture
def second_lab(jurisdiction):
    """A second lab technician (dual confirmation needs two)."""
    return UserFactory(username="lab2", role=Role.LAB_TECHNICIAN, org_unit=jurisdiction.district)
