from __future__ import annotations

import datetime as dt

from ninja import Schema

from epigrid.core.schemas import PersonMasked


class CaseOut(Schema):
    id: int
    person: PersonMasked
    classification: str
    created_at: dt.datetime


class CaseDetailOut(CaseOut):
    disease: str
    origin: str
    status: str
    outcome: str
    onset_date: dt.date | None
    first_positive_at: dt.datetime | None
    isolated_at: dt.datetime | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    traced_at: dt.datetime | None
    merged_into: int | None
    contacts: dict[str, int]
    notes: str


class CaseIn(Schema):
    person_id: int
    classification: str = "confirmed"
    onset_date: dt.date | None = None
    first_positive_at: dt.datetime | None = None
    isolated_at: dt.datetime | None = None
    notes: str = ""


class CasePatch(Schema):
    classification: str | None = None
    onset_date: dt.date | None = None
    first_positive_at: dt.datetime | None = None
    isolated_at: dt.datetime | None = None
    outcome: str | None = None
    status: str | None = None
    notes: str | None = None


class ContactOut(Schema):
    id: int
    person: PersonMasked
    tier: str
    venue: str | None
    overlap_minutes: int
    source: str  # the rule that made them a contact: venue | household | companion
    via: PersonMasked | None  # a secondary contact's close contact
    first_exposure_at: dt.datetime
    last_exposure_at: dt.datetime
    score: float
    status: str
    linked_case: int | None
    evidence: list[dict]


class TrajectoryIn(Schema):
    start: dt.datetime
    end: dt.datetime
    venue_id: int | None = None
    place: str = ""
    lat: float | None = None
    lng: float | None = None
    note: str = ""


class TrajectoryOut(Schema):
    id: int
    source: str
    venue_id: int | None
    place: str
    lat: float | None
    lng: float | None
    start: dt.datetime
    end: dt.datetime
    note: str


class TraceOut(Schema):
    close: int
    secondary: int
    companions: int
    added: int
    removed: int
    notified: int


class DispatchIn(Schema):
    quarantine: bool = True
    grid_tasks: bool = True
    contact_ids: list[int] | None = None


class CountOut(Schema):
    count: int


class MergeIn(Schema):
    other_case_id: int


class LinkIn(Schema):
    source_case_id: int
    note: str = ""


class ChainOut(Schema):
    id: int
    size: int
    generations: int
    active: bool
    first_at: dt.datetime
    last_at: dt.datetime
    case_ids: list[int]
    links: list[dict]
