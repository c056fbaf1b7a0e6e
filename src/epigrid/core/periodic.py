"""Periodic jobs (retention purges, chain checks...): registered here, enqueued by ``epigrid worker``.

Each job is a django-tasks task plus an interval. ``enqueue_due`` is safe to call from several workers at
once: the ``PeriodicRun`` row of a job is locked while deciding, so a due job is enqueued exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from epigrid.core.models import PeriodicRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: object  # a django_tasks Task
    every: dt.timedelta


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(name: str, task: object, *, every: dt.timedelta) -> None:
    _jobs[name] = PeriodicJob(name, task, every)


def jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


def enqueue_due(now: dt.datetime | None = None) -> list[str]:
    """Enqueue every job whose interval has passed since it was last enqueued; returns their names."""
    now = now or timezone.now()
    enqueued = []
    for job in jobs():
        with transaction.atomic():
            run, _ = PeriodicRun.objects.get_or_create(name=job.name)
            run = PeriodicRun.objects.select_for_update().get(pk=run.pk)
            if run.last_enqueued_at is not None and now - run.last_enqueued_at < job.every:
                continue
            job.task.enqueue()
            run.last_enqueued_at = now
            run.save(update_fields=["last_enqueued_at"])
            enqueued.append(job.name)
    return enqueued


def run_scheduler(stop: threading.Event, *, tick_seconds: float = 30.0) -> None:
    """Loop of the worker's scheduler thread."""
    while not stop.is_set():
        try:
            enqueue_due()
        except Exception:
            logger.exception("periodic scheduling failed")
        finally:
            from django.db import connection

            connection.close()
        stop.wait(tick_seconds)
