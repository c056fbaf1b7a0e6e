"""What the supplies services share: permission and scope checks, local dates, replay look-ups."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core.errors import Forbidden
from epigrid.core.models import User
from epigrid.core.roles import has_perm
from epigrid.core.scope import in_scope_code
from epigrid.supplies.models import HoldingPoint


def require(actor: User | None, perm: str) -> None:
    """``actor`` None is the system (the demo, periodic jobs), which may do anything."""
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def require_at(actor: User | None, perm: str, point: HoldingPoint) -> None:
    """``perm`` and a jurisdiction that covers ``point``."""
    require(actor, perm)
    if actor is not None and not in_scope_code(actor, point.org_code):
        raise Forbidden(_("%(point)s is outside your area.") % {"point": point.name})


def today() -> dt.date:
    return timezone.localdate()


def clean_client_id(client_id: object) -> str | None:
    """A submission's id as stored (``Movement.client_id``); multi-line submissions suffix ``#n``."""
    if client_id in (None, ""):
        return None
    return str(client_id).strip()[:50] or None
