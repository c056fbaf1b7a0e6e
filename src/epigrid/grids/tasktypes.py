"""What each task type asks of the worker: the result form (fields, which are required, allowed values),
whether a photo is required, and the default urgency. One table, read by the services (validation), the
pages and the phone app (which draws the form from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

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


DECISIONS = (
    ("home_monitoring", gettext_lazy("Home health monitoring")),
    ("test", gettext_lazy("Test and report")),
    ("quarantine", pgettext_lazy("screening decision", "Quarantine")),
    ("none", gettext_lazy("No measure needed")),
)
HEALTH = (("normal", gettext_lazy("Well")), ("symptoms", gettext_lazy("Fever or symptoms")))
TEST_STATUS = (
    ("negative", gettext_lazy("Negative test within 48 h")),
    ("pending", gettext_lazy("Tested, result pending")),
    ("none", gettext_lazy("Not tested")),
)
TEST_ARRANGED = (
    ("sampled", gettext_lazy("Sampled at the door")),
    ("sent", gettext_lazy("Sent to a sampling point")),
    ("tested", gettext_lazy("Tested already (result seen)")),
)
VACCINATION_OUTCOMES = (
    ("vaccinated", gettext_lazy("Vaccinated elsewhere (certificate seen)")),
    ("booked", gettext_lazy("An appointment is booked")),
    ("declined", gettext_lazy("Declines for now")),
    ("contraindicated", gettext_lazy("Cannot be vaccinated (medical reason)")),
)
VISIT_RESULTS = (
    ("ok", gettext_lazy("At home, well")),
    ("unwell", gettext_lazy("At home, unwell")),
    ("absent", gettext_lazy("Not at home (violation)")),
    ("seal_broken", gettext_lazy("Seal broken (violation)")),
)

SPECS: dict[str, Spec] = {
    TaskType.SCREEN_ARRIVAL: Spec(
        (
            Field("residence", gettext_lazy("Where they live now"), required=True),
            Field("travel", gettext_lazy("Where they came from, how, when")),
            Field("health", gettext_lazy("Health"), "choice", True, HEALTH),
            Field("test_status", gettext_lazy("Test status"), "choice", True, TEST_STATUS),
            Field("decision", pgettext_lazy("screening", "Decision"), "choice", True, DECISIONS),
        ),
        hours=12,
        priority=Priority.HIGH,
    ),
    TaskType.RESAMPLE: Spec(
        (
            Field("sampled", gettext_lazy("Re-sampled in a single tube"), "bool", True),
            Field("tube", gettext_lazy("Tube barcode")),
        ),
        hours=12,
        priority=Priority.HIGH,
    ),
    TaskType.CONTACT_CONTROL: Spec(
        (
            Field("reached", gettext_lazy("Reached the person"), "bool", True),
            Field("informed", gettext_lazy("Told them to stay home and wait for placement"), "bool"),
        ),
        hours=2,
        priority=Priority.URGENT,
    ),
    TaskType.QUARANTINE_TEST: Spec(
        (
            Field("sampled", gettext_lazy("Sampled at the door"), "bool", True),
            Field("tube", gettext_lazy("Tube barcode")),
        ),
        hours=12,
        priority=Priority.HIGH,
    ),
    TaskType.QUARANTINE_VISIT: Spec(
        (
            Field("result", gettext_lazy("Result"), "choice", True, VISIT_RESULTS),
            Field("note", gettext_lazy("Note")),
        ),
        hours=24,
    ),
    TaskType.DOOR_SEAL: Spec(
        (Field("seal_number", gettext_lazy("Seal number"), required=True),), photo_required=True, hours=6
    ),
    TaskType.DELIVER_SUPPLIES: Spec(
        (
            Field("delivered", gettext_lazy("Delivered"), "bool", True),
            Field("items", gettext_lazy("What was delivered")),
        ),
        hours=24,
    ),
    TaskType.PATROL: Spec(
        (
            Field("items", gettext_lazy("Checklist"), "checklist", True),
            Field("note", gettext_lazy("Findings")),
        ),
        hours=24,
    ),
    TaskType.RECTIFY: Spec(
        (Field("fixed", gettext_lazy("Rectified"), "bool", True), Field("note", gettext_lazy("Note"))),
        photo_required=True,
        hours=48,
    ),
    TaskType.VERIFY_REPORT: Spec(
        (
            Field("verified", gettext_lazy("The report is true"), "bool", True),
            Field("note", gettext_lazy("Note")),
        ),
        hours=24,
    ),
    TaskType.EMERGENCY: Spec(
        (Field("action_taken", gettext_lazy("What was done"), required=True),),
        hours=1,
        priority=Priority.URGENT,
    ),
    TaskType.INSTRUCTION: Spec((Field("note", gettext_lazy("Done: what and how"), required=True),), hours=24),
    TaskType.VACCINATION_FOLLOWUP: Spec(
        (
            Field("contacted", gettext_lazy("Reached the person"), "bool", True),
            Field("booked", gettext_lazy("An appointment is booked"), "bool"),
            Field("note", gettext_lazy("Note (why not, when they will come)")),
        ),
        hours=72,
    ),
    TaskType.ARRIVAL_TEST: Spec(
        (
            Field("arranged", gettext_lazy("Test"), "choice", True, TEST_ARRANGED),
            Field("tube", gettext_lazy("Tube barcode")),
            Field("note", gettext_lazy("Note")),
        ),
        hours=12,
        priority=Priority.HIGH,
    ),
    TaskType.ARRIVAL_VACCINATION: Spec(
        (
            Field("contacted", gettext_lazy("Reached the person"), "bool", True),
            Field("outcome", gettext_lazy("Vaccination"), "choice", True, VACCINATION_OUTCOMES),
            Field("note", gettext_lazy("Note")),
        ),
        hours=72,
    ),
    TaskType.VENUE_VISITOR: Spec(
        (
            Field("reached", gettext_lazy("Reached the person"), "bool", True),
            Field("health", gettext_lazy("Health"), "choice", True, HEALTH),
            Field("decision", pgettext_lazy("screening", "Decision"), "choice", True, DECISIONS),
            Field("note", gettext_lazy("Note")),
        ),
        hours=12,
        priority=Priority.HIGH,
    ),
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
