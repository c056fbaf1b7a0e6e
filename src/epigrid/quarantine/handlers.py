"""Reactions of quarantine to other modules' events (registered in ``apps.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from epigrid.core.models import Event
from epigrid.quarantine import services


def _time(value: Any, event: Event) -> dt.datetime:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return event.occurred_at
        return parsed if parsed.tzinfo else timezone.make_aware(parsed)
    return event.occurred_at


def on_quarantine_requested(event: Event) -> None:
    """``contacts.quarantine_requested`` {case_id, people: [{person_id, tier, last_exposure_at}]}: place them
    (the epidemiologist's one click). Who could not be placed shows in the audit entry and the line lists."""
    requests = [
        services.PlacementRequest(int(p["person_id"]), p.get("tier", "close"), event.payload.get("case_id"))
        for p in event.payload.get("people", [])
    ]
    if requests:
        services.placement_create_many(actor=None, requests=requests)


def on_test_resulted(event: Event) -> None:
    """``test.resulted``: scheduled tests of people in quarantine take their results."""
    result = event.payload.get("result", "")
    if "people" in event.payload:
        people = [(int(pid), _time(at, event), result) for pid, at in event.payload["people"]]
    else:
        at = _time(event.payload.get("at"), event)
        ids = event.payload.get("person_ids") or [event.payload["person_id"]]
        people = [(int(pid), at, result) for pid in ids]
    services.tests_record_results(people=people)


def on_case_confirmed(event: Event) -> None:
    """``case.confirmed``: a person in quarantine who became a case is handed to the case module."""
    services.placements_hand_over(
        person_id=int(event.payload["person_id"]), at=_time(event.payload.get("at"), event)
    )


HANDLERS = {
    "contacts.quarantine_requested": on_quarantine_requested,
    "test.resulted": on_test_resulted,
    "case.confirmed": on_case_confirmed,
}
