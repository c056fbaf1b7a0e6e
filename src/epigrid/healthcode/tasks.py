"""Background jobs of the health code: risk-area downgrades, and the nightly full recompute
(colours whose reason has a time window — "within 7 days" — turn green when the window passes)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core.periodic import register_periodic
from epigrid.healthcode import engine, services


@task()
def downgrade_risk_areas() -> int:
    return len(services.risk_areas_downgrade_due())


@task()
def recompute_all() -> dict:
    result = engine.recompute()
    return {"evaluated": result.evaluated, "changed": result.changed}


register_periodic("downgrade_risk_areas", downgrade_risk_areas, every=dt.timedelta(hours=1))
register_periodic("recompute_health_codes", recompute_all, every=dt.timedelta(hours=1))
