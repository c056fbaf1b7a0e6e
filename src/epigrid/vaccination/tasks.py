"""Background jobs of vaccination: tomorrow's reminders, and open appointments that passed unattended."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic
from epigrid.vaccination.services import bookings


@task()
def remind_bookings() -> int:
    return bookings.bookings_remind()


@task()
def mark_missed_bookings() -> int:
    return bookings.bookings_mark_missed()


register_periodic("vaccination_reminders", remind_bookings, every=dt.timedelta(hours=1))
register_periodic("vaccination_missed", mark_missed_bookings, every=dt.timedelta(hours=1))
