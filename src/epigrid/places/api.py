"""Venue API: the list in scope, a venue's current code, application and decisions."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status

from epigrid.core.schemas import ErrorOut
from epigrid.places import selectors, services
from epigrid.places.codes import venue_code_url
from epigrid.places.schemas import VenueApplyIn, VenueCodeOut, VenueDecisionIn, VenueOut

router = Router(tags=["venues"])


def _base_url(request: HttpRequest) -> str:
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


@router.get("venues", response=list[VenueOut])
def venue_list(
    request: HttpRequest,
    status: str = "",
    type: str = "",
    key_places: bool = False,
    q: str = "",
    limit: int = Query(1000, ge=1, le=5000),
    offset: int = Query(0, ge=0),
):
    """Venues in scope as a plain list (contracts.md), paged with ``limit``/``offset``."""
    venues = selectors.venue_list(
        actor=request.user, status=status, type=type, key_places_only=key_places, search=q
    )
    return venues[offset : offset + limit]


@router.get("venues/{venue_id}", response={200: VenueOut, 404: ErrorOut})
def venue_detail(request: HttpRequest, venue_id: int):
    return selectors.venue_get(actor=request.user, pk=venue_id)


@router.get("venues/{venue_id}/code", response={200: VenueCodeOut, 404: ErrorOut, 409: ErrorOut})
def venue_code(request: HttpRequest, venue_id: int):
    """What the venue's QR code holds: the scan URL with the signed token."""
    venue = selectors.venue_get(actor=request.user, pk=venue_id)
    if not venue.has_code:
        return Status(409, {"detail": "This venue has no valid code (not approved, or suspended)."})
    url = venue_code_url(venue, base_url=_base_url(request))
    return {"code": url, "url": url, "version": venue.code_version}


@router.post("venues", response={201: VenueOut, 400: ErrorOut, 403: ErrorOut})
def venue_apply(request: HttpRequest, payload: VenueApplyIn):
    venue = services.venue_apply(actor=request.user, data=services.VenueInput(**payload.dict()))
    return Status(201, venue)


@router.post(
    "venues/{venue_id}/approve", response={200: VenueOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
)
def venue_approve(request: HttpRequest, venue_id: int, payload: VenueDecisionIn):
    venue = selectors.venue_get(actor=request.user, pk=venue_id)
    return services.venue_approve(
        actor=request.user, venue=venue, is_key_place=payload.is_key_place, note=payload.note
    )


@router.post(
    "venues/{venue_id}/reissue-code",
    response={200: VenueCodeOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def venue_reissue(request: HttpRequest, venue_id: int, payload: VenueDecisionIn):
    """Revoke every earlier code of the venue and return the new one."""
    venue = selectors.venue_get(actor=request.user, pk=venue_id)
    venue = services.venue_code_reissue(actor=request.user, venue=venue, reason=payload.note)
    url = venue_code_url(venue, base_url=_base_url(request))
    return {"code": url, "url": url, "version": venue.code_version}
