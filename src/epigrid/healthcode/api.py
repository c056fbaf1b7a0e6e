"""Health-code API: a resident's own code (contracts.md), door verification, declarations, appeals."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Router, Status

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.roles import Perm, has_perm
from epigrid.core.schemas import ErrorOut
from epigrid.core.selectors import person_get
from epigrid.healthcode import codes, selectors, services
from epigrid.healthcode.schemas import (
    AppealIn,
    AppealOut,
    HealthCodeOut,
    MyHealthCodeOut,
    OverrideIn,
    RiskAreaOut,
    TravelIn,
    VerifyIn,
    VerifyOut,
)

router = Router(tags=["health code"])


@router.get("me/health-code", response={200: MyHealthCodeOut, 404: ErrorOut})
def my_health_code(request: HttpRequest):
    """The caller's colour, why, since when, and a personal code valid for 60 seconds."""
    person = request.user.person
    if person is None:
        raise Http404
    code = selectors.health_code_of(person_id=person.pk)
    token, expires = codes.personal_code(person)
    return {
        "colour": code.colour if code else "green",
        "reason": code.reason if code else "",
        "since": code.since if code else None,
        "qr": token,
        "qr_expires_at": dt.datetime.fromtimestamp(expires, tz=dt.UTC),
        "to_green": code.to_green if code else "",
        "rule": code.rule_id if code else "",
    }


@router.post("health-codes/verify", response={200: VerifyOut, 403: ErrorOut})
def verify(request: HttpRequest, payload: VerifyIn):
    """Door staff and kiosks check a personal code: valid or not, and why; the current colour."""
    if not has_perm(request.user, Perm.HEALTHCODE_VERIFY):
        raise Forbidden("Only door staff and scanners verify codes.")
    result = codes.verify_personal_code(payload.qr)
    return {
        "valid": result.valid,
        "colour": result.colour or None,
        "name_masked": result.name_masked or None,
        "detail": result.detail,
        "reason": result.reason,
    }


@router.post("me/travel-declarations", response={201: dict, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut})
def declare_travel(request: HttpRequest, payload: TravelIn):
    try:
        client_id = uuid.UUID(payload.client_id)
    except ValueError:
        raise DomainError("client_id must be a UUID.", field="client_id") from None
    declaration = services.travel_declare(
        actor=request.user,
        from_region_code=payload.from_region_code,
        from_place=payload.from_place,
        arrived_at=payload.arrived_at,
        client_id=client_id,
    )
    return Status(201, {"id": declaration.pk})


@router.post("me/health-code/appeals", response={201: AppealOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut})
def appeal(request: HttpRequest, payload: AppealIn):
    return Status(201, services.appeal_submit(actor=request.user, note=payload.note))


@router.get("risk-areas", response=list[RiskAreaOut], auth=None)
def risk_areas(request: HttpRequest):
    """Medium- and high-risk areas in force now (public)."""
    return [
        {
            "id": a.pk,
            "name": a.name,
            "kind": a.kind,
            "level": a.level,
            "region_code": a.region_code,
            "org_unit": a.org_unit.code if a.org_unit_id else None,
            "effective_from": a.effective_from,
            "level_since": a.level_since,
        }
        for a in selectors.risk_areas_current().select_related("org_unit")
    ]


@router.get("health-codes/{person_id}", response={200: HealthCodeOut, 404: ErrorOut})
def health_code(request: HttpRequest, person_id: int):
    code = selectors.health_code_get(actor=request.user, person_id=person_id)
    return {
        "person_id": code.person_id,
        "colour": code.colour,
        "reason": code.reason,
        "rule": code.rule_id,
        "since": code.since,
    }


@router.post(
    "health-codes/{person_id}/overrides", response={201: dict, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
)
def override(request: HttpRequest, person_id: int, payload: OverrideIn):
    person = person_get(actor=request.user, pk=person_id)
    expires = (
        payload.expires_at
        if timezone.is_aware(payload.expires_at)
        else timezone.make_aware(payload.expires_at)
    )
    made = services.override_create(
        actor=request.user, person=person, colour=payload.colour, reason=payload.reason, expires_at=expires
    )
    return Status(201, {"id": made.pk})
