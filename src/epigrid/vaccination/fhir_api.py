"""Vaccination's interoperability API: a person's doses as FHIR R4 Immunizations (export and import), and
coverage as JSON rows. Errors are ``{"detail"}`` like the rest of /api/v1/; a person out of scope is 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.schemas import ErrorOut
from epigrid.core.selectors import orgunit_get, person_get
from epigrid.vaccination import export, fhir, selectors

router = Router(tags=["vaccination"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
_FHIR_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            fhir.CONTENT_TYPE: {
                "schema": {"type": "object", "description": "A FHIR R4 Bundle or Immunization"}
            },
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _person_to_read(user: User, pk: int) -> Person:
    """Staff with vaccination.view see people in their area; a resident sees only themselves (404 else)."""
    if is_staff_role(user.role) and not has_perm(user, Perm.VACCINATION_VIEW):
        raise Forbidden(_("Your role may not do this."))
    return person_get(actor=user, pk=pk)


@router.get(
    "vaccination/persons/{person_id}/immunizations",
    response={200: dict, **ERRORS},
    url_name="vaccination_person_immunizations",
    openapi_extra={"responses": {200: {"description": "A FHIR R4 Bundle (type collection) of Immunization"}}},
)
def immunizations_export(request: HttpRequest, person_id: int):
    """The person's doses as a FHIR R4 ``Bundle`` (type ``collection``) of ``Immunization`` resources, as
    ``application/fhir+json``. The patient is a reference (``Patient/<id>``); no name or ID number leaves."""
    person = _person_to_read(request.user, person_id)
    doses = (
        selectors.dose_list(actor=request.user)
        .filter(person=person)
        .select_related("vaccine", "disease", "site", "batch")
    )
    bundle = fhir.person_bundle(doses)
    response = HttpResponse(fhir.to_json(bundle), content_type=fhir.CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


@router.post(
    "vaccination/persons/{person_id}/immunizations",
    response={200: dict, **ERRORS, 409: ErrorOut},
    openapi_extra=_FHIR_BODY,
)
def immunizations_import(request: HttpRequest, person_id: int):
    """Record doses given elsewhere from a FHIR R4 ``Bundle`` of ``Immunization`` resources (or one
    Immunization). Vaccines are matched by their code in ``urn:epigrid:vaccine``. Good entries are stored
    whatever the others do; each refused one is listed with its index in the Bundle and why (an unknown
    vaccine code, a day already recorded...). A document that is not valid FHIR is a 400 and stores nothing.
    Sending the same document again stores nothing new."""
    if not has_perm(request.user, Perm.VACCINATION_RECORD):
        raise Forbidden(_("Your role may not do this."))
    person = person_get(actor=request.user, pk=person_id)
    outcomes = fhir.doses_from_fhir(actor=request.user, person=person, body=request.body)
    return {
        "stored": sum(1 for o in outcomes if o.stored),
        "refused": [{"index": o.index, "detail": o.detail} for o in outcomes if not o.stored],
        "outcomes": [
            {
                "index": o.index,
                "stored": o.stored,
                "dose_id": o.dose.pk if o.dose else None,
                "detail": o.detail,
            }
            for o in outcomes
        ],
    }


@router.get("vaccination/coverage", response={200: dict, **ERRORS})
def coverage(request: HttpRequest, disease: str = "", level: str = "grid", within: str = ""):
    """Coverage in the caller's area per unit (``level``: grid, community or street) and age band: the
    population, how many have a first dose, a full series, a booster, and the shares in percent; each unit's
    total over its bands and the overall total. ``disease`` is a disease code (default: the platform's
    default disease); ``within`` narrows to one unit of the caller's area."""
    if not has_perm(request.user, Perm.VACCINATION_VIEW):
        raise Forbidden(_("Your role may not do this."))
    if level not in export.LEVELS:
        raise DomainError(
            _("Unknown level %(level)s: choose grid, community or street.") % {"level": level}, field="level"
        )
    chosen = export.disease_chosen(disease)
    unit = orgunit_get(actor=request.user, code=within.strip()) if within.strip() else None
    today = timezone.localdate()
    table = export.coverage_report(
        actor=request.user, disease=chosen, level=level, within=unit.code if unit else "", today=today
    )
    return {
        "disease": chosen.code,
        "level": level,
        "within": unit.code if unit else "",
        "as_of": today.isoformat(),
        "rows": [line.as_dict() for _total, bands in table.units for line in bands],
        "units": [unit_total.as_dict() for unit_total, _bands in table.units],
        "total": table.total.as_dict(),
    }
