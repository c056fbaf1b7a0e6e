"""What each task type asks of the worker: the result form (fields, which are required, allowed values),
whether a photo is required, and the default urgency. One table, read by the services (validation), the
pages and the phone app (which draws the form from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from epigrid.core.errors import DomainError
from epigrid.grids.models import Priority, TaskType


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    kind: str = "text"  # text | bool | choice | checklist
    required: bool = False
    choices: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Spec:
    fields: tuple[Field, ...] = ()
    photo_required: bool = False
    hours: float = 24  # default time to do it
    priority: int = Priority.NORMAL
    extra: dict[str, Any] = field(default_factory=dict)


_YES = gettext_lazy
DECISIONS = (
    ("home_monitoring", _YES("Home health monitoring")),
    ("test", _YES("Test and report")),
    ("quarantine", _YES("Quarantine")),
    ("none", _YES("No measure needed")),
)
HEALTH = (("normal", _YES("Well")), ("symptoms", _YES("Fever or symptoms")))
TEST_STATUS = (
    ("negative", _YES("Negative test within 48 h")),
    ("pending", _YES("Tested, result pending")),
    ("none", _YES("Not tested")),
)
VISIT_RESULTS = (
    ("ok", _YES("At home, well")),
    ("unwell", _YES("At home, unwell")),
    ("absent", _YES("Not at home (violation)")),
    ("seal_broken", _YES("Seal broken (violation)")),
)

SPECS: dict[str, Spec] = {
    TaskType.SCREEN_ARRIVAL: Spec(
        (
            Field("residence", _YES("Where they live now"), required=True),
            Field("travel", _YES("Where they came from, how, when")),
            Field("health", _YES("Health"), "choice", True, HEALTH),
            Field("test_status", _YES("Test status"), "choice", True, TEST_STATUS),
            Field("decision", _YES("Decision"), "choice", True, DECISIONS),
        ),
        hours=12,
        priority=Priority.HIGH,
    ),
    TaskType.RESAMPLE: Spec(
        (
            Field("sampled", _YES("Re-sampled in a single tube"), "bool", True),
            Field("tube", _YES("Tube barcode")),
        ),
        hours=12,
        priority=Priority.HIGH,
    ),
    TaskType.CONTACT_CONTROL: Spec(
        (
            Field("reached", _YES("Reached the person"), "bool", True),
            Field("informed", _YES("Told them to stay home and wait for placement"), "bool"),
        ),
        hours=2,
        priority=Priority.URGENT,
    ),
    TaskType.QUARANTINE_TEST: Spec(
        (Field("sampled", _YES("Sampled at the door"), "bool", True), Field("tube", _YES("Tube barcode"))),
        hours=12,
        priority=Priority.HIGH,
    ),
    TaskType.QUARANTINE_VISIT: Spec(
        (Field("result", _YES("Result"), "choice", True, VISIT_RESULTS), Field("note", _YES("Note"))),
        hours=24,
    ),
    TaskType.DOOR_SEAL: Spec(
        (Field("seal_number", _YES("Seal number"), required=True),), photo_required=True, hours=6
    ),
    TaskType.DELIVER_SUPPLIES: Spec(
        (Field("delivered", _YES("Delivered"), "bool", True), Field("items", _YES("What was delivered"))),
        hours=24,
    ),
    TaskType.PATROL: Spec(
        (Field("items", _YES("Checklist"), "checklist", True), Field("note", _YES("Findings"))), hours=24
    ),
    TaskType.RECTIFY: Spec(
        (Field("fixed", _YES("Rectified"), "bool", True), Field("note", _YES("Note"))),
        photo_required=True,
        hours=48,
    ),
    TaskType.VERIFY_REPORT: Spec(
        (Field("verified", _YES("The report is true"), "bool", True), Field("note", _YES("Note"))), hours=24
    ),
    TaskType.EMERGENCY: Spec(
        (Field("action_taken", _YES("What was done"), required=True),), hours=1, priority=Priority.URGENT
    ),
    TaskType.INSTRUCTION: Spec((Field("note", _YES("Done: what and how"), required=True),), hours=24),
}


def spec(task_type: str) -> Spec:
    return SPECS[task_type]


def clean_result(
    task_type: str, result: dict[str, Any], *, checklist: list[str] | None = None
) -> dict[str, Any]:
    """The result as stored, or a DomainError naming the first field that is missing or wrong."""
    if not isinstance(result, dict):
        raise DomainError(_("The result must be a form (an object)."), field="result")
    clean: dict[str, Any] = {}
    for f in SPECS[task_type].fields:
        value = result.get(f.name)
        if value in (None, ""):
            if f.required:
                raise DomainError(_("Fill in: %(field)s.") % {"field": f.label}, field=f.name)
            continue
        if f.kind == "bool":
            if not isinstance(value, bool):
                raise DomainError(_("%(field)s must be yes or no.") % {"field": f.label}, field=f.name)
        elif f.kind == "choice":
            if value not in {c for c, _label in f.choices}:
                raise DomainError(
                    _("%(field)s: choose one of the options.") % {"field": f.label}, field=f.name
                )
        elif f.kind == "checklist":
            wanted = list(checklist or [])
            if not isinstance(value, dict) or set(value) != set(wanted):
                raise DomainError(_("Answer every item of the checklist."), field=f.name)
            if any(v not in ("ok", "problem") for v in value.values()):
                raise DomainError(_("Each checklist item is ok or a problem."), field=f.name)
        else:
            value = str(value).strip()[:500]
        clean[f.name] = value
    return clean
