"""Background jobs of the shared kernel."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from epigrid.core import events
from epigrid.core.audit import audit_record, audit_verify_chain
from epigrid.core.periodic import register_periodic


@task()
def audit_chain_check() -> dict:
    """Verify the whole audit chain; a broken chain raises an alarm event for the command center."""
    check = audit_verify_chain()
    result = {
        "ok": check.ok,
        "checked": check.checked,
        "first_bad_seq": check.first_bad_seq,
        "problem": check.problem,
    }
    if not check.ok:
        events.publish("audit.chain_broken", payload=result)
    audit_record(actor=None, action="audit.chain_checked", detail=result)
    return result


register_periodic("audit_chain_check", audit_chain_check, every=dt.timedelta(hours=1))
