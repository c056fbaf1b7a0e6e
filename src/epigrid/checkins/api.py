"""Check-in API (contracts.md): idempotent check-in, check-out, own history, occupancy."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from epigrid.checkins import selectors, services
from epigrid.checkins.models import CheckIn
from epigrid.checkins.schemas import CheckinIn, CheckinOut, CheckoutIn, OccupancyOut
from epigrid.core.schemas import ErrorOut
from epigrid.core.services import PersonInput
from epigrid.places.selectors import venue_get

router = Router(tags=["check-in"])


def _out(checkin: CheckIn) -> dict:
    return {
        "id": checkin.pk,
        "venue": {"id": checkin.venue_id, "name": checkin.venue.name},
        "health_code": {"colour": checkin.colour},
        "scanned_at": checkin.scanned_at,
        "leave_at": checkin.leave_at,
        "method": checkin.method,
    }


@router.post(
    "checkins", response={200: CheckinOut, 201: CheckinOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut}
)
def checkin_create(request: HttpRequest, payload: CheckinIn):
    """Check in at the venue whose code was scanned. The same ``client_id`` again returns the same check-in."""
    person = PersonInput(**payload.person.dict()) if payload.person is not None else None
    result = services.checkin_by_code(
        actor=request.user,
        venue_code=payload.venue_code,
        client_id=payload.client_id,
        person_data=person,
        scanned_at=payload.scanned_at,
    )
    return Status(201 if result.created else 200, _out(result.checkin))


@router.get("checkins/{checkin_id}", response={200: CheckinOut, 404: ErrorOut})
def checkin_detail(request: HttpRequest, checkin_id: int):
    return _out(selectors.checkin_get(actor=request.user, pk=checkin_id))


@router.post("checkins/{checkin_id}/checkout", response={200: CheckinOut, 400: ErrorOut, 404: ErrorOut})
def checkin_checkout(request: HttpRequest, checkin_id: int, payload: CheckoutIn):
    checkin = selectors.checkin_get(actor=request.user, pk=checkin_id)
    return _out(services.checkin_checkout(actor=request.user, checkin=checkin, at=payload.at))


@router.get("me/checkins", response=list[CheckinOut])
@paginate(LimitOffsetPagination)
def my_checkins(request: HttpRequest):
    """The caller's own check-ins, newest first (kept for the retention period only)."""
    person_id = request.user.person_id
    if person_id is None:
        return []
    return [_out(c) for c in selectors.checkin_list(actor=request.user, person_id=person_id)]


@router.get("occupancy", response=list[OccupancyOut], tags=["venues"])
def occupancy(request: HttpRequest, key_places: bool = False):
    """People present now per venue in scope, fullest first."""
    return [
        {
            "venue_id": row["venue"].pk,
            "name": row["venue"].name,
            "present": row["present"],
            "capacity": row["venue"].capacity,
            "is_key_place": row["venue"].is_key_place,
            "over_capacity": row["over_capacity"],
        }
        for row in selectors.occupancy(actor=request.user, key_places_only=key_places)
    ]


@router.get("venues/{venue_id}/occupancy", response={200: OccupancyOut, 404: ErrorOut}, tags=["venues"])
def venue_occupancy(request: HttpRequest, venue_id: int):
    venue = venue_get(actor=request.user, pk=venue_id)
    present = selectors.venue_present_count(venue=venue)
    return {
        "venue_id": venue.pk,
        "name": venue.name,
        "present": present,
        "capacity": venue.capacity,
        "is_key_place": venue.is_key_place,
        "over_capacity": bool(venue.capacity and present > venue.capacity),
    }
