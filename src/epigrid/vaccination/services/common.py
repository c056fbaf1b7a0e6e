"""What the vaccination services share: permission and scope checks, local dates."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core.errors import Forbidden
from epigrid.core.models import Person, User
from epigrid.core.roles import has_perm
from epigrid.core.scope import in_scope_code


def require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def require_self_or_staff(actor: User | None, person: Person, perm: str) -> None:
    """The person themselves (a resident acting for their own record), or staff with ``perm`` whose area
    covers the person. ``actor`` None is the system."""
    if actor is None:
        return
    if getattr(actor, "person_id", None) == person.pk and not has_perm(actor, perm):
        return
    require(actor, perm)
    if not in_scope_code(actor, person.org_code):
        raise Forbidden(_("This person is outside your area."))


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment)
