"""Periodic jobs are enqueued once per interval and run by the database worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from epigrid.core import periodic
from epigrid.core.audit import audit_record
from epigrid.core.models import AuditEntry, Event


def test_due_jobs_are_enqueued_once_per_interval(db):
    now = timezone.now()
    assert "audit_chain_check" in periodic.enqueue_due(now)
    assert "audit_chain_check" not in periodic.enqueue_due(now + dt.timedelta(minutes=59))
    assert "audit_chain_check" in periodic.enqueue_due(now + dt.timedelta(minutes=61))
    assert DBTaskResult.objects.filter(task_path__endswith="audit_chain_check").count() == 2


@pytest.mark.django_db(transaction=True)  # the worker closes its connection when it finishes
def test_worker_runs_the_chain_check_and_alarms_on_tampering():
    audit_record(actor=None, action="first")
    AuditEntry.objects.filter(action="first").update(action="edited")  # tampering
    periodic.enqueue_due()
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    checked = AuditEntry.objects.get(action="audit.chain_checked")
    assert checked.detail["ok"] is False and checked.detail["problem"] == "content changed"
    assert Event.objects.filter(type="audit.chain_broken").exists()
    assert DBTaskResult.objects.get(task_path__endswith="audit_chain_check").status == "SUCCESSFUL"
