"""Reads of venues, scoped: staff with venue.view see their area; operators see the venues they run."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.places.models import Venue


def venue_list(
    *, actor: User, status: str = "", type: str = "", key_places_only: bool = False, search: str = ""
) -> QuerySet[Venue]:
    if has_perm(actor, Perm.VENUE_VIEW):
        qs = scoped(Venue.objects.select_related("grid"), actor)
    elif getattr(actor, "is_authenticated", False) and actor.is_active:
        qs = Venue.objects.select_related("grid").filter(operator=actor)
    else:
        return Venue.objects.none()
    if status:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    if key_places_only:
        qs = qs.filter(is_key_place=True)
    if search:
        qs = qs.filter(name__contains=search.strip())
    return qs.order_by("name", "pk")


def venue_get(*, actor: User, pk: int) -> Venue:
    venue = venue_list(actor=actor).filter(pk=pk).first()
    if venue is None:
        raise Http404
    return venue
