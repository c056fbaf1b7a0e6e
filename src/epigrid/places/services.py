"""Writes of venues: application, approval, codes, key-place marking."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events, geo
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import general_rule
from epigrid.places.codes import forget_venue
from epigrid.places.models import Venue, VenueStatus, VenueType


@dataclass
class VenueInput:
    name: str
    type: str
    address: str
    lat: float
    lng: float
    capacity: int | None = None
    contact_name: str = ""


def venue_default_stay_minutes(venue_type: str) -> int:
    stays = general_rule("venue_default_stay_minutes", {}) or {}
    return int(stays.get(venue_type) or stays.get(VenueType.OTHER) or 60)


def _validate(data: VenueInput) -> None:
    if not data.name.strip():
        raise DomainError(_("The venue name is missing."), field="name")
    if data.type not in VenueType.values:
        raise DomainError(_("Unknown venue type %(t)s.") % {"t": data.type}, field="type")
    if not (-90 <= data.lat <= 90 and -180 <= data.lng <= 180):
        raise DomainError(_("The coordinates are not on Earth."), field="lat")
    if data.capacity is not None and data.capacity < 1:
        raise DomainError(_("Capacity must be at least 1."), field="capacity")


def venue_apply(*, actor: User, data: VenueInput) -> Venue:
    """A venue operator (or local staff for them) applies for a venue code; a community officer decides."""
    if not has_perm(actor, Perm.VENUE_APPLY):
        raise Forbidden(_("Your role may not register venues."))
    _validate(data)
    grid: OrgUnit | None = geo.locate_grid(data.lat, data.lng)
    if grid is None:
        raise DomainError(_("The venue lies outside the district's grids."), field="lat")
    with transaction.atomic():
        venue = Venue.objects.create(
            name=data.name.strip()[:120],
            type=data.type,
            address=data.address.strip()[:200],
            lat=data.lat,
            lng=data.lng,
            grid=grid,
            org_code=grid.code,
            operator=actor if not has_perm(actor, Perm.VENUE_APPROVE) else None,
            contact_name=data.contact_name.strip()[:50],
            capacity=data.capacity,
        )
        audit_record(actor=actor, action="venue.apply", obj=venue)
        events.publish(
            "venue.applied", payload={"venue_id": venue.pk, "name": venue.name}, org_code=venue.org_code
        )
    return venue


def _require_decider(actor: User, venue: Venue) -> None:
    if not has_perm(actor, Perm.VENUE_APPROVE) or not in_scope_code(actor, venue.org_code):
        raise Forbidden(_("Only the community responsible for this venue may decide on it."))


def venue_approve(*, actor: User, venue: Venue, is_key_place: bool | None = None, note: str = "") -> Venue:
    """Approve and issue the first code (version 1)."""
    _require_decider(actor, venue)
    with transaction.atomic():
        venue = Venue.objects.select_for_update().get(pk=venue.pk)
        if venue.status == VenueStatus.APPROVED:
            raise Conflict(_("This venue is approved already."))
        now = timezone.now()
        venue.status, venue.decided_by, venue.decided_at, venue.decision_note = (
            VenueStatus.APPROVED,
            actor,
            now,
            note,
        )
        if is_key_place is not None:
            venue.is_key_place = is_key_place
        if venue.code_version == 0:
            venue.code_version, venue.code_issued_at = 1, now
        venue.save()
        audit_record(actor=actor, action="venue.approve", obj=venue, detail={"key_place": venue.is_key_place})
        events.publish("venue.approved", payload={"venue_id": venue.pk}, org_code=venue.org_code)
    forget_venue(venue.pk)
    return venue


def venue_reject(*, actor: User, venue: Venue, note: str) -> Venue:
    _require_decider(actor, venue)
    if venue.status != VenueStatus.PENDING:
        raise Conflict(_("Only a pending application can be rejected; suspend an approved venue instead."))
    if not note.strip():
        raise DomainError(_("Say why the application is rejected."), field="note")
    with transaction.atomic():
        venue.status, venue.decided_by, venue.decided_at = VenueStatus.REJECTED, actor, timezone.now()
        venue.decision_note = note.strip()[:300]
        venue.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(actor=actor, action="venue.reject", obj=venue, detail={"note": venue.decision_note})
    forget_venue(venue.pk)
    return venue


def venue_code_reissue(*, actor: User, venue: Venue, reason: str = "") -> Venue:
    """Revoke every earlier code of the venue and issue a new one (a poster was copied, a code leaked...)."""
    _require_decider(actor, venue)
    with transaction.atomic():
        venue = Venue.objects.select_for_update().get(pk=venue.pk)
        if venue.status != VenueStatus.APPROVED:
            raise Conflict(_("Only an approved venue has a code to re-issue."))
        venue.code_version += 1
        venue.code_issued_at = timezone.now()
        venue.save(update_fields=["code_version", "code_issued_at"])
        audit_record(
            actor=actor,
            action="venue.code_reissue",
            obj=venue,
            detail={"version": venue.code_version, "reason": reason},
        )
        events.publish(
            "venue.code_reissued",
            payload={"venue_id": venue.pk, "version": venue.code_version},
            org_code=venue.org_code,
        )
    forget_venue(venue.pk)
    return venue


def venue_suspend(*, actor: User, venue: Venue, reason: str) -> Venue:
    """Close a venue for check-in (its codes are refused until it is approved again)."""
    _require_decider(actor, venue)
    if venue.status != VenueStatus.APPROVED:
        raise Conflict(_("Only an approved venue can be suspended."))
    with transaction.atomic():
        venue.status, venue.decision_note = VenueStatus.SUSPENDED, reason.strip()[:300]
        venue.decided_by, venue.decided_at = actor, timezone.now()
        venue.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
        audit_record(actor=actor, action="venue.suspend", obj=venue, detail={"reason": venue.decision_note})
        events.publish("venue.suspended", payload={"venue_id": venue.pk}, org_code=venue.org_code)
    forget_venue(venue.pk)
    return venue


def venue_update(
    *, actor: User, venue: Venue, capacity: int | None = None, is_key_place: bool | None = None
) -> Venue:
    """Change capacity (operator or community) or the key-place flag (community only)."""
    is_operator = venue.operator_id == actor.pk
    if not is_operator:
        _require_decider(actor, venue)
    if is_key_place is not None and not has_perm(actor, Perm.VENUE_APPROVE):
        raise Forbidden(_("Only the community marks key places."))
    if capacity is not None and capacity < 1:
        raise DomainError(_("Capacity must be at least 1."), field="capacity")
    changed = {}
    if capacity is not None:
        venue.capacity = changed["capacity"] = capacity
    if is_key_place is not None:
        venue.is_key_place = changed["is_key_place"] = is_key_place
    if changed:
        with transaction.atomic():
            venue.save(update_fields=list(changed))
            audit_record(actor=actor, action="venue.update", obj=venue, detail=changed)
        forget_venue(venue.pk)
    return venue
