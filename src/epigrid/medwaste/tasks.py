"""Periodic jobs (registered with core.periodic): the full alarm evaluation every five minutes (time passing
is what makes storage, handover and collection late, so no event announces it), and the daily purge of
records past their retention."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic

EVALUATE_EVERY = dt.timedelta(minutes=5)


@task()
def evaluate_waste_alarms() -> dict[str, dict[str, int]]:
    from epigrid.medwaste.services.alarms import waste_alarms_evaluate

    return waste_alarms_evaluate().as_dict()


@task()
def purge_expired_waste_records() -> int:
    from epigrid.medwaste.services.retention import waste_records_purge_expired

    return waste_records_purge_expired().bags


register_periodic("medwaste_alarms", evaluate_waste_alarms, every=EVALUATE_EVERY)
register_periodic("medwaste_purge", purge_expired_waste_records, every=dt.timedelta(days=1))
