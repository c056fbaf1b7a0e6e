"""Booking, rescheduling and cancelling appointments; reminders and missed appointments.

A place in a slot is taken with one conditional UPDATE (``booked = booked + 1 WHERE booked < capacity``):
of two bookings racing for the last place the database lets exactly one through, on SQLite (one writer at
a time) and on PostgreSQL (the second UPDATE waits for the first and re-reads the row). The CHECK
constraint ``booked <= capacity`` stands behind it.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm
from epigrid.vaccination import eligibility
from epigrid.vaccination.models import Booking, BookingStatus, Dose, Slot, Vaccine
from epigrid.vaccination.services.common import local_day, require_self_or_staff

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out at a desk
CODE_LENGTH = 8
MISSED_AFTER = dt.timedelta(hours=2)  # an appointment nobody came to, this long after its slot ended


def new_booking_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _take_place(slot: Slot) -> None:
    taken = Slot.objects.filter(pk=slot.pk, closed=False, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    if not taken:
        raise Conflict(_("This time slot is full; choose another."), field="slot")


def _give_back_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _check_bookable(slot: Slot, vaccine: Vaccine, person: Person) -> eligibility.Eligibility:
    if slot.closed or not slot.site.active:
        raise DomainError(_("The site is closed at that time; choose another slot."), field="slot")
    if slot.starts_at <= timezone.now():
        raise DomainError(_("This slot has started already; choose a later one."), field="slot")
    if not slot.site.vaccines.filter(pk=vaccine.pk).exists():
        raise DomainError(
            _("%(site)s does not offer %(vaccine)s.") % {"site": slot.site.name, "vaccine": vaccine.name},
            field="vaccine",
        )
    doses = list(
        Dose.objects.filter(person=person, disease_id=vaccine.disease_id)
        .select_related("vaccine")
        .order_by("given_at")
    )
    verdict = eligibility.assess(
        birth_date=person.birth_date, vaccine=vaccine, on=local_day(slot.starts_at), doses=doses
    )
    if not verdict.eligible:
        raise DomainError(" ".join(verdict.reasons), field="vaccine")
    return verdict


def _replayed(client_id: uuid.UUID | None, person: Person) -> Booking | None:
    if client_id is None:
        return None
    booking = Booking.objects.filter(client_id=client_id).first()
    if booking is not None and booking.person_id != person.pk:
        raise Conflict(_("This submission belongs to another booking."), field="client_id")
    return booking


def booking_create(
    *,
    actor: User | None,
    person: Person,
    slot: Slot,
    vaccine: Vaccine,
    client_id: uuid.UUID | None = None,
) -> Booking:
    """Book ``person`` into ``slot`` for ``vaccine``: the person themselves, or staff who book for people
    of their area (phone hotline, the vaccinator's desk). A replay of the same ``client_id`` returns the
    booking made the first time."""
    require_self_or_staff(actor, person, Perm.VACCINATION_RECORD)
    earlier = _replayed(client_id, person)
    if earlier is not None:
        return earlier
    if (
        slot.booked >= slot.capacity
    ):  # as read just now: say so before judging eligibility (a fifth of a rush)
        raise Conflict(_("This time slot is full; choose another."), field="slot")
    verdict = _check_bookable(slot, vaccine, person)
    try:
        with transaction.atomic():
            _take_place(slot)
            booking = Booking.objects.create(
                code=new_booking_code(),
                person=person,
                org_code=person.org_code,
                slot=slot,
                vaccine=vaccine,
                disease_id=vaccine.disease_id,
                dose_number=verdict.dose_number,
                client_id=client_id,
                booked_by=actor if actor is not None and actor.pk else None,
            )
            audit_record(actor=actor, action="vaccination.book", obj=booking, detail={"slot": slot.pk})
            events.publish(
                "vaccination.booked",
                payload={
                    "booking_id": booking.pk,
                    "person_id": person.pk,
                    "slot_id": slot.pk,
                    "site_id": slot.site_id,
                },
                org_code=person.org_code,
            )
    except IntegrityError:
        if client_id is not None and Booking.objects.filter(client_id=client_id).exists():
            return Booking.objects.get(client_id=client_id)  # the same submission won a race with itself
        if Booking.objects.filter(
            person=person, disease_id=vaccine.disease_id, status=BookingStatus.BOOKED
        ).exists():
            raise Conflict(
                _("You already have an appointment for this vaccination; reschedule or cancel it."),
                field="slot",
            ) from None
        raise
    return booking


def _open(booking: Booking) -> None:
    if booking.status != BookingStatus.BOOKED:
        raise Conflict(
            _("This booking is %(status)s and can no longer be changed.")
            % {"status": booking.get_status_display()}
        )


def booking_reschedule(*, actor: User | None, booking: Booking, slot: Slot) -> Booking:
    """Move an open booking to another slot: the new place is taken before the old one is given back, in
    one transaction, so a full slot leaves the booking where it was."""
    require_self_or_staff(actor, booking.person, Perm.VACCINATION_RECORD)
    _open(booking)
    if slot.pk == booking.slot_id:
        return booking
    _check_bookable(slot, booking.vaccine, booking.person)
    old_slot = booking.slot_id
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        _open(locked)
        _take_place(slot)
        _give_back_place(old_slot)
        booking.slot = slot
        booking.reminded_at = None
        booking.save(update_fields=["slot", "reminded_at", "updated_at"])
        audit_record(
            actor=actor,
            action="vaccination.reschedule",
            obj=booking,
            detail={"from": old_slot, "to": slot.pk},
        )
        events.publish(
            "vaccination.rescheduled",
            payload={"booking_id": booking.pk, "person_id": booking.person_id, "slot_id": slot.pk},
            org_code=booking.org_code,
        )
    return booking


def booking_cancel(*, actor: User | None, booking: Booking, reason: str = "") -> Booking:
    require_self_or_staff(actor, booking.person, Perm.VACCINATION_RECORD)
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        _open(locked)
        _give_back_place(locked.slot_id)
        booking.status = BookingStatus.CANCELLED
        booking.cancel_reason = (reason or "").strip()[:200]
        booking.save(update_fields=["status", "cancel_reason", "updated_at"])
        audit_record(
            actor=actor, action="vaccination.cancel", obj=booking, detail={"reason": booking.cancel_reason}
        )
        events.publish(
            "vaccination.booking_cancelled",
            payload={"booking_id": booking.pk, "person_id": booking.person_id, "reason": "cancelled"},
            org_code=booking.org_code,
        )
    return booking


def bookings_cancel_for_closure(*, actor: User | None, bookings: list[Booking], reason: str) -> None:
    """Cancel the bookings of a closed day (inside the closure's transaction) and tell each person."""
    from epigrid.core.notices import notice_send_templated

    for booking in bookings:
        _give_back_place(booking.slot_id)
        booking.status = BookingStatus.CANCELLED
        booking.cancel_reason = reason[:200]
        booking.save(update_fields=["status", "cancel_reason", "updated_at"])
        events.publish(
            "vaccination.booking_cancelled",
            payload={"booking_id": booking.pk, "person_id": booking.person_id, "reason": "site_closed"},
            org_code=booking.org_code,
        )
    accounts = [b.person.account for b in bookings if hasattr(b.person, "account")]
    if accounts:
        # Each in their own language, in the inbox and by SMS (core.notice_templates "vaccination_closed").
        notice_send_templated(
            actor=None, users=accounts, kind="vaccination_closed", params={"reason": reason}
        )


def bookings_remind(*, now: dt.datetime | None = None) -> int:
    """Remind everyone with an appointment tomorrow (local date) who has not been reminded; once each
    (inbox and SMS, in each person's language)."""
    from epigrid.core.notices import notice_send_templated

    now = now or timezone.now()
    tomorrow = local_day(now) + dt.timedelta(days=1)
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(tomorrow, dt.time.min, tzinfo=tz)
    due = list(
        Booking.objects.filter(
            status=BookingStatus.BOOKED,
            reminded_at__isnull=True,
            slot__starts_at__gte=start,
            slot__starts_at__lt=start + dt.timedelta(days=1),
            person__account__isnull=False,
        ).select_related("slot__site", "person__account")
    )
    with transaction.atomic():
        for booking in due:
            local = timezone.localtime(booking.slot.starts_at)
            notice_send_templated(
                actor=None,
                users=[booking.person.account],
                kind="vaccination_reminder",
                params={"time": f"{local:%H:%M}", "site": booking.slot.site.name, "code": booking.code},
            )
        Booking.objects.filter(pk__in=[b.pk for b in due]).update(reminded_at=now)
    return len(due)


def bookings_mark_missed(*, now: dt.datetime | None = None) -> int:
    """Open bookings whose slot ended a while ago become missed (the place is not given back: it passed)."""
    now = now or timezone.now()
    with transaction.atomic():
        count = Booking.objects.filter(
            status=BookingStatus.BOOKED, slot__ends_at__lt=now - MISSED_AFTER
        ).update(status=BookingStatus.MISSED, updated_at=now)
        if count:
            audit_record(actor=None, action="vaccination.bookings_missed", detail={"count": count})
    return count
