from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema

from epigrid.core.schemas import PersonMasked


class RoomIn(Schema):
    number: str
    floor: int = 1
    beds: int = 1


class SiteIn(Schema):
    name: str
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    phone: str = ""
    grid: str | None = None  # org unit code
    rooms: list[RoomIn] = []


class SiteOut(Schema):
    id: int
    name: str
    kind: str
    address: str
    rooms: int
    beds: int
    free: int
    occupied: int
    cleaning: int
    out_of_service: int
    people: int


class PlacementPersonIn(Schema):
    person_id: int
    tier: str = "close"
    case_id: int | None = None


class PlacementBatchIn(Schema):
    people: list[PlacementPersonIn]
    site_id: int | None = None


class PlacementOut(Schema):
    id: int
    person: PersonMasked | None
    tier: str
    status: str
    site: str
    site_kind: str
    room: str | None
    start: dt.datetime
    centralised_until: dt.datetime | None
    end: dt.datetime
    last_report_at: dt.datetime | None
    last_temperature: Decimal | None
    symptomatic_since: dt.datetime | None
    next_test_due: dt.date | None
    tests_outstanding: int


class PlacementBatchOut(Schema):
    placed: list[PlacementOut]
    already: list[int]
    no_room: list[int]
    errors: list[dict]


class ReportIn(Schema):
    client_id: str
    temperature: str | float
    symptoms: list[str] = []
    reported_at: dt.datetime | None = None
    note: str = ""


class ReportOut(Schema):
    id: int
    reported_at: dt.datetime
    temperature: Decimal
    symptoms: list[str]
    source: str
    created: bool


class ReleaseOut(Schema):
    id: int
    status: str
    released_at: dt.datetime | None


class TransferIn(Schema):
    room_id: int


class VisitIn(Schema):
    result: str
    team: str = ""
    note: str = ""


class SealIn(Schema):
    number: str
