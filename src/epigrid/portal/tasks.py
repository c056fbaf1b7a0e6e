"""Periodic jobs (registered with core.periodic): the clean-up of old login codes and failures."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic
from epigrid.portal.services.login import login_records_purge


@task()
def purge_login_records() -> int:
    return login_records_purge()


register_periodic("portal_purge_login_records", purge_login_records, every=dt.timedelta(hours=6))
