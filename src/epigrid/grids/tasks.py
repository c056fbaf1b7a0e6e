"""Background jobs of grid management: escalation of overdue tasks, the morning patrols."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic
from epigrid.grids import services


@task()
def escalate_overdue_tasks() -> int:
    return services.tasks_escalate()


@task()
def generate_patrols() -> int:
    return services.patrols_generate()


register_periodic("grid_escalate", escalate_overdue_tasks, every=dt.timedelta(minutes=15))
register_periodic("grid_patrols", generate_patrols, every=dt.timedelta(hours=24))
