"""Test data for the investigation: venues that existed long enough, stays at exact times, cases."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from epigrid.checkins import services as checkin_services
from epigrid.checkins.models import CheckIn
from epigrid.core.models import OrgUnit, Person
from epigrid.places.models import Venue
from epigrid.places.tests.factories import VenueFactory

LONG_AGO = dt.timedelta(days=60)


def old_venue(grid: OrgUnit, **kwargs) -> Venue:
    """An approved venue registered two months ago, so that history can be imported at it."""
    venue = VenueFactory(grid=grid, **kwargs)
    Venue.objects.filter(pk=venue.pk).update(created_at=timezone.now() - LONG_AGO)
    venue.refresh_from_db()
    return venue


def stay(person: Person, venue: Venue, start: dt.datetime, minutes: float) -> CheckIn:
    """A check-in from ``start`` for ``minutes`` (an explicit check-out), stored through the import service."""
    client_id = uuid.uuid4()
    result = checkin_services.checkin_bulk_import(
        actor=None,
        rows=[
            checkin_services.CheckinImportRow(
                client_id=client_id,
                person_id=person.pk,
                venue_id=venue.pk,
                scanned_at=start,
                leave_at=start + dt.timedelta(minutes=minutes),
                left_explicitly=True,
            )
        ],
    )
    assert result.created == 1, result.errors
    return CheckIn.objects.get(client_id=client_id)


def local(day_offset: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time ``day_offset`` days from today (negative: in the past)."""
    today = timezone.localdate()
    day = today + dt.timedelta(days=day_offset)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))
