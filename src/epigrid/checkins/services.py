"""Writes of check-ins, kiosks and visitor registrations.

``checkin_record`` is the hot path of the platform (a city scans millions of times a day): it verifies the
venue code's signature, finds or registers the person, and inserts one narrow row. It is idempotent on the
client-generated ``client_id``, so retries and offline replays never double a check-in.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.checkins.models import CheckIn, Colour, Kiosk, Method, VisitorRegistration, VisitStatus
from epigrid.core import events, health
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import IdentityError, normalize_phone
from epigrid.core.masking import mask_phone
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import general_rule
from epigrid.core.services import PersonInput, person_find_or_register
from epigrid.places.codes import resolve_venue_code
from epigrid.places.models import VISITOR_TYPES, Venue
from epigrid.places.services import venue_default_stay_minutes

# Door rules name what happens at the door for each colour (policy: general.door_rule).
KEY_PLACE_ALERT_COLOURS = {Colour.YELLOW, Colour.RED}


@dataclass
class CheckinResult:
    checkin: CheckIn
    created: bool
    colour: health.CodeColour


def _parse_client_id(client_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except ValueError:
        raise DomainError(_("client_id must be a UUID."), field="client_id") from None


def _check_scan_time(scanned_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if scanned_at is None:
        return now
    if timezone.is_naive(scanned_at):
        # Devices in the field send local wall-clock time; read it in the configured time zone.
        scanned_at = timezone.make_aware(scanned_at)
    max_future = dt.timedelta(seconds=int(general_rule("checkin_max_future_seconds", 300)))
    max_age = dt.timedelta(hours=int(general_rule("checkin_max_age_hours", 72)))
    if scanned_at > now + max_future:
        raise DomainError(_("scanned_at lies in the future; check the device's clock."), field="scanned_at")
    if scanned_at < now - max_age:
        raise DomainError(
            _("scanned_at is older than %(h)d hours and can no longer be recorded.")
            % {"h": max_age.total_seconds() // 3600},
            field="scanned_at",
        )
    return scanned_at


def _method_for(actor: User | None, person: Person) -> str:
    if actor is None:
        return Method.SELF
    if actor.role == Role.VENUE_KIOSK:
        return Method.KIOSK
    if is_staff_role(actor.role):
        return Method.STAFF
    return Method.SELF if actor.person_id == person.pk else Method.FAMILY


def _existing(client_id: uuid.UUID, person: Person, venue: Venue) -> CheckinResult:
    checkin = CheckIn.objects.get(client_id=client_id)
    if checkin.person_id != person.pk or checkin.venue_id != venue.pk:
        raise Conflict(_("This client_id was already used for a different check-in."))
    return CheckinResult(checkin, False, health.CodeColour(checkin.colour, ""))


def checkin_record(
    *,
    actor: User | None,
    venue: Venue,
    person: Person,
    client_id: uuid.UUID | str,
    scanned_at: dt.datetime | None = None,
    method: str | None = None,
) -> CheckinResult:
    """Record that ``person`` entered ``venue``. Idempotent on ``client_id``."""
    client_id = _parse_client_id(client_id)
    now = timezone.now()
    if CheckIn.objects.filter(client_id=client_id).exists():
        return _existing(client_id, person, venue)
    scanned_at = _check_scan_time(scanned_at, now)
    colour = health.colour_for(person.pk)
    checkin = CheckIn(
        client_id=client_id,
        person=person,
        venue=venue,
        org_code=venue.org_code,
        scanned_at=scanned_at,
        leave_at=scanned_at + dt.timedelta(minutes=venue_default_stay_minutes(venue.type)),
        method=method or _method_for(actor, person),
        colour=colour.colour,
        recorded_by=actor if actor is not None and is_staff_role(actor.role) else None,
    )
    try:
        with transaction.atomic():
            checkin.save(force_insert=True)
            _raise_alarms(checkin, venue, now)
    except IntegrityError:
        # The same client_id arrived twice at once: the other request stored it.
        return _existing(client_id, person, venue)
    return CheckinResult(checkin, True, colour)


def _raise_alarms(checkin: CheckIn, venue: Venue, now: dt.datetime) -> None:
    """Key places must not see yellow or red codes unnoticed; no venue may exceed its capacity."""
    if venue.is_key_place and checkin.colour in KEY_PLACE_ALERT_COLOURS:
        events.publish(
            "checkin.key_place_alert",
            payload={
                "venue_id": venue.pk,
                "venue": venue.name,
                "checkin_id": checkin.pk,
                "person_id": checkin.person_id,
                "colour": checkin.colour,
            },
            org_code=venue.org_code,
        )
    if venue.capacity and checkin.scanned_at >= now - dt.timedelta(minutes=5):
        from epigrid.checkins.selectors import venue_present_count

        present = venue_present_count(venue=venue, at=now)
        if present > venue.capacity:
            events.publish(
                "venue.over_capacity",
                payload={
                    "venue_id": venue.pk,
                    "venue": venue.name,
                    "present": present,
                    "capacity": venue.capacity,
                },
                org_code=venue.org_code,
            )


def checkin_by_code(
    *,
    actor: User,
    venue_code: str,
    client_id: uuid.UUID | str,
    person_data: PersonInput | None = None,
    scanned_at: dt.datetime | None = None,
) -> CheckinResult:
    """The API's check-in: a resident checks themself in; staff and kiosks may name the person."""
    client_id = _parse_client_id(client_id)
    venue = resolve_venue_code(venue_code)
    if actor.role == Role.VENUE_KIOSK:
        kiosk = Kiosk.objects.filter(account=actor, active=True).first()
        if kiosk is None or kiosk.venue_id != venue.pk:
            raise Forbidden(_("This scanner belongs to another venue."))
    if person_data is not None:
        may_record = has_perm(actor, Perm.CHECKIN_RECORD) and (
            venue.operator_id == actor.pk or in_scope_code(actor, venue.org_code)
        )
        if not may_record:
            raise Forbidden(_("Only door staff and scanners of this venue may check in other people."))
        person, _created = person_find_or_register(actor=actor, data=person_data)
    else:
        person = actor.person
        if person is None:
            raise DomainError(_("Name the person to check in."), field="person")
    return checkin_record(actor=actor, venue=venue, person=person, client_id=client_id, scanned_at=scanned_at)


def checkin_checkout(*, actor: User | None, checkin: CheckIn, at: dt.datetime | None = None) -> CheckIn:
    """Explicit check-out: the person (or staff of the venue's area) says they left."""
    if (
        actor is not None
        and actor.person_id != checkin.person_id
        and not in_scope_code(actor, checkin.org_code)
    ):
        raise Forbidden(_("You may not check this person out."))
    at = at or timezone.now()
    if at < checkin.scanned_at:
        raise DomainError(_("Check-out cannot be before check-in."))
    if checkin.left_explicitly:
        return checkin
    checkin.leave_at, checkin.left_explicitly = at, True
    checkin.save(update_fields=["leave_at", "left_explicitly"])
    return checkin


def checkin_purge_expired(
    *, actor: User | None = None, now: dt.datetime | None = None, batch: int = 10_000
) -> int:
    """Delete check-ins (and visitor records) older than the retention period; audited with the count."""
    days = int(general_rule("checkin_retention_days", 28))
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted = 0
    while True:
        ids = list(CheckIn.objects.filter(scanned_at__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            break
        with transaction.atomic():
            VisitorRegistration.objects.filter(checkin_id__in=ids).delete()
            deleted += CheckIn.objects.filter(pk__in=ids).delete()[1].get("checkins.CheckIn", 0)
    visits = VisitorRegistration.objects.filter(created_at__lt=cutoff).delete()[0]
    audit_record(
        actor=actor,
        action="checkin.purge",
        detail={
            "deleted": deleted,
            "visits_deleted": visits,
            "cutoff": cutoff.isoformat(),
            "retention_days": days,
        },
    )
    return deleted


# --- kiosks ---------------------------------------------------------------------------------------


def kiosk_create(*, actor: User, venue: Venue, name: str) -> tuple[Kiosk, str]:
    """A scanner account for the venue's door, and its API token (shown once)."""
    from epigrid.core.services import api_token_for, user_create

    if venue.operator_id != actor.pk and not (
        has_perm(actor, Perm.VENUE_APPROVE) and in_scope_code(actor, venue.org_code)
    ):
        raise Forbidden(_("Only the venue's operator or its community may add scanners."))
    if not venue.has_code:
        raise Conflict(_("The venue has no valid code yet."))
    with transaction.atomic():
        account = user_create(
            actor=None,
            username=f"kiosk-{venue.pk}-{secrets.token_hex(4)}",
            password=secrets.token_urlsafe(24),
            role=Role.VENUE_KIOSK,
            org_unit=venue.grid,
            display_name=name[:60],
        )
        kiosk = Kiosk.objects.create(
            venue=venue, account=account, name=name[:60], org_code=venue.org_code, created_by=actor
        )
        token = api_token_for(user=account, days=365)
        audit_record(actor=actor, action="kiosk.create", obj=kiosk)
    return kiosk, token


def kiosk_deactivate(*, actor: User, kiosk: Kiosk) -> Kiosk:
    if kiosk.venue.operator_id != actor.pk and not in_scope_code(actor, kiosk.org_code):
        raise Forbidden(_("You may not change this scanner."))
    with transaction.atomic():
        kiosk.active = False
        kiosk.save(update_fields=["active"])
        kiosk.account.is_active = False
        kiosk.account.save(update_fields=["is_active"])
        audit_record(actor=actor, action="kiosk.deactivate", obj=kiosk)
    return kiosk


# --- visitor registration -------------------------------------------------------------------------


def _require_venue_host(actor: User, venue: Venue) -> None:
    if venue.type not in VISITOR_TYPES:
        raise DomainError(
            _("Visitor registration is for enterprises, office buildings and construction sites.")
        )
    if venue.operator_id != actor.pk and not (
        has_perm(actor, Perm.CHECKIN_RECORD) and in_scope_code(actor, venue.org_code)
    ):
        raise Forbidden(_("Only the venue's operator registers its visitors."))


def visit_invite(
    *,
    actor: User,
    venue: Venue,
    host_name: str,
    host_phone: str,
    purpose: str,
    expected_at: dt.datetime | None,
) -> VisitorRegistration:
    """The host pre-registers a visit; the visitor fills in their details through the invitation link."""
    _require_venue_host(actor, venue)
    if not host_name.strip():
        raise DomainError(_("Name the host."), field="host_name")
    if not purpose.strip():
        raise DomainError(_("Say what the visit is for."), field="purpose")
    try:
        phone = normalize_phone(host_phone) if host_phone else ""
    except IdentityError as err:
        raise DomainError(str(err), field="host_phone") from None
    with transaction.atomic():
        visit = VisitorRegistration.objects.create(
            venue=venue,
            org_code=venue.org_code,
            host_name=host_name.strip()[:50],
            host_phone=phone,
            host_phone_masked=mask_phone(phone),
            purpose=purpose.strip()[:200],
            expected_at=expected_at,
            invite_token=secrets.token_urlsafe(32),
            created_by=actor,
        )
        audit_record(actor=actor, action="visit.invite", obj=visit)
    return visit


def visit_fill_in(*, visit: VisitorRegistration, data: PersonInput) -> VisitorRegistration:
    """The visitor, through the invitation link, gives name, ID number and phone."""
    if visit.status not in (VisitStatus.INVITED, VisitStatus.REGISTERED):
        raise Conflict(_("This invitation has been used already."))
    person, _created = person_find_or_register(actor=None, data=data)
    with transaction.atomic():
        visit.visitor, visit.status = person, VisitStatus.REGISTERED
        visit.save(update_fields=["visitor", "status"])
        audit_record(actor=None, action="visit.fill_in", obj=visit)
    return visit


def visit_arrive(
    *, actor: User, visit: VisitorRegistration, data: PersonInput | None = None
) -> VisitorRegistration:
    """The visitor is at the door: record the arrival, which is also a check-in at the venue."""
    _require_venue_host(actor, visit.venue)
    if visit.status in (VisitStatus.ARRIVED, VisitStatus.LEFT, VisitStatus.CANCELLED):
        raise Conflict(_("This visit is %(s)s already.") % {"s": visit.get_status_display()})
    if visit.visitor is None:
        if data is None:
            raise DomainError(_("The visitor's details are missing."), field="person")
        visit.visitor, _created = person_find_or_register(actor=actor, data=data)
    with transaction.atomic():
        result = checkin_record(
            actor=actor,
            venue=visit.venue,
            person=visit.visitor,
            client_id=uuid.uuid4(),
            method=Method.VISITOR,
        )
        visit.status, visit.arrived_at, visit.checkin = (
            VisitStatus.ARRIVED,
            result.checkin.scanned_at,
            result.checkin,
        )
        visit.save(update_fields=["visitor", "status", "arrived_at", "checkin"])
        audit_record(actor=actor, action="visit.arrive", obj=visit)
    return visit


def visit_leave(*, actor: User, visit: VisitorRegistration) -> VisitorRegistration:
    _require_venue_host(actor, visit.venue)
    if visit.status != VisitStatus.ARRIVED:
        raise Conflict(_("Only a visitor who arrived can leave."))
    with transaction.atomic():
        visit.status, visit.left_at = VisitStatus.LEFT, timezone.now()
        visit.save(update_fields=["status", "left_at"])
        if visit.checkin is not None:
            checkin_checkout(actor=None, checkin=visit.checkin, at=visit.left_at)
        audit_record(actor=actor, action="visit.leave", obj=visit)
    return visit


def visit_walk_in(
    *, actor: User, venue: Venue, host_name: str, host_phone: str, purpose: str, data: PersonInput
) -> VisitorRegistration:
    """A visitor who was not invited: register and admit in one step."""
    with transaction.atomic():
        visit = visit_invite(
            actor=actor,
            venue=venue,
            host_name=host_name,
            host_phone=host_phone,
            purpose=purpose,
            expected_at=None,
        )
        return visit_arrive(actor=actor, visit=visit, data=data)
