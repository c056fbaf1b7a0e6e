"""Every module ends in "someone must go there": these handlers turn other modules' events into grid tasks
(registered in ``apps.py``). Each task has a dedupe key, so an event handled twice makes no second task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core.models import Event
from epigrid.grids import services
from epigrid.grids.models import Priority, TaskType


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def on_testing_recall(event: Event) -> None:
    """``testing.recall`` {person_ids, tubes, reason, due_at}: re-sample each member in a single tube."""
    due = _time(event.payload.get("due_at"))
    tubes = ",".join(event.payload.get("tubes", []))[:60]
    services.tasks_create_many(
        actor=None,
        specs=[
            services.TaskSpec(
                TaskType.RESAMPLE,
                _("Re-sample in a single tube"),
                f"recall:{tubes}:{pid}",
                person_id=int(pid),
                due_at=due,
                params={"tubes": event.payload.get("tubes", []), "reason": event.payload.get("reason", "")},
                source="testing.recall",
                source_ref=tubes,
            )
            for pid in event.payload.get("person_ids", [])
        ],
    )


def on_contacts_grid_task(event: Event) -> None:
    """``contacts.grid_task_requested`` {case_id, people: [{person_id, tier, last_exposure_at}]}."""
    case_id = event.payload.get("case_id")
    services.tasks_create_many(
        actor=None,
        specs=[
            services.TaskSpec(
                TaskType.CONTACT_CONTROL,
                _("Close contact: keep at home until placed")
                if p.get("tier") == "close"
                else _("Secondary contact: keep at home"),
                f"contact:{case_id}:{p['person_id']}",
                person_id=int(p["person_id"]),
                params={
                    "case_id": case_id,
                    "tier": p.get("tier"),
                    "last_exposure_at": p.get("last_exposure_at"),
                },
                source="contacts",
                source_ref=str(case_id),
            )
            for p in event.payload.get("people", [])
        ],
    )


def on_quarantine_tests_due(event: Event) -> None:
    """``quarantine.tests_due`` for a grid (home quarantine): sample at the door today."""
    if not event.payload.get("door_to_door"):
        return  # centralised sites sample their guests themselves
    day = event.payload.get("date", "")
    end = (
        timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(20, 0))) if day else None
    )
    services.tasks_create_many(
        actor=None,
        specs=[
            services.TaskSpec(
                TaskType.QUARANTINE_TEST,
                _("Door-to-door test, quarantine day %(day)s") % {"day": p.get("day")},
                f"qtest:{p['person_id']}:{day}",
                person_id=int(p["person_id"]),
                due_at=end,
                params={"day": p.get("day"), "date": day},
                source="quarantine.tests_due",
                source_ref=day,
            )
            for p in event.payload.get("people", [])
        ],
    )


def on_home_placed(event: Event) -> None:
    """``quarantine.home_placed`` {people: [{person_id, placement_id}]}: seal the door, then visit daily."""
    specs = []
    for p in event.payload.get("people", []):
        pid, placement = int(p["person_id"]), p["placement_id"]
        specs.append(
            services.TaskSpec(
                TaskType.DOOR_SEAL,
                _("Seal the door of a home quarantine"),
                f"seal:{placement}",
                person_id=pid,
                params={"placement_id": placement},
                source="quarantine",
                source_ref=str(placement),
            )
        )
    services.tasks_create_many(actor=None, specs=specs)


def on_quarantine_alarm(event: Event) -> None:
    """``quarantine.alarm`` of kind violation: go and check at once."""
    if event.payload.get("kind") != "violation":
        return
    services.tasks_create_many(
        actor=None,
        specs=[
            services.TaskSpec(
                TaskType.QUARANTINE_VISIT,
                _("Quarantine violation reported: check on the person"),
                f"qalarm:{event.pk}",
                person_id=event.payload.get("person_id"),
                priority=Priority.URGENT,
                due_at=timezone.now() + dt.timedelta(hours=1),
                params={
                    "placement_id": event.payload.get("placement_id"),
                    "alarm": event.payload.get("result"),
                },
                source="quarantine.alarm",
                source_ref=str(event.pk),
            )
        ],
    )


def on_arrivals(event: Event) -> None:
    """``arrivals.identified`` {level, source, people: [[person_id, arrived_at]]}: screen each at the door."""
    level = event.payload.get("level", "")
    services.tasks_create_many(
        actor=None,
        specs=[
            services.TaskSpec(
                TaskType.SCREEN_ARRIVAL,
                _("Screen an arrival from a high-risk area")
                if level == "high"
                else _("Screen an arrival from a medium-risk area"),
                f"arrival:{pid}:{str(at)[:10]}",
                person_id=int(pid),
                params={"arrived_at": at, "level": level, "source": event.payload.get("source", "")},
                source="arrivals",
                source_ref=str(event.pk),
            )
            for pid, at in event.payload.get("people", [])
        ],
    )


HANDLERS = {
    "arrivals.identified": on_arrivals,
    "testing.recall": on_testing_recall,
    "contacts.grid_task_requested": on_contacts_grid_task,
    "quarantine.tests_due": on_quarantine_tests_due,
    "quarantine.home_placed": on_home_placed,
    "quarantine.alarm": on_quarantine_alarm,
}
