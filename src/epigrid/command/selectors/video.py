"""Reads of cameras and video consultations, scoped to the reader's area.

Cameras are visible to every staff account whose area holds them (a grid worker sees the cameras of their
grid, the command center all of the district's): a camera is a place on the map and an address, and watching
one's own area is part of grid work. Consultations are the command center's (``command.view``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404

from epigrid.command.models import Camera, Consultation
from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.scope import prefix_q, scoped

MAX_CANDIDATES = 500


def _staff(actor: User) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.is_active and is_staff_role(actor.role))


def camera_list(*, actor: User, active_only: bool = True, grid_code: str = "") -> QuerySet[Camera]:
    """Cameras in the actor's area (active ones unless ``active_only`` is off), by area then name."""
    if not _staff(actor):
        return Camera.objects.none()
    qs = scoped(Camera.objects.select_related("grid"), actor)
    if active_only:
        qs = qs.filter(is_active=True)
    if grid_code:
        qs = qs.filter(prefix_q("org_code", grid_code))
    return qs.order_by("org_code", "name", "pk")


def camera_get(*, actor: User, pk: int) -> Camera:
    """One camera in the actor's area, active or not; out of scope answers 404 like a missing one."""
    camera = camera_list(actor=actor, active_only=False).filter(pk=pk).first()
    if camera is None:
        raise Http404
    return camera


def consultation_list(*, actor: User) -> QuerySet[Consultation]:
    """Consultations started in the actor's area, newest first."""
    if not (has_perm(actor, Perm.COMMAND_VIEW) or has_perm(actor, Perm.ALARM_HANDLE)):
        return Consultation.objects.none()
    return (
        scoped(Consultation.objects.select_related("started_by", "alarm"), actor)
        .prefetch_related("invitees")
        .order_by("-started_at", "-pk")
    )


def consultation_get(*, actor: User, pk: int) -> Consultation:
    consultation = consultation_list(actor=actor).filter(pk=pk).first()
    if consultation is None:
        raise Http404
    return consultation


def grid_leaders_for(*, actor: User, grids: Iterable[OrgUnit] | None = None) -> list[User]:
    """Whom a consultation may invite first: the grid leaders of the actor's area (accounts with the grid
    leader role, and accounts on a grid's staff as its leader), active, by grid then name. ``grids`` narrows
    to those grids. Nothing for accounts that cannot start consultations."""
    if not has_perm(actor, Perm.ALARM_HANDLE) or not actor.org_code:
        return []
    from epigrid.grids.models import GridAssignment, GridRole

    codes = [g.code for g in grids] if grids is not None else [actor.org_code]
    codes = [code for code in codes if code.startswith(actor.org_code)]
    if not codes:
        return []
    where = Q()
    led = Q()
    for code in codes:
        where |= prefix_q("org_unit__code", code)
        led |= prefix_q("org_code", code)
    assigned = GridAssignment.objects.filter(led, active=True, role=GridRole.LEADER).values("user_id")
    staff_roles = [role for role in Role.values if is_staff_role(role)]
    return list(
        User.objects.filter(is_active=True, role__in=staff_roles, org_unit__isnull=False)
        .filter(prefix_q("org_unit__code", actor.org_code))
        .filter((Q(role=Role.GRID_LEADER) & where) | Q(pk__in=assigned))
        .exclude(pk=actor.pk)
        .select_related("org_unit")
        .distinct()
        .order_by("org_unit__code", "username")[:MAX_CANDIDATES]
    )
