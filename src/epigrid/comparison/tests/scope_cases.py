"""Scope cases of comparison's models (see ``epigrid.core.testing``), each made through the services.

Lists belong to their source's area: a source, an import and its rows in ``grid``. An arrival comes from a
processed list that names ``person`` (linked by ID number; the arrival belongs to the person's area). Rules
are made by an account with ``comparison.run`` in ``grid`` (a rule belongs to its maker's area); a run of a
"not screened" rule over every arrival has the person's arrival as its hit.
"""

from __future__ import annotations

import itertools

from epigrid.comparison.models import Arrival, ComparisonKind, ListImport
from epigrid.comparison.services import comparisons
from epigrid.comparison.tests import factories
from epigrid.core.roles import Role
from epigrid.core.testing import scope_case
from epigrid.core.tests.factories import UserFactory

_numbers = itertools.count(1)


def _list(grid, person) -> ListImport:
    return factories.arrival_list(grid, [factories.arrival_row(person)])


def _runner(grid):
    """An account that may run comparisons, with ``grid`` as its area."""
    return UserFactory(username=f"scope-runner-{next(_numbers)}", role=Role.COMMUNITY_OFFICER, org_unit=grid)


def _rule(grid):
    runner = _runner(grid)
    rule = comparisons.rule_create(
        actor=runner, name="到达未排查", kind=ComparisonKind.NOT_SCREENED, params={"levels": []}
    )
    return runner, rule


@scope_case("comparison.listsource")
def make_source(grid, person):
    return factories.source(grid)


@scope_case("comparison.listimport")
def make_import(grid, person):
    return factories.upload(
        factories.source(grid),
        factories.csv_bytes([factories.ARRIVAL_HEADER, factories.arrival_row(person)]),
    )


@scope_case("comparison.listrow")
def make_row(grid, person):
    return _list(grid, person).rows.get()


@scope_case("comparison.arrival")
def make_arrival(grid, person):
    return Arrival.objects.get(list_row__list_import=_list(grid, person))


@scope_case("comparison.comparisonrule")
def make_rule(grid, person):
    return _rule(grid)[1]


@scope_case("comparison.comparisonrun")
def make_run(grid, person):
    runner, rule = _rule(grid)
    return comparisons.rule_run(actor=runner, rule=rule)


@scope_case("comparison.comparisonhit")
def make_hit(grid, person):
    _list(grid, person)
    runner, rule = _rule(grid)
    return comparisons.rule_run(actor=runner, rule=rule).hit_rows.get(person=person)
