from __future__ import annotations

import datetime as dt

from ninja import Schema

from epigrid.core.identity import IdType


class PersonIn(Schema):
    id_number: str
    name: str
    phone: str = ""
    id_type: str = IdType.RESIDENT


class CheckinIn(Schema):
    venue_code: str
    # A string, not a UUID, so that a malformed one gets the same clear 400 as every other bad field.
    client_id: str
    person: PersonIn | None = None
    scanned_at: dt.datetime | None = None


class VenueRef(Schema):
    id: int
    name: str


class ColourOut(Schema):
    colour: str


class CheckinOut(Schema):
    id: int
    venue: VenueRef
    health_code: ColourOut
    scanned_at: dt.datetime
    leave_at: dt.datetime
    method: str


class CheckoutIn(Schema):
    at: dt.datetime | None = None


class OccupancyOut(Schema):
    venue_id: int
    name: str
    present: int
    capacity: int | None
    is_key_place: bool
    over_capacity: bool
