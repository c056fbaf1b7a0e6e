"""Scope cases of the investigation's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

from epigrid.core.testing import scope_case
from epigrid.core.tests.factories import PersonFactory
from epigrid.investigation import services
from epigrid.investigation.models import Case, Contact
from epigrid.investigation.tests.factories import local, old_venue, stay


def _case(person) -> Case:
    return services.case_create(actor=None, person=person, first_positive_at=local(-1, 9))


@scope_case("investigation.case")
def make_case(grid, person):
    return _case(person)


@scope_case("investigation.trajectoryentry")
def make_entry(grid, person):
    return services.trajectory_add(
        actor=None, case=_case(person), place="农贸市场", start=local(-2, 8), end=local(-2, 9)
    )


@scope_case("investigation.contact")
def make_contact(grid, person):
    """``person`` is the contact, exposed at a venue of their grid by a case from the same grid."""
    venue = old_venue(grid)
    source = PersonFactory(grid=grid)
    stay(source, venue, local(-2, 12), 60)
    stay(person, venue, local(-2, 12), 60)
    return Contact.objects.get(case=_case(source), person=person)


@scope_case("investigation.caselink")
def make_link(grid, person):
    source = _case(PersonFactory(grid=grid))
    return services.caselink_create(actor=None, source=source, target=_case(person))
