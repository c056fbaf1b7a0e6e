"""Quarantine API: sites, placement (one or many), line lists, reports (staff, and the person's own link),
transfer, home phase, visits, seals, release."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from epigrid.core import ratelimit
from epigrid.core.middleware import client_ip
from epigrid.core.models import OrgUnit
from epigrid.core.schemas import ErrorOut
from epigrid.quarantine import selectors, services
from epigrid.quarantine.models import Placement
from epigrid.quarantine.schemas import (
    PlacementBatchIn,
    PlacementBatchOut,
    PlacementOut,
    ReleaseOut,
    ReportIn,
    ReportOut,
    SealIn,
    SiteIn,
    SiteOut,
    TransferIn,
    VisitIn,
)

router = Router(tags=["quarantine"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
REPORTS_PER_LINK_PER_MINUTE = 20


def placement_out(p: Placement) -> dict:
    return {
        "id": p.pk,
        "person": p.person,
        "tier": p.tier,
        "status": p.status,
        "site": p.site.name,
        "site_kind": p.site.kind,
        "room": p.room.number if p.room else None,
        "start": p.start,
        "centralised_until": p.centralised_until,
        "end": p.end,
        "last_report_at": p.last_report_at,
        "last_temperature": p.last_temperature,
        "symptomatic_since": p.symptomatic_since,
        "next_test_due": p.next_test_due,
        "tests_outstanding": p.tests_outstanding,
    }


@router.get("quarantine/sites", response=list[SiteOut])
def site_list(request: HttpRequest):
    """Centralised sites in scope with their rooms by status (the occupancy board)."""
    return [
        {
            "id": o.site.pk,
            "name": o.site.name,
            "kind": o.site.kind,
            "address": o.site.address,
            "rooms": o.rooms,
            "beds": o.beds,
            "free": o.free,
            "occupied": o.occupied,
            "cleaning": o.cleaning,
            "out_of_service": o.out_of_service,
            "people": o.people,
        }
        for o in selectors.site_occupancy(actor=request.user)
    ]


@router.post("quarantine/sites", response={201: dict, **ERRORS})
def site_create(request: HttpRequest, payload: SiteIn):
    grid = OrgUnit.objects.filter(code=payload.grid).first() if payload.grid else None
    site = services.site_create(
        actor=request.user,
        name=payload.name,
        grid=grid,
        address=payload.address,
        lat=payload.lat,
        lng=payload.lng,
        phone=payload.phone,
        rooms=[(r.number, r.floor, r.beds) for r in payload.rooms],
    )
    return Status(201, {"id": site.pk, "rooms": site.rooms.count()})


@router.post("quarantine/placements", response={200: PlacementBatchOut, **ERRORS})
def placement_create(request: HttpRequest, payload: PlacementBatchIn):
    """Place people: close contacts into centralised rooms (households together), secondary contacts at home.
    Each person's outcome is reported; nobody is placed twice."""
    site = selectors.site_get(actor=request.user, pk=payload.site_id) if payload.site_id else None
    result = services.placement_create_many(
        actor=request.user,
        requests=[services.PlacementRequest(p.person_id, p.tier, p.case_id) for p in payload.people],
        site=site,
    )
    placed = Placement.objects.filter(pk__in=[p.pk for p in result.placed]).select_related(
        "person", "site", "room"
    )
    return {
        "placed": [placement_out(p) for p in placed],
        "already": result.already,
        "no_room": result.no_room,
        "errors": [{"person_id": pk, "detail": msg} for pk, msg in result.errors],
    }


@router.get("quarantine/line-lists/{name}", response={200: list[PlacementOut], **ERRORS})
def line_list(request: HttpRequest, name: str, site_id: int | None = None, limit: int = 500, offset: int = 0):
    """symptomatic | non_reporting | test_due | test_overdue | release_due | released | all."""
    rows = selectors.line_list(actor=request.user, name=name, site_id=site_id)[
        offset : offset + min(limit, 5000)
    ]
    return [placement_out(p) for p in rows]


@router.get("quarantine/placements/{placement_id}", response={200: PlacementOut, **ERRORS})
def placement_detail(request: HttpRequest, placement_id: int):
    return placement_out(selectors.placement_get(actor=request.user, pk=placement_id))


@router.post(
    "quarantine/placements/{placement_id}/reports", response={200: ReportOut, 201: ReportOut, **ERRORS}
)
def report_by_staff(request: HttpRequest, placement_id: int, payload: ReportIn):
    placement = selectors.placement_get(actor=request.user, pk=placement_id)
    return _report(request.user, placement, payload)


@router.post(
    "quarantine/report/{token}", auth=None, response={200: ReportOut, 201: ReportOut, 429: ErrorOut, **ERRORS}
)
def report_by_link(request: HttpRequest, token: str, payload: ReportIn):
    """The person's own report through their link (no account); rate-limited per link and per address."""
    placement = services.placement_from_token(token)
    if not (
        ratelimit.hit("q-report-link", str(placement.pk), limit=REPORTS_PER_LINK_PER_MINUTE)
        and ratelimit.hit("q-report-ip", client_ip(request), limit=120)
    ):
        return Status(429, {"detail": _("Too many reports. Please wait a minute and try again.")})
    return _report(None, placement, payload)


def _report(actor, placement: Placement, payload: ReportIn):
    report, created = services.report_submit(
        actor=actor,
        placement=placement,
        temperature=payload.temperature,
        symptoms=payload.symptoms,
        client_id=payload.client_id,
        reported_at=payload.reported_at,
        note=payload.note,
    )
    body = {
        "id": report.pk,
        "reported_at": report.reported_at,
        "temperature": report.temperature,
        "symptoms": report.symptoms,
        "source": report.source,
        "created": created,
    }
    return Status(201 if created else 200, body)


@router.post("quarantine/placements/{placement_id}/transfer", response={200: PlacementOut, **ERRORS})
def transfer(request: HttpRequest, placement_id: int, payload: TransferIn):
    placement = selectors.placement_get(actor=request.user, pk=placement_id)
    room = selectors.room_get(actor=request.user, pk=payload.room_id)
    return placement_out(services.placement_transfer(actor=request.user, placement=placement, room=room))


@router.post("quarantine/placements/{placement_id}/home", response={200: PlacementOut, **ERRORS})
def move_home(request: HttpRequest, placement_id: int):
    placement = selectors.placement_get(actor=request.user, pk=placement_id)
    return placement_out(services.placement_move_home(actor=request.user, placement=placement))


@router.post("quarantine/placements/{placement_id}/release", response={200: ReleaseOut, **ERRORS})
def release(request: HttpRequest, placement_id: int):
    """Release, or a 400 naming every reason why not (days not served, tests missing or positive)."""
    placement = selectors.placement_get(actor=request.user, pk=placement_id)
    done = services.placement_release(actor=request.user, placement=placement)
    return {"id": done.pk, "status": done.status, "released_at": done.released_at}


@router.post("quarantine/placements/{placement_id}/visits", response={201: dict, **ERRORS})
def visit(request: HttpRequest, placement_id: int, payload: VisitIn):
    placement = selectors.placement_get(actor=request.user, pk=placement_id)
    made = services.visit_record(
        actor=request.user, placement=placement, result=payload.result, team=payload.team, note=payload.note
    )
    return Status(201, {"id": made.pk, "result": made.result})


@router.post("quarantine/placements/{placement_id}/seals", response={201: dict, **ERRORS})
def seal(
    request: HttpRequest,
    placement_id: int,
    payload: Form[SealIn],
    photo: UploadedFile = File(None),  # noqa: B008 - ninja's marker for an optional file part
):
    """A door seal with its number and (optional) photo, as multipart form data."""
    placement = selectors.placement_get(actor=request.user, pk=placement_id)
    made = services.seal_record(
        actor=request.user, placement=placement, number=payload.number, photo=photo.read() if photo else None
    )
    return Status(201, {"id": made.pk, "number": made.number, "photo": made.photo is not None})
