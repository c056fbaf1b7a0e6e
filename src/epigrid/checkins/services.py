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
from epigrid.checkins.writer import group_commit_enabled, writer
from epigrid.core import events, health
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import IdentityError, normalize_phone
from epigrid.core.masking import mask_phone
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import general_rule
from epigrid.core.services import PersonInput, person_find_or_register, user_deactivate
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
    try:
        scanned_at = _check_scan_time(scanned_at, now)
    except DomainError:
        # An offline device replaying a check-in it sent long ago gets the stored row, not an error.
        if CheckIn.objects.filter(client_id=client_id).exists():
            return _existing(client_id, person, venue)
        raise
    in_transaction = transaction.get_connection().in_atomic_block
    grouped = not in_transaction and group_commit_enabled()
    # With group commit the writer reads the colours of its whole batch in one query (checkins.writer).
    colour = None if grouped else health.colour_for(person.pk)
    checkin = CheckIn(
        client_id=client_id,
        person=person,
        venue=venue,
        org_code=venue.org_code,
        scanned_at=scanned_at,
        leave_at=scanned_at + dt.timedelta(minutes=venue_default_stay_minutes(venue.type)),
        method=method or _method_for(actor, person),
        colour=colour.colour if colour else "",
        recorded_by=actor if actor is not None and is_staff_role(actor.role) else None,
    )
    try:
        # The hot path is one INSERT: a replayed client_id is rare, so the unique constraint detects it
        # instead of a look-up before every insert. Inside a caller's transaction a savepoint keeps a
        # duplicate from spoiling it; outside one, autocommit makes the row durable in one round trip.
        if in_transaction:
            with transaction.atomic():
                checkin.save(force_insert=True)
        elif grouped:
            # concurrent requests share one transaction and one flush (checkins.writer)
            if not writer.insert(checkin):
                return _existing(client_id, person, venue)
            colour = checkin.code_colour
        else:
            checkin.save(force_insert=True)
    except IntegrityError:
        return _existing(client_id, person, venue)
    health.note_checkin(person.pk, venue.pk, scanned_at)
    if venue.is_key_place or venue.capacity:
        with transaction.atomic():
            _raise_alarms(checkin, venue, now)
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


def max_stay_hours() -> int:
    return int(general_rule("checkin_max_stay_hours", 24))


def max_stay() -> dt.timedelta:
    """No stay is longer (policy): contact tracing relies on it to keep its index ranges tight."""
    return dt.timedelta(hours=max_stay_hours())


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
    # Tracing bounds its index ranges by the longest possible stay: a late check-out ends the stay there.
    checkin.leave_at, checkin.left_explicitly = min(at, checkin.scanned_at + max_stay()), True
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
    """Switch a scanner off (lost, stolen, replaced): its account and token stop working."""
    if kiosk.venue.operator_id != actor.pk and not (
        has_perm(actor, Perm.VENUE_APPROVE) and in_scope_code(actor, kiosk.org_code)
    ):
        raise Forbidden(_("You may not change this scanner."))
    with transaction.atomic():
        kiosk.active = False
        kiosk.save(update_fields=["active"])
        user_deactivate(actor=None, user=kiosk.account, reason="scanner deactivated")
        audit_record(actor=actor, action="kiosk.deactivate", obj=kiosk)
    return kiosk


# --- visitor registration -------------------------------------------------------------------------


def _require_venue_host(actor: User, venue: Venue) -> None:
    if venue.type not in VISITOR_TYPES:
        raise DomainError(
            _("Visitor registration is for enterprises, office buildings and construction sites.")
        )
    # Local staff (who may also register venues) stand in for an operator; a door scanner may not.
    if venue.operator_id != actor.pk and not (
        has_perm(actor, Perm.CHECKIN_RECORD)
        and has_perm(actor, Perm.VENUE_APPLY)
        and in_scope_code(actor, venue.org_code)
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
    if visit.visitor is None and data is None:
        raise DomainError(_("The visitor's details are missing."), field="person")
    with transaction.atomic():
        if visit.visitor is None:
            visit.visitor, _created = person_find_or_register(actor=actor, data=data)
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


# --- bulk import ----------------------------------------------------------------------------------

from collections.abc import Iterable  # noqa: E402 - kept with the bulk import so this block stays separate


@dataclass
class CheckinImportRow:
    """One check-in as an offline device or the demo simulator reports it (times must be aware)."""

    client_id: uuid.UUID | str
    person_id: int
    venue_id: int
    scanned_at: dt.datetime
    leave_at: dt.datetime
    method: str = Method.SELF
    colour: str = Colour.GREEN
    left_explicitly: bool = False  # True when leave_at is a real check-out, not the default stay


@dataclass
class CheckinImportResult:
    created: int = 0
    skipped: int = 0  # already stored with the same person and venue: idempotent replays
    errors: list[tuple[int, str]] | None = None  # (row number from 1, message)

    def __post_init__(self) -> None:
        if self.errors is None:
            self.errors = []


_IMPORT_COLUMNS = (
    "client_id",
    "person",
    "venue",
    "org_code",
    "scanned_at",
    "leave_at",
    "left_explicitly",
    "method",
    "colour",
    "recorded_by",
    "created_at",
)
_METHODS = frozenset(Method.values)
_COLOURS = frozenset(Colour.values)


@dataclass(frozen=True)
class _ImportVenue:
    org_code: str
    created_at: dt.datetime
    allowed: bool


def _import_venues(actor: User | None, ids: set[int], cache: dict[int, _ImportVenue | None]) -> None:
    missing = [pk for pk in ids if pk not in cache]
    if not missing:
        return
    kiosk_venue = None
    if actor is not None and actor.role == Role.VENUE_KIOSK:
        kiosk_venue = (
            Kiosk.objects.filter(account=actor, active=True).values_list("venue_id", flat=True).first()
        )
    for pk in missing:
        cache[pk] = None
    for pk, org_code, created_at, operator_id in Venue.objects.filter(pk__in=missing).values_list(
        "pk", "org_code", "created_at", "operator_id"
    ):
        if actor is None:
            allowed = True
        elif actor.role == Role.VENUE_KIOSK:
            allowed = kiosk_venue == pk
        else:
            allowed = operator_id == actor.pk or in_scope_code(actor, org_code)
        cache[pk] = _ImportVenue(org_code, created_at, allowed)


def checkin_bulk_import(
    *, actor: User | None, rows: Iterable[CheckinImportRow], batch_size: int = 5000
) -> CheckinImportResult:
    """Store many check-ins at once (offline-sync uploads, the demo's history). Good rows are kept.

    Each row is checked: known person and venue (which the actor may record at), aware times, scanned_at
    neither in the future nor before the venue was registered, leave_at after scanned_at, known method and
    colour, a client_id used once in its batch. A client_id already stored for the same person and venue
    is skipped and counted (replaying an upload changes nothing); one stored for another check-in is an
    error. Each batch is one transaction with one audit entry. ``actor=None`` is the system (imports,
    the simulator); otherwise the actor needs checkin.record and each venue must be theirs or in scope.
    """
    if actor is not None and not has_perm(actor, Perm.CHECKIN_RECORD):
        raise Forbidden(_("Your role may not record check-ins."))
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    result = CheckinImportResult()
    now = timezone.now()
    latest = now + dt.timedelta(seconds=int(general_rule("checkin_max_future_seconds", 300)))
    recorded_by_id = actor.pk if actor is not None and is_staff_role(actor.role) else None
    # Rows go in with one prepared INSERT run by executemany: the ORM's bulk_create spends most of its time
    # compiling SQL per 90-row chunk, several times what the database needs to store the rows.
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = [CheckIn._meta.get_field(name) for name in _IMPORT_COLUMNS]
    insert_sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - quoted names from the model
        quote(CheckIn._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    uuid_prep = CheckIn._meta.get_field("client_id").get_db_prep_value
    prep_time = connection.ops.adapt_datetimefield_value

    def prep_uuid(value: uuid.UUID) -> object:
        return uuid_prep(value, connection)

    created_at = prep_time(now)
    venues: dict[int, _ImportVenue | None] = {}
    known_persons: set[int] = set()
    batch: list[tuple[int, CheckinImportRow]] = []

    def flush() -> None:
        person_ids = list({row.person_id for _n, row in batch} - known_persons)
        for chunk in _chunks(person_ids):
            known_persons.update(Person.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        _import_venues(actor, {row.venue_id for _n, row in batch}, venues)
        valid: list[tuple[int, uuid.UUID, CheckinImportRow, _ImportVenue]] = []
        seen: dict[uuid.UUID, int] = {}
        for row_no, row in batch:
            try:
                client_id = _parse_client_id(row.client_id)
            except DomainError as err:
                result.errors.append((row_no, str(err)))
                continue
            venue = venues.get(row.venue_id)
            error = _import_row_error(row, venue, row.person_id in known_persons, latest)
            if error is None and client_id in seen:
                error = _("client_id repeats row %(n)d of this import.") % {"n": seen[client_id]}
            if error is not None:
                result.errors.append((row_no, error))
                continue
            seen[client_id] = row_no
            valid.append((row_no, client_id, row, venue))
        stored = {
            client_id: (person_id, venue_id)
            for chunk in _chunks(list(seen))
            for client_id, person_id, venue_id in CheckIn.objects.filter(client_id__in=chunk).values_list(
                "client_id", "person_id", "venue_id"
            )
        }
        fresh: list[tuple] = []
        skipped = 0
        for row_no, client_id, row, venue in valid:
            if client_id in stored:
                if stored[client_id] == (row.person_id, row.venue_id):
                    skipped += 1
                else:
                    result.errors.append(
                        (row_no, _("This client_id was already used for a different check-in."))
                    )
                continue
            fresh.append(
                (
                    prep_uuid(client_id),
                    row.person_id,
                    row.venue_id,
                    venue.org_code,
                    prep_time(row.scanned_at),
                    prep_time(row.leave_at),
                    bool(row.left_explicitly),
                    row.method,
                    row.colour,
                    recorded_by_id,
                    created_at,
                )
            )
        with transaction.atomic():
            with connection.cursor() as cursor:
                for chunk in _chunks(fresh, 1000):
                    cursor.executemany(insert_sql, chunk)
            audit_record(
                actor=actor,
                action="checkin.bulk_import",
                detail={
                    "rows": [batch[0][0], batch[-1][0]],
                    "created": len(fresh),
                    "skipped": skipped,
                    "errors": len(batch) - len(fresh) - skipped,
                },
            )
        result.created += len(fresh)
        result.skipped += skipped
        batch.clear()

    for row_no, row in enumerate(rows, start=1):
        batch.append((row_no, row))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return result


def _chunks(items: list, size: int = 5000) -> Iterable[list]:
    # Keeps each IN (...) below SQLite's limit on bound parameters.
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _import_row_error(
    row: CheckinImportRow, venue: _ImportVenue | None, person_known: bool, latest: dt.datetime
) -> str | None:
    if not person_known:
        return _("Unknown person %(id)s.") % {"id": row.person_id}
    if venue is None:
        return _("Unknown venue %(id)s.") % {"id": row.venue_id}
    if not venue.allowed:
        return _("You may not record check-ins at this venue.")
    for name in ("scanned_at", "leave_at"):
        value = getattr(row, name)
        if not isinstance(value, dt.datetime) or timezone.is_naive(value):
            return _("%(f)s must be a date and time with its time zone.") % {"f": name}
    if row.scanned_at > latest:
        return _("scanned_at lies in the future; check the device's clock.")
    if row.scanned_at < venue.created_at:
        return _("scanned_at is before the venue was registered.")
    if row.leave_at <= row.scanned_at:
        return _("leave_at must be after scanned_at.")
    if row.leave_at - row.scanned_at > max_stay():
        return _("A stay is at most %(hours)s hours (leave_at too late).") % {"hours": max_stay_hours()}
    if row.method not in _METHODS:
        return _("Unknown check-in method %(m)s.") % {"m": row.method}
    if row.colour not in _COLOURS:
        return _("Unknown colour %(c)s.") % {"c": row.colour}
    return None
