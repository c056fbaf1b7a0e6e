"""Reactions of the investigation to other modules' events (registered in ``apps.py``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from epigrid.core.models import Event
from epigrid.investigation import services


def on_specimen_positive(event: Event) -> None:
    """``specimen.positive`` {person_id, specimen_id, tube, sampled_at}: open (or extend) the person's case."""
    payload = event.payload
    sampled_at = dt.datetime.fromisoformat(payload["sampled_at"]) if payload.get("sampled_at") else None
    if sampled_at is not None and sampled_at.tzinfo is None:
        sampled_at = timezone.make_aware(sampled_at)
    services.case_from_specimen(
        person_id=int(payload["person_id"]),
        specimen_id=int(payload["specimen_id"]),
        sampled_at=sampled_at or event.occurred_at,
    )


def on_quarantine_symptomatic(event: Event) -> None:
    """``quarantine.symptomatic`` {person_id, at}: fever or symptoms in quarantine hand the person to the
    epidemiologists as a suspected case (not traced until they look at it: a suspicion should not turn
    anyone's code red)."""
    services.case_suspected_from_quarantine(
        person_id=int(event.payload["person_id"]), at=_parse(event.payload.get("at")) or event.occurred_at
    )


def _parse(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


HANDLERS = {
    "specimen.positive": on_specimen_positive,
    "quarantine.symptomatic": on_quarantine_symptomatic,
}
