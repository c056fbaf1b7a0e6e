"""API schemas of medical waste. People appear by the name they sign with only."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class BagIn(Schema):
    party_id: int  # the producer the account labels for
    category: str
    weight_g: int
    sealed: bool = True
    handler_name: str | None = None
    client_id: str | None = Field(default=None, max_length=64)
    labelled_at: dt.datetime | None = None  # when a phone labelled it offline


class RecordOut(Schema):
    stage: str
    at: dt.datetime
    weight_g: int
    from_party: str | None
    to_party: str
    given_by: str
    taken_by: str
    trip: str | None
    anomaly: str


class BagOut(Schema):
    id: int
    code: str
    category: str
    weight_g: int
    sealed: bool
    producer_id: int
    producer: str
    handler_name: str
    labelled_at: dt.datetime
    stage: str
    stage_at: dt.datetime
    holder_id: int
    holder: str
    trip: str | None
    label_url: str
    chain: list[RecordOut]


class HandoverIn(Schema):
    from_party_id: int
    to_party_id: int
    stage: str
    bags: list[str]  # label codes (typed or scanned)


class AcceptIn(Schema):
    weights: dict[str, int] | None = None  # label code -> grams measured by the receiver
    trip_id: int | None = None
    client_id: str | None = Field(default=None, max_length=64)
    happened_at: dt.datetime | None = None


class HandoverOut(Schema):
    id: int
    code: str
    stage: str
    status: str
    from_party_id: int
    to_party_id: int
    trip: str | None
    bags: list[str]
    offered_at: dt.datetime
    accepted_at: dt.datetime | None


class ReplayItem(Schema):
    client_id: str = Field(max_length=64)
    bag_code: str
    stage: str
    happened_at: dt.datetime
    weight_g: int | None = None
    party_id: int | None = None
    trip_id: int | None = None
    given_by: str = ""


class ReplayIn(Schema):
    items: list[ReplayItem] = Field(max_length=500)


class ReplayResult(Schema):
    client_id: str
    ok: bool
    created: bool = False
    record_id: int | None = None
    stage: str | None = None
    anomaly: str = ""
    detail: str = ""


class ReplayOut(Schema):
    kept: int
    refused: int
    results: list[ReplayResult]
