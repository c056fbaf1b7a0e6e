"""Background jobs of check-in: the daily retention purge."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.checkins.services import checkin_purge_expired
from epigrid.core.periodic import register_periodic


@task()
def purge_expired_checkins() -> int:
    return checkin_purge_expired(actor=None)


register_periodic("purge_expired_checkins", purge_expired_checkins, every=dt.timedelta(hours=6))
