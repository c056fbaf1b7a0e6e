"""Alarms: raised from alarm-class events (``command.handlers``), then acknowledged, assigned and closed by
the command center. Every change is a row in ``AlarmUpdate``, an audit entry and an ``alarm.*`` event that
every open map in the alarm's area receives at once."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.command.alarmtypes import alarm_type
from epigrid.command.models import ACTIVE_STATUSES, Alarm, AlarmStatus, AlarmUpdate
from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Event, OrgLevel, OrgUnit, User
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.scope import in_scope_code


def _district_code() -> str:
    return (
        OrgUnit.objects.filter(level=OrgLevel.DISTRICT)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
        or ""
    )


def _publish(alarm: Alarm, action: str) -> None:
    payload = {
        "alarm_id": alarm.pk,
        "kind": alarm.kind,
        "severity": alarm.severity,
        "status": alarm.status,
        "action": action,
        "version": alarm.version,
        "lat": alarm.lat,
        "lng": alarm.lng,
    }
    if alarm.assignee_id:
        payload["assignee_id"] = alarm.assignee_id
    events.publish(
        "alarm.raised" if action == "raised" else "alarm.updated", payload=payload, org_code=alarm.org_code
    )


def alarm_raise_from_event(*, event: Event) -> Alarm | None:
    """The alarm for an alarm-class event: a new one, or a repeat counted on the active alarm about the same
    subject (a venue staying over capacity raises one alarm, not one per check-in). Idempotent per event."""
    kind = alarm_type(event.type)
    if kind is None or (kind.when is not None and not kind.when(event)):
        return None
    source_key = f"event:{event.pk}"
    existing = Alarm.objects.filter(source_key=source_key).first()
    if existing is not None:
        return existing
    place = kind.place(event)
    now = timezone.now()
    with transaction.atomic():
        if kind.fold and place.subject:
            active = (
                Alarm.objects.select_for_update()
                .filter(subject=place.subject, status__in=ACTIVE_STATUSES)
                .first()
            )
            if active is not None:
                active.repeats += 1
                active.params = {**active.params, **place.params}
                active.url = active.url or place.url
                active.version += 1
                active.save(update_fields=["repeats", "params", "url", "version"])
                _publish(active, "repeated")
                return active
        try:
            with transaction.atomic():
                alarm = Alarm.objects.create(
                    kind=event.type,
                    severity=kind.severity,
                    params=place.params,
                    source_key=source_key,
                    subject=place.subject,
                    event=event,
                    org_code=place.org_code or _district_code(),
                    lat=place.lat,
                    lng=place.lng,
                    url=place.url,
                    raised_at=now,
                )
        except IntegrityError:  # the same event handled twice at once: the first one raised it
            return Alarm.objects.get(source_key=source_key)
        AlarmUpdate.objects.create(alarm=alarm, action="raised", org_code=alarm.org_code, at=now)
        audit_record(actor=None, action="command.alarm_raise", obj=alarm, org_code=alarm.org_code)
        _publish(alarm, "raised")
    return alarm


def _may_handle(actor: User, alarm: Alarm) -> None:
    if not has_perm(actor, Perm.ALARM_HANDLE) or not in_scope_code(actor, alarm.org_code):
        raise Forbidden(_("You may not handle this alarm."))


def _change(
    *,
    actor: User,
    alarm: Alarm,
    action: str,
    expected_version: int | None,
    note: str = "",
    update_assignee: User | None = None,
    **fields: object,
) -> Alarm:
    """Compare-and-set: the change applies only to the version the operator saw (when given), so that two
    operators closing and assigning the same alarm at once do not overwrite each other silently."""
    _may_handle(actor, alarm)
    now = timezone.now()
    with transaction.atomic():
        query = Alarm.objects.filter(pk=alarm.pk, status__in=ACTIVE_STATUSES)
        if expected_version is not None:
            query = query.filter(version=expected_version)
        changed = query.update(version=F("version") + 1, **fields)
        if not changed:
            current = Alarm.objects.get(pk=alarm.pk)
            if current.status == AlarmStatus.CLOSED:
                raise Conflict(_("This alarm is already closed."))
            raise Conflict(_("Someone else changed this alarm just now; look again and retry."))
        alarm.refresh_from_db()
        AlarmUpdate.objects.create(
            alarm=alarm,
            action=action,
            actor=actor,
            assignee=update_assignee,
            note=note,
            org_code=alarm.org_code,
            at=now,
        )
        audit_record(actor=actor, action=f"command.alarm_{action}", obj=alarm, org_code=alarm.org_code)
        _publish(alarm, action)
    return alarm


def alarm_acknowledge(*, actor: User, alarm: Alarm, expected_version: int | None = None) -> Alarm:
    fields: dict[str, object] = {"acknowledged_at": timezone.now(), "acknowledged_by": actor}
    if alarm.status == AlarmStatus.OPEN:
        fields["status"] = AlarmStatus.ACKNOWLEDGED
    return _change(
        actor=actor, alarm=alarm, action="acknowledge", expected_version=expected_version, **fields
    )


def alarm_assign(
    *, actor: User, alarm: Alarm, assignee: User, note: str = "", expected_version: int | None = None
) -> Alarm:
    """Hand the alarm to someone who can act on it: a staff account in the actor's area whose own area
    covers the alarm's place."""
    if (
        not assignee.is_active
        or not is_staff_role(assignee.role)
        or not in_scope_code(actor, assignee.org_code)
        or not in_scope_code(assignee, alarm.org_code)
    ):
        raise DomainError(_("Assign the alarm to a staff member responsible for its area."), field="assignee")
    fields: dict[str, object] = {"status": AlarmStatus.ASSIGNED, "assignee": assignee}
    if alarm.acknowledged_at is None:
        fields.update(acknowledged_at=timezone.now(), acknowledged_by=actor)
    return _change(
        actor=actor,
        alarm=alarm,
        action="assign",
        expected_version=expected_version,
        note=note.strip()[:500],
        update_assignee=assignee,
        **fields,
    )


def alarm_close(*, actor: User, alarm: Alarm, note: str, expected_version: int | None = None) -> Alarm:
    """Close with a note saying what was done; the note is required (it is the record of the response)."""
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say what was done before closing the alarm."), field="note")
    return _change(
        actor=actor,
        alarm=alarm,
        action="close",
        expected_version=expected_version,
        note=note[:500],
        status=AlarmStatus.CLOSED,
        closed_at=timezone.now(),
        closed_by=actor,
        close_note=note[:500],
    )
