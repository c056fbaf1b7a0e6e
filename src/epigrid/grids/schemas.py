from __future__ import annotations

import datetime as dt

from ninja import Schema


class TaskOut(Schema):
    id: int
    type: str
    title: str
    subject: str
    person: dict | None
    grid: str
    priority: int
    due_at: dt.datetime
    state: str
    version: int
    escalation: int
    lat: float | None
    lng: float | None
    params: dict
    result: dict
    distance_m: float | None = None


class ActIn(Schema):
    result: dict | None = None
    reason: str = ""
    photo_base64: str | None = None
    lat: float | None = None
    lng: float | None = None
    at: dt.datetime | None = None
    base_version: int | None = None


class SyncItemIn(ActIn):
    client_id: str
    task_id: int
    action: str


class SyncOut(Schema):
    client_id: str
    task_id: int
    outcome: str
    message: str
    state: str
    version: int


class TaskIn(Schema):
    type: str
    title: str
    person_id: int | None = None
    venue_id: int | None = None
    grid: str | None = None
    subject_text: str = ""
    due_at: dt.datetime | None = None
    priority: int | None = None
    client_id: str  # the dispatcher's id for this request: a retried click makes one task


class InstructionIn(Schema):
    grids: list[str]
    text: str
    due_at: dt.datetime | None = None


class EmergencyIn(Schema):
    kind: str
    place: str
    description: str
    lat: float | None = None
    lng: float | None = None
    photo_base64: str | None = None


class EmergencyOut(Schema):
    id: int
    kind: str
    place: str
    status: str
    grid: str | None
    task_id: int | None
    created_at: dt.datetime
