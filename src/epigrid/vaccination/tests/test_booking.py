"""Booking: capacity under concurrent load (SQLite and PostgreSQL), rescheduling, cancelling, replays,
closed days, reminders and missed appointments."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Notice
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.vaccination.models import Booking, BookingStatus, Slot
from epigrid.vaccination.services import bookings, catalogue
from epigrid.vaccination.tests import factories


@pytest.fixture
def clinic(jurisdiction):
    vaccine = factories.vaccine()
    site = factories.site(jurisdiction.grid_a, vaccine, capacity=3)
    return vaccine, site


def _book(person, slot, vaccine, **kw):
    return bookings.booking_create(actor=None, person=person, slot=slot, vaccine=vaccine, **kw)


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_never_exceed_capacity(jurisdiction):
    vaccine = factories.vaccine()
    site = factories.site(jurisdiction.grid_a, vaccine, capacity=5)
    slot = factories.future_slot(site)
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(24)]
    start = threading.Barrier(len(people))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(person):
        try:
            start.wait()
            _book(person, slot, vaccine)
            result = "booked"
        except Conflict:
            result = "full"
        except Exception as err:  # any other outcome is a failure the assertion shows
            result = f"error: {err!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == ["booked", "full"], outcomes
    assert outcomes.count("booked") == 5
    slot.refresh_from_db()
    assert slot.booked == 5
    assert Booking.objects.filter(slot=slot, status=BookingStatus.BOOKED).count() == 5


@pytest.mark.django_db
def test_the_database_itself_refuses_an_overbooked_slot(clinic):
    _vaccine, site = clinic
    slot = factories.future_slot(site)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=slot.capacity + 1)


@pytest.mark.django_db
def test_a_full_slot_says_so_and_books_nothing(jurisdiction, clinic):
    vaccine, site = clinic
    slot = factories.future_slot(site)
    for _ in range(3):
        _book(PersonFactory(grid=jurisdiction.grid_a), slot, vaccine)
    late = PersonFactory(grid=jurisdiction.grid_a)
    with pytest.raises(Conflict, match="full"):
        _book(late, slot, vaccine)
    assert not Booking.objects.filter(person=late).exists()


@pytest.mark.django_db
def test_one_open_booking_per_person_and_a_replay_returns_the_first(person_a, clinic):
    vaccine, site = clinic
    client_id = uuid.uuid4()
    first = _book(person_a, factories.future_slot(site), vaccine, client_id=client_id)
    again = _book(person_a, factories.future_slot(site, index=1), vaccine, client_id=client_id)
    assert again.pk == first.pk
    with pytest.raises(Conflict, match="already have an appointment"):
        _book(person_a, factories.future_slot(site, index=1), vaccine)
    first.slot.refresh_from_db()
    assert first.slot.booked == 1
    assert len(first.code) == 8 and first.code.isalnum()


@pytest.mark.django_db
def test_reschedule_moves_the_place_and_a_full_target_leaves_it_alone(jurisdiction, person_a, clinic):
    vaccine, site = clinic
    booking = _book(person_a, factories.future_slot(site), vaccine)
    target = factories.future_slot(site, days=2)
    bookings.booking_reschedule(actor=None, booking=booking, slot=target)
    old, target = Slot.objects.get(pk=factories.future_slot(site).pk), Slot.objects.get(pk=target.pk)
    assert (old.booked, target.booked) == (0, 1)
    full = factories.future_slot(site, days=3)
    for _ in range(3):
        _book(PersonFactory(grid=jurisdiction.grid_a), full, vaccine)
    with pytest.raises(Conflict):
        bookings.booking_reschedule(actor=None, booking=booking, slot=full)
    booking.refresh_from_db()
    assert booking.slot_id == target.pk
    target.refresh_from_db()
    assert target.booked == 1


@pytest.mark.django_db
def test_cancel_gives_the_place_back_once(person_a, clinic):
    vaccine, site = clinic
    booking = _book(person_a, factories.future_slot(site), vaccine)
    bookings.booking_cancel(actor=None, booking=booking, reason="有事")
    with pytest.raises(Conflict):
        bookings.booking_cancel(actor=None, booking=booking)
    slot = Slot.objects.get(pk=booking.slot_id)
    assert slot.booked == 0
    assert _book(person_a, slot, vaccine).status == BookingStatus.BOOKED  # may book again


@pytest.mark.django_db
def test_who_may_book(users, person_a, person_b, clinic):
    vaccine, site = clinic
    slot = factories.future_slot(site)
    with pytest.raises(Forbidden):
        bookings.booking_create(actor=users["resident"], person=person_b, slot=slot, vaccine=vaccine)
    own = bookings.booking_create(actor=users["resident"], person=person_a, slot=slot, vaccine=vaccine)
    assert own.booked_by == users["resident"]
    grid_vaccinator = UserFactory(role="vaccinator", org_unit=person_a.grid)
    with pytest.raises(Forbidden):  # person B lives outside this vaccinator's grid
        bookings.booking_create(actor=grid_vaccinator, person=person_b, slot=slot, vaccine=vaccine)
    assert bookings.booking_create(actor=users["vaccinator"], person=person_b, slot=slot, vaccine=vaccine)


@pytest.mark.django_db
def test_slots_not_offered_closed_or_started_are_refused(jurisdiction, person_a, clinic):
    vaccine, site = clinic
    other = factories.vaccine()
    with pytest.raises(DomainError, match="does not offer"):
        _book(person_a, factories.future_slot(site), other)
    past = Slot.objects.create(
        site=site,
        org_code=site.org_code,
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() - dt.timedelta(minutes=30),
        capacity=3,
    )
    with pytest.raises(DomainError, match="started"):
        _book(person_a, past, vaccine)


@pytest.mark.django_db
def test_slot_generation_follows_hours_skips_closed_days_and_is_idempotent(jurisdiction):
    vaccine = factories.vaccine()
    site = catalogue.site_create(
        actor=None,
        data=catalogue.SiteInput(
            name="周一接种点",
            grid=jurisdiction.grid_a,
            opening_hours=[
                {"weekday": 0, "start": "08:00", "end": "10:00"},
                {"weekday": 0, "start": "14:00", "end": "15:00"},
            ],
            slot_minutes=30,
            vaccines=[vaccine],
        ),
    )
    today = timezone.localdate()
    monday = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)
    catalogue.site_close_day(actor=None, site=site, day=monday + dt.timedelta(days=7), reason="国庆节")
    assert catalogue.slots_generate(actor=None, site=site, start=monday, days=14) == 6  # one Monday is closed
    assert catalogue.slots_generate(actor=None, site=site, start=monday, days=14) == 0
    first = Slot.objects.filter(site=site).order_by("starts_at").first()
    local = timezone.localtime(first.starts_at)
    assert (local.date(), local.hour, local.minute) == (monday, 8, 0)
    with pytest.raises(DomainError):
        catalogue.site_create(
            actor=None,
            data=catalogue.SiteInput(
                name="x",
                grid=jurisdiction.grid_a,
                opening_hours=[{"weekday": 7, "start": "08:00", "end": "09:00"}],
            ),
        )


@pytest.mark.django_db
def test_closing_a_day_cancels_its_bookings_and_tells_the_people(jurisdiction, users, person_a, clinic):
    vaccine, site = clinic
    booking = _book(person_a, factories.future_slot(site, days=2), vaccine)
    day = timezone.localdate() + dt.timedelta(days=2)
    catalogue.site_close_day(actor=None, site=site, day=day, reason="停电检修")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancel_reason == "停电检修"
    assert Slot.objects.get(pk=booking.slot_id).closed
    notice = Notice.objects.get(user=users["resident"], kind="vaccination_closed")
    assert notice.body == "停电检修"
    with pytest.raises(DomainError, match="closed"):
        _book(person_a, booking.slot, vaccine)
    with pytest.raises(Conflict):
        catalogue.site_close_day(actor=None, site=site, day=day, reason="again")


@pytest.mark.django_db
def test_reminders_go_once_the_day_before(users, person_a, clinic):
    vaccine, site = clinic
    _book(person_a, factories.future_slot(site, days=1), vaccine)
    assert bookings.bookings_remind() == 1
    assert bookings.bookings_remind() == 0
    [notice] = Notice.objects.filter(user=users["resident"], kind="vaccination_reminder")
    assert site.name in notice.title


@pytest.mark.django_db
def test_unattended_appointments_become_missed(person_a, clinic):
    vaccine, site = clinic
    booking = _book(person_a, factories.future_slot(site, days=1), vaccine)
    assert bookings.bookings_mark_missed(now=booking.slot.ends_at + dt.timedelta(hours=3)) == 1
    booking.refresh_from_db()
    assert booking.status == BookingStatus.MISSED
