"""Test support that every app uses: the registry of scope cases for the generic scope suite.

An app whose model registers in ``core.scope`` also adds a case here (in its ``tests/scope_cases.py``):
a function that creates one instance belonging to a given grid and, for resident-visible models, to a
given person. The generic suite in ``core/tests/test_scope.py`` then proves for every model that a grid
worker sees only their grid and a resident only their own records. A scoped model without a case fails
the suite.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model

from epigrid.core.models import OrgUnit, Person

# label -> make(grid, person) -> instance
ScopeCaseMaker = Callable[[OrgUnit, Person], Model]
SCOPE_CASES: dict[str, ScopeCaseMaker] = {}
# label -> (url template with {pk}) for API or page detail views of that model
DETAIL_URLS: dict[str, list[str]] = {}


def scope_case(
    label: str, *, detail_urls: list[str] | None = None
) -> Callable[[ScopeCaseMaker], ScopeCaseMaker]:
    def register(make: ScopeCaseMaker) -> ScopeCaseMaker:
        SCOPE_CASES[label] = make
        DETAIL_URLS[label] = detail_urls or []
        return make

    return register
