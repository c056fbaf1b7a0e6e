"""A person's resident account is made on first need, once."""

from __future__ import annotations

from epigrid.core import services
from epigrid.core.models import AuditEntry, User
from epigrid.core.roles import Role


def test_made_once_without_a_usable_password(person_b):
    first = services.resident_account_ensure(person=person_b)
    again = services.resident_account_ensure(person=person_b)
    assert first.pk == again.pk
    assert first.role == Role.RESIDENT and first.person_id == person_b.pk
    assert not first.has_usable_password()
    assert User.objects.filter(person=person_b).count() == 1
    assert AuditEntry.objects.filter(action="user.create", object_id=str(first.pk)).count() == 1


def test_an_existing_account_is_returned(users, person_a):
    assert services.resident_account_ensure(person=person_a).pk == users["resident"].pk
