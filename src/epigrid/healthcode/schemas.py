from __future__ import annotations

import datetime as dt

from ninja import Schema


class MyHealthCodeOut(Schema):
    colour: str
    reason: str
    since: dt.datetime | None
    qr: str
    qr_expires_at: dt.datetime
    to_green: str
    rule: str


class VerifyIn(Schema):
    qr: str


class VerifyOut(Schema):
    valid: bool
    colour: str | None
    name_masked: str | None
    detail: str
    reason: str


class TravelIn(Schema):
    from_region_code: str
    from_place: str = ""
    arrived_at: dt.datetime
    client_id: str


class AppealIn(Schema):
    note: str


class AppealOut(Schema):
    id: int
    colour: str
    status: str
    note: str
    created_at: dt.datetime


class RiskAreaOut(Schema):
    id: int
    name: str
    kind: str
    level: str
    region_code: str
    org_unit: str | None
    effective_from: dt.datetime
    level_since: dt.datetime


class HealthCodeOut(Schema):
    person_id: int
    colour: str
    reason: str
    rule: str
    since: dt.datetime


class OverrideIn(Schema):
    colour: str
    reason: str
    expires_at: dt.datetime
