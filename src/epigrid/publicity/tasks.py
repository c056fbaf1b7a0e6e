"""Periodic jobs of the publicity app: scheduled announcements go public (every minute)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic
from epigrid.publicity.services import announcements


@task()
def publish_due_announcements() -> int:
    return announcements.announcements_publish_due()


register_periodic("publicity_publish_due", publish_due_announcements, every=dt.timedelta(minutes=1))
