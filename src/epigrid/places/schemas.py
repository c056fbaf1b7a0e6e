from __future__ import annotations

from ninja import Schema

from epigrid.places.models import Venue


class VenueOut(Schema):
    id: int
    name: str
    type: str
    grid: str | None
    address: str
    status: str
    is_key_place: bool
    capacity: int | None
    lat: float
    lng: float

    @staticmethod
    def resolve_grid(obj: Venue) -> str | None:
        return obj.org_code if obj.grid_id else None


class VenueCodeOut(Schema):
    code: str
    url: str
    version: int


class VenueApplyIn(Schema):
    name: str
    type: str
    address: str
    lat: float
    lng: float
    capacity: int | None = None
    contact_name: str = ""


class VenueDecisionIn(Schema):
    is_key_place: bool | None = None
    note: str = ""
