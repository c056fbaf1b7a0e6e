"""API of the shared kernel: tokens, the caller, people, jurisdiction."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from epigrid.core import selectors, services
from epigrid.core.models import OrgLevel
from epigrid.core.schemas import ErrorOut, MeOut, OrgUnitOut, PersonMasked, RevealIn, TokenIn, TokenOut

router = Router()


@router.post("auth/token", auth=None, response={200: TokenOut, 401: ErrorOut}, tags=["auth"])
def auth_token(request: HttpRequest, payload: TokenIn):
    try:
        token = services.api_token_issue(username=payload.username, password=payload.password)
    except services.Forbidden as err:
        return Status(401, {"detail": err.message})
    return Status(200, {"token": token})


@router.get("me", response=MeOut, tags=["auth"])
def me(request: HttpRequest):
    user = request.user
    return MeOut(
        username=user.username,
        role=user.role,
        org_unit=user.org_unit.code if user.org_unit_id else None,
        org_unit_name=user.org_unit.name if user.org_unit_id else None,
        person=user.person,
    )


@router.get("persons", response=list[PersonMasked], tags=["people"])
@paginate(LimitOffsetPagination)
def person_list(request: HttpRequest, q: str = "", grid: str = ""):
    return selectors.person_list(actor=request.user, search=q, grid_code=grid)


@router.get("persons/{person_id}", response={200: PersonMasked, 404: ErrorOut}, tags=["people"])
def person_detail(request: HttpRequest, person_id: int):
    return selectors.person_get(actor=request.user, pk=person_id)


@router.post(
    "persons/{person_id}/reveal",
    response={200: dict[str, str], 403: ErrorOut, 404: ErrorOut},
    tags=["people"],
)
def person_reveal(request: HttpRequest, person_id: int, payload: RevealIn):
    """The full ID number and phone; needs the reveal permission and is audited."""
    person = selectors.person_get(actor=request.user, pk=person_id)
    return services.person_reveal(actor=request.user, person=person, fields=payload.fields)


@router.get("org-units", response=list[OrgUnitOut], tags=["jurisdiction"])
def orgunit_list(request: HttpRequest, level: OrgLevel | None = None):
    return [
        OrgUnitOut(
            code=u.code,
            level=u.level,
            name=u.name,
            parent=u.code[: len(u.code) - 3] if u.level != OrgLevel.DISTRICT else None,
            centroid=(u.centroid_lat, u.centroid_lng) if u.centroid_lat is not None else None,
        )
        for u in selectors.orgunit_list(actor=request.user, level=level or "")
    ]


@router.get("org-units/geojson", response=dict, tags=["jurisdiction"])
def orgunit_geojson(request: HttpRequest, level: OrgLevel = OrgLevel.GRID):
    return selectors.orgunit_geojson(actor=request.user, level=level)
