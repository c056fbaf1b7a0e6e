"""Reactions of quarantine to other modules' events (registered in ``apps.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from epigrid.core.models import Event
from epigrid.quarantine import services
from epigrid.quarantine.models import OPEN_STATUSES, Placement


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


# An arrival screening's decision and the plan it starts (the close-contact plan is centralised, the
# secondary one at home: the policy's two plans for "quarantine" and "home health monitoring").
SCREENING_TIERS = {"quarantine": "close", "home_monitoring": "secondary"}


def on_task_done(event: Event) -> None:
    """``task.done`` of a home visit or a door seal by a grid worker: the quarantine record gets it too; an
    arrival screening that decided quarantine or home monitoring places the person."""
    kind, person_id = event.payload.get("type"), event.payload.get("person_id")
    decision = (event.payload.get("result") or {}).get("decision")
    if kind == "screen_arrival" and person_id and decision in SCREENING_TIERS:
        services.placement_create_many(
            actor=None, requests=[services.PlacementRequest(int(person_id), SCREENING_TIERS[decision])]
        )
        return
    if kind not in ("quarantine_visit", "door_seal") or not person_id:
        return
    placement = (
        Placement.objects.filter(person_id=person_id, status__in=OPEN_STATUSES).select_related("site").first()
    )
    if placement is None:
        return
    result = event.payload.get("result", {})
    at = _time(event.payload.get("at"), event)
    if kind == "quarantine_visit":
        services.visit_record(
            actor=None,
            placement=placement,
            result=result.get("result", "ok"),
            team="网格员",
            note=result.get("note", ""),
            at=at,
        )
    elif placement.site.kind == "home":
        services.seal_record(
            actor=None, placement=placement, number=result.get("seal_number", ""), sealed_at=at
        )


HANDLERS = {
    "task.done": on_task_done,
    "contacts.quarantine_requested": on_quarantine_requested,
    "test.resulted": on_test_resulted,
    "case.confirmed": on_case_confirmed,
}
