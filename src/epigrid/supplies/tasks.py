"""Periodic jobs (registered with core.periodic): the hourly shortage announcement."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic
from epigrid.supplies.services import shortages


@task()
def announce_shortages() -> int:
    return shortages.shortages_announce()


register_periodic("supplies_shortages", announce_shortages, every=dt.timedelta(hours=1))
