from __future__ import annotations

import datetime as dt

from ninja import Schema

from epigrid.checkins.schemas import PersonIn


class TubeIn(Schema):
    barcode: str
    pool_size: int
    client_id: str | None = None  # the station's id for this registration: a replay returns the tube


class TubeOut(Schema):
    barcode: str
    pool_size: int
    status: str
    count: int
    result: str


class SpecimenIn(Schema):
    client_id: str
    person: PersonIn | None = None
    code: str | None = None  # a resident's personal health-code QR
    method: str = "typed"


class SpecimenOut(Schema):
    id: int
    tube: TubeOut
    person: dict
    sealed: bool


class ResultRowIn(Schema):
    tube: str
    result: str
    tested_at: dt.datetime | str | None = None


class ResultRowOut(Schema):
    row: int
    tube: str
    ok: bool
    outcome: str
    detail: str
    notes: list[str]


class TubesIn(Schema):
    tubes: list[str]
    reason: str = ""  # for a rejection


class PendingOut(Schema):
    tube: str
    result: str
    tested_at: dt.datetime | None
    entered_by: str
    entered_at: dt.datetime | None
    mine: bool  # entered by the caller: someone else must confirm it


class MyResultOut(Schema):
    sampled_at: dt.datetime
    result: str
    tube_result: str
    pool_size: int
    recall_due_at: dt.datetime | None
