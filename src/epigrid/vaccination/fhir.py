"""FHIR R4 interoperability: a person's doses as a ``Bundle`` of ``Immunization`` resources, and back.

The resources are validated with ``fhir.resources``' R4B models, which carry R4's Immunization unchanged (the
package's default models are R5, whose Immunization differs). What we send:

- ``status`` completed; ``vaccineCode`` one coding in our code system :data:`VACCINE_SYSTEM` (the vaccine's
  ``code``, its name as display); ``targetDisease`` in :data:`DISEASE_SYSTEM`;
- ``patient`` a reference ``Patient/<our person id>``: never the ID number, no name;
- ``occurrenceDateTime`` the local time with its offset; ``lotNumber``; the batch's expiry when known;
- ``location`` by display only (the site, or the place a dose elsewhere was given); no ``performer`` — who
  vaccinated is staff data and stays here;
- ``primarySource`` true for doses recorded at our sites, false for self-reports and imports; a verified
  self-report says so in ``reportOrigin``;
- ``protocolApplied`` the dose's number and the series' number of doses;
- ``identifier`` our dose id in :data:`DOSE_SYSTEM`.

Importing reads a Bundle (or one Immunization): the whole document must validate (else one 400 with the
validator's findings summarised); then each entry is either stored or refused with its reason — an unknown
vaccine code, a dose not given, a date without a day, a day already recorded — and the good ones are kept.
Our one-dose-per-disease-per-day constraint makes a repeated import store nothing new.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.immunization import Immunization
from pydantic import ValidationError

from epigrid.core.errors import DomainError
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm
from epigrid.core.scope import in_scope_code
from epigrid.vaccination.models import Dose, DoseSource, Vaccine
from epigrid.vaccination.services.common import require
from epigrid.vaccination.services.doses import ImportedDose, doses_import

VACCINE_SYSTEM = "urn:epigrid:vaccine"
DOSE_SYSTEM = "urn:epigrid:dose"
DISEASE_SYSTEM = "urn:epigrid:disease"
ORIGIN_SYSTEM = "http://terminology.hl7.org/CodeSystem/immunization-origin"
CONTENT_TYPE = "application/fhir+json"
MAX_ENTRIES = 1000  # a person's lifetime of doses many times over
MAX_ERRORS_SHOWN = 5
# Entry URLs that stay the same for the same dose, whichever export they are in.
_DOSE_NAMESPACE = uuid.UUID("2f0c5d8e-6c1b-4c1e-9a55-5b0c6d7e8f90")


# --- export ---------------------------------------------------------------------------------------------------


def _series_sizes(doses: list[Dose]) -> dict[int, int]:
    """Doses in the series per disease: the first product given sets it (``eligibility.standing``)."""
    sizes: dict[int, int] = {}
    for dose in sorted(doses, key=lambda d: (d.given_at, d.pk)):
        sizes.setdefault(dose.disease_id, dose.vaccine.doses_in_series)
    return sizes


def immunization(dose: Dose, *, series_doses: int) -> dict[str, Any]:
    """One dose as an R4 Immunization (plain JSON, not yet validated)."""
    vaccine = dose.vaccine
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": str(dose.pk),
        "identifier": [{"system": DOSE_SYSTEM, "value": str(dose.pk)}],
        "status": "completed",
        "vaccineCode": {
            "coding": [{"system": VACCINE_SYSTEM, "code": vaccine.code, "display": vaccine.name}],
            "text": vaccine.name,
        },
        "patient": {"reference": f"Patient/{dose.person_id}"},
        "occurrenceDateTime": timezone.localtime(dose.given_at).isoformat(timespec="seconds"),
        "primarySource": dose.source == DoseSource.RECORDED,
        "protocolApplied": [
            {
                "targetDisease": [{"coding": [{"system": DISEASE_SYSTEM, "code": dose.disease.code}]}],
                "doseNumberPositiveInt": dose.dose_number,
                "seriesDosesPositiveInt": series_doses,
            }
        ],
    }
    if vaccine.manufacturer:
        resource["manufacturer"] = {"display": vaccine.manufacturer}
    if dose.lot_number:
        resource["lotNumber"] = dose.lot_number
    if dose.batch is not None:
        resource["expirationDate"] = dose.batch.expires_on.isoformat()
    place = dose.site.name if dose.site is not None else dose.place
    if place:
        resource["location"] = {"display": place}
    if dose.source == DoseSource.SELF_REPORT:
        # Reported by the person with a photo of their certificate, which staff checked: a written record.
        resource["reportOrigin"] = {
            "coding": [{"system": ORIGIN_SYSTEM, "code": "record", "display": "Written Record"}],
            "text": "Self-reported with a vaccination certificate, verified",
        }
    return resource


def person_bundle(doses: QuerySet[Dose] | Iterable[Dose]) -> Bundle:
    """The doses (of one person, as the caller's scope lets them be seen) as a validated collection Bundle."""
    doses = list(doses)
    sizes = _series_sizes(doses)
    entries = [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid5(_DOSE_NAMESPACE, str(dose.pk))}",
            "resource": immunization(dose, series_doses=sizes[dose.disease_id]),
        }
        for dose in sorted(doses, key=lambda d: (d.given_at, d.pk))
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": timezone.localtime().isoformat(timespec="seconds"),
            "entry": entries,
        }
    )


def to_json(resource: Bundle | Immunization) -> str:
    return resource.model_dump_json(exclude_none=True)


# --- import ---------------------------------------------------------------------------------------------------


class FhirError(DomainError):
    """The document is not valid FHIR R4 (API: 400)."""


@dataclass
class Outcome:
    index: int  # the entry's position in the Bundle (0 for a single Immunization)
    dose: Dose | None = None
    detail: str = ""

    @property
    def stored(self) -> bool:
        return self.dose is not None


def _where(loc: Iterable[Any]) -> str:
    """pydantic's location as a FHIRPath-like string: ``entry[0].resource.occurrenceDateTime``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).startswith(("function-", "function_")):
            text += f".{part}" if text else str(part)
    return text


def _summary(err: ValidationError) -> str:
    problems = []
    for item in err.errors()[:MAX_ERRORS_SHOWN]:
        message = re.sub(r"\s+", " ", str(item.get("msg", ""))).strip()
        where = _where(item.get("loc", ()))
        problems.append(f"{where}: {message}" if where else message)
    more = err.error_count() - MAX_ERRORS_SHOWN
    text = "; ".join(problems)
    if more > 0:
        text += " " + _("(and %(n)d more)") % {"n": more}
    return _("Not a valid FHIR R4 resource: %(problems)s") % {"problems": text}


def parse(body: bytes | str) -> list[Any]:
    """The resources of a Bundle (each entry's resource, ``None`` for an entry without one), or the one
    Immunization sent on its own. Raises :class:`FhirError` for anything that is not valid FHIR R4."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise FhirError(_("The body is not valid JSON: %(error)s") % {"error": err}) from None
    kind = data.get("resourceType") if isinstance(data, dict) else None
    model = {"Bundle": Bundle, "Immunization": Immunization}.get(kind)
    if model is None:
        raise FhirError(_("Send a FHIR Bundle of Immunization resources, or one Immunization."))
    if kind == "Bundle" and len(data.get("entry") or []) > MAX_ENTRIES:
        raise FhirError(_("A Bundle may hold at most %(n)d entries.") % {"n": MAX_ENTRIES})
    try:
        resource = model.model_validate(data)
    except ValidationError as err:
        raise FhirError(_summary(err)) from None
    except (KeyError, TypeError, ValueError) as err:
        # fhir.resources looks a nested resource's type up by name: an unknown one is a KeyError.
        raise FhirError(
            _("Not a valid FHIR R4 resource: %(problems)s") % {"problems": str(err).strip("'\"")}
        ) from None
    if kind == "Immunization":
        return [resource]
    return [entry.resource for entry in resource.entry or []]


def _vaccine_code(resource: Immunization) -> str:
    for coding in (resource.vaccineCode.coding if resource.vaccineCode else None) or []:
        if coding.system == VACCINE_SYSTEM and coding.code:
            return str(coding.code)
    return ""


def _given_at(resource: Immunization) -> dt.datetime | None:
    """The moment of the dose: a date and time (with its offset, FHIR requires one), or a whole day (taken
    as local noon, like a verified self-report). A month or a year alone is not enough to record a dose."""
    value = resource.occurrenceDateTime
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(12), tzinfo=timezone.get_current_timezone())
    return None


def _external_id(resource: Immunization) -> str:
    if resource.id:
        return str(resource.id)
    for identifier in resource.identifier or []:
        if identifier.value:
            return f"{identifier.system or ''}|{identifier.value}"
    return ""


def _refusal(resource: Any, vaccines: dict[str, Vaccine]) -> str:
    """Why this entry cannot be recorded as a dose ("" when it can)."""
    if not isinstance(resource, Immunization):
        kind = getattr(resource, "get_resource_type", lambda: "")() if resource is not None else ""
        return _("Not an Immunization (%(kind)s); nothing stored.") % {"kind": kind or _("no resource")}
    if resource.status != "completed":
        return _("Only completed immunizations are recorded; this one is “%(status)s”.") % {
            "status": resource.status
        }
    if resource.isSubpotent:
        return _("A subpotent dose does not count and is not recorded.")
    code = _vaccine_code(resource)
    if not code:
        return _("The vaccine has no code of the system %(system)s.") % {"system": VACCINE_SYSTEM}
    if code not in vaccines:
        return _("Unknown vaccine code “%(code)s”.") % {"code": code}
    if _given_at(resource) is None:
        return _("The date of the dose needs at least the day (occurrenceDateTime).")
    return ""


def doses_from_fhir(*, actor: User | None, person: Person, body: bytes | str) -> list[Outcome]:
    """Record the Immunizations of ``body`` as doses of ``person`` (imported doses, numbered with the
    person's others in date order); one outcome per entry. Raises :class:`FhirError` for a document that is
    not valid FHIR, and the services' errors for an actor who may not record doses of this person."""
    # The service checks these too; checked first here so that a document with nothing to store gets the
    # same answer as one with good entries.
    require(actor, Perm.VACCINATION_RECORD)
    if actor is not None and not in_scope_code(actor, person.org_code):
        raise DomainError(_("This person is outside your area."), field="person")
    resources = parse(body)
    codes = {_vaccine_code(r) for r in resources if isinstance(r, Immunization)}
    vaccines = {v.code: v for v in Vaccine.objects.filter(code__in=codes - {""})}
    outcomes: list[Outcome] = []
    items: list[ImportedDose] = []
    waiting: list[Outcome] = []  # the outcomes the service's answers fill in, in the items' order
    for index, resource in enumerate(resources):
        outcome = Outcome(index)
        outcomes.append(outcome)
        reason = _refusal(resource, vaccines)
        if reason:
            outcome.detail = reason
            continue
        items.append(
            ImportedDose(
                vaccine=vaccines[_vaccine_code(resource)],
                given_at=_given_at(resource),
                lot_number=(resource.lotNumber or "").strip(),
                place=((resource.location.display if resource.location else None) or "").strip(),
                external_id=_external_id(resource),
            )
        )
        waiting.append(outcome)
    if items:
        for outcome, result in zip(
            waiting, doses_import(actor=actor, person=person, items=items), strict=True
        ):
            if isinstance(result, Dose):
                outcome.dose = result
            else:
                outcome.detail = result.message
    return outcomes
