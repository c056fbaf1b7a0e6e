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


HANDLERS = {
    "specimen.positive": on_specimen_positive,
}
