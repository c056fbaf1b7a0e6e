"""API schemas of vaccination. People appear by id and masked name only."""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Schema


class VaccineOut(Schema):
    id: int
    code: str
    name: str
    manufacturer: str
    kind: str
    disease: str  # the disease profile's code
    doses_in_series: int
    min_interval_days: int
    booster_interval_days: int | None
    max_boosters: int
    booster_min_age_years: int
    min_age_years: int
    max_age_years: int | None


class SiteOut(Schema):
    id: int
    name: str
    address: str
    lat: float | None
    lng: float | None
    vaccine_ids: list[int]


class SlotOut(Schema):
    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    free: int


class EligibilityOut(Schema):
    eligible: bool
    dose_number: int
    kind: str  # series | booster
    reasons: list[str]  # why not, for the person to read
    earliest_on: dt.date | None


class BookingIn(Schema):
    slot_id: int
    vaccine_id: int
    person_id: int | None = None  # staff booking for someone; residents book for themselves
    client_id: uuid.UUID | None = None  # the client's id of this submission: a replay returns the booking


class BookingOut(Schema):
    id: int
    code: str
    status: str
    person_id: int
    person_name: str  # masked
    slot_id: int
    site_id: int
    site_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    vaccine_id: int
    vaccine_name: str
    dose_number: int
    cancel_reason: str


class RescheduleIn(Schema):
    slot_id: int


class CancelIn(Schema):
    reason: str = ""


class DoseIn(Schema):
    person_id: int
    vaccine_id: int
    batch_id: int
    site_id: int
    booking_code: str | None = None
    given_at: dt.datetime | None = None  # now when omitted
    override_reason: str = ""  # a clinical reason to give a dose the rules would refuse (audited)


class DoseOut(Schema):
    id: int
    person_id: int
    person_name: str  # masked
    vaccine_id: int
    vaccine_name: str
    dose_number: int
    kind: str  # series | booster
    given_at: dt.datetime
    given_on: dt.date
    lot_number: str
    site_id: int | None
    place: str
    source: str  # recorded | self_report | import
    booking_id: int | None


class AefiIn(Schema):
    onset_at: dt.datetime
    symptoms: str
    severity: str  # mild | moderate | severe
    serious: bool = False
    outcome: str = "unknown"


class AefiOut(Schema):
    id: int
    dose_id: int
    person_id: int
    onset_at: dt.datetime
    symptoms: str
    severity: str
    serious: bool
    outcome: str
    reported_at: dt.datetime


class SelfReportIn(Schema):
    """The form fields of a self-report (multipart, with the ``certificate`` photo as a file part)."""

    vaccine_id: int
    given_on: dt.date
    place: str
    lot_number: str = ""
    client_id: uuid.UUID | None = None
    person_id: int | None = None  # staff entering a report for someone; residents report their own


class SelfReportOut(Schema):
    id: int
    person_id: int
    person_name: str  # masked
    vaccine_id: int
    vaccine_name: str
    given_on: dt.date
    place: str
    lot_number: str
    status: str  # pending | verified | rejected
    reason: str  # why it was rejected
    submitted_at: dt.datetime
    reviewed_at: dt.datetime | None
    dose_id: int | None


class RejectIn(Schema):
    reason: str
