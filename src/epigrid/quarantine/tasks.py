"""Background jobs of quarantine: the morning list of tests due, and de-identification after retention."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic
from epigrid.quarantine import services


@task()
def publish_tests_due() -> int:
    return services.tests_due_publish()


@task()
def deidentify_expired_placements() -> int:
    return services.placements_deidentify_expired(actor=None)


register_periodic("quarantine_tests_due", publish_tests_due, every=dt.timedelta(hours=24))
register_periodic("quarantine_deidentify", deidentify_expired_placements, every=dt.timedelta(hours=6))
