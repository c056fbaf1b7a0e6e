"""Reactions of the health code to other modules' events. Each keeps facts current, then recomputes.

The events and their payloads are the contract with the modules that publish them (testing, cases,
tracing, quarantine, vaccination); ``person_id`` may be a list under ``person_ids`` for batch events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from epigrid.core.models import Event
from epigrid.healthcode import services


def _ids(payload: dict[str, Any]) -> list[int]:
    if "person_ids" in payload:
        return [int(i) for i in payload["person_ids"]]
    return [int(payload["person_id"])]


def _at(payload: dict[str, Any], event: Event, key: str = "at") -> dt.datetime:
    value = payload.get(key)
    return (parse_datetime(value) if isinstance(value, str) else None) or event.occurred_at


def on_case_confirmed(event: Event) -> None:
    """``case.confirmed`` {person_id, classification: confirmed|asymptomatic, at}."""
    kind = event.payload.get("classification", "confirmed")
    services.facts_update(
        actor=None,
        person_ids=_ids(event.payload),
        changes={"infection": kind, "infection_at": _at(event.payload, event)},
    )


def on_case_recovered(event: Event) -> None:
    """``case.recovered`` {person_id, at}: discharged and out of isolation."""
    services.facts_update(
        actor=None, person_ids=_ids(event.payload), changes={"recovered_at": _at(event.payload, event)}
    )


def on_case_excluded(event: Event) -> None:
    """``case.excluded`` {person_id, at}: the infection was ruled out; the colour follows the other facts."""
    services.facts_update(
        actor=None, person_ids=_ids(event.payload), changes={"infection": "", "infection_at": None}
    )


def on_contact_identified(event: Event) -> None:
    """``contact.identified`` {person_id(s), tier: close|secondary, at}. Tracing sends ``people``:
    [[person_id, last_exposure_at], ...], so each contact's colour runs from their own last exposure."""
    tier = event.payload.get("tier", "close")
    if "people" in event.payload:
        values = {
            int(pid): {"contact_tier": tier, "contact_at": _time(at, event)}
            for pid, at in event.payload["people"]
        }
        services.facts_update_each(actor=None, values=values)
        return
    services.facts_update(
        actor=None,
        person_ids=_ids(event.payload),
        changes={"contact_tier": event.payload.get("tier", "close"), "contact_at": _at(event.payload, event)},
    )


def on_quarantine_started(event: Event) -> None:
    """``quarantine.started`` {person_id(s), until}."""
    until = _at(event.payload, event, "until")
    services.facts_update(actor=None, person_ids=_ids(event.payload), changes={"quarantine_until": until})


def on_quarantine_ended(event: Event) -> None:
    """``quarantine.ended`` {person_id(s), at}: released; a contact's exposure is cleared with it."""
    at = _at(event.payload, event)
    services.facts_update(
        actor=None,
        person_ids=_ids(event.payload),
        changes={"quarantine_until": None, "contact_cleared_at": at},
    )


def on_test_resulted(event: Event) -> None:
    """``test.resulted`` {person_id(s), result: negative|positive, at} (the sampling time).

    A batch of results (testing's lab import) carries ``people``: [[person_id, sampled_at], ...], so that
    each person's ``last_test_at`` is their own sampling time; their facts are written in one statement
    and recomputed once."""
    result = event.payload.get("result", "")
    if "people" in event.payload:
        values = {}
        for person_id, at in event.payload["people"]:
            values[int(person_id)] = {"last_test_result": result, "last_test_at": _time(at, event)}
        services.facts_update_each(actor=None, values=values)
        return
    services.facts_update(
        actor=None,
        person_ids=_ids(event.payload),
        changes={"last_test_result": result, "last_test_at": _at(event.payload, event)},
    )


def _time(value: Any, event: Event) -> dt.datetime:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)  # C speed; parse_datetime for anything it refuses
        except ValueError:
            parsed = parse_datetime(value)
        if parsed is not None:
            return parsed if parsed.tzinfo is not None else timezone.make_aware(parsed)
    return event.occurred_at


def on_symptom_reported(event: Event) -> None:
    """``symptom.reported`` {person_id, fever: bool, at}."""
    if event.payload.get("fever"):
        services.facts_update(
            actor=None, person_ids=_ids(event.payload), changes={"fever_at": _at(event.payload, event)}
        )


def on_task_done(event: Event) -> None:
    """``task.done`` of an arrival screening that found fever or symptoms: the health code learns of it."""
    result = event.payload.get("result") or {}
    if event.payload.get("type") == "screen_arrival" and result.get("health") == "symptoms":
        services.facts_update(
            actor=None,
            person_ids=[int(event.payload["person_id"])],
            changes={"fever_at": _at(event.payload, event)},
        )


def on_dose_recorded(event: Event) -> None:
    """``vaccination.dose`` {person_id, doses, disease}: the code counts doses against the platform's
    default disease (the one its rules are written for), not a measles or influenza shot."""
    from epigrid.core.selectors import general_rule

    disease = event.payload.get("disease")
    if disease and disease != str(general_rule("default_disease", "covid19")):
        return
    services.facts_update(
        actor=None,
        person_ids=_ids(event.payload),
        changes={"vaccine_doses": int(event.payload.get("doses", 0))},
    )


def on_policy_or_level_changed(event: Event) -> None:
    """A new response level or policy may select another rule set: recompute everyone."""
    from epigrid.healthcode import engine

    engine.recompute()


HANDLERS = {
    "case.confirmed": on_case_confirmed,
    "case.recovered": on_case_recovered,
    "case.excluded": on_case_excluded,
    "contact.identified": on_contact_identified,
    "quarantine.started": on_quarantine_started,
    "quarantine.ended": on_quarantine_ended,
    "test.resulted": on_test_resulted,
    "symptom.reported": on_symptom_reported,
    "task.done": on_task_done,
    "vaccination.dose": on_dose_recorded,
    "response_level.changed": on_policy_or_level_changed,
}
