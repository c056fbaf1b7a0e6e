"""Cameras and video consultations: ``GET /api/v1/cameras`` (the reader's area), ``GET /api/v1/cameras/{id}``,
``POST /api/v1/cameras`` (camera.manage), ``POST /api/v1/consultations`` (alarm.handle)."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from epigrid.command.models import Alarm, Camera, CameraKind
from epigrid.command.selectors import video as selectors
from epigrid.command.services import video as services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.schemas import ErrorOut
from epigrid.core.scope import scoped

router = Router(tags=["command"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class CameraOut(Schema):
    id: int
    name: str
    place: str
    lat: float
    lng: float
    kind: str
    stream_url: str
    grid: str
    grid_name: str
    is_active: bool
    player_url: str


class CameraIn(Schema):
    name: str = Field(max_length=100)
    place: str = Field("", max_length=200)
    lat: float
    lng: float
    kind: str = CameraKind.SNAPSHOT
    stream_url: str = Field(max_length=500)


class ConsultationIn(Schema):
    topic: str = Field(max_length=200)
    invitee_ids: list[int]
    alarm_id: int | None = None


class ConsultationOut(Schema):
    id: int
    url: str
    invited: list[int]


def camera_out(camera: Camera) -> dict:
    return {
        "id": camera.pk,
        "name": camera.name,
        "place": camera.place,
        "lat": camera.lat,
        "lng": camera.lng,
        "kind": camera.kind,
        "stream_url": camera.stream_url,
        "grid": camera.org_code,
        "grid_name": camera.grid.name if camera.grid_id else "",
        "is_active": camera.is_active,
        "player_url": reverse("command:camera_player", args=[camera.pk]),
    }


@router.get("cameras", response=list[CameraOut])
def camera_list(request: HttpRequest, grid: str = "", include_inactive: bool = False):
    rows = selectors.camera_list(actor=request.user, active_only=not include_inactive, grid_code=grid)
    return [camera_out(c) for c in rows[:2000]]


@router.get("cameras/{camera_id}", response={200: CameraOut, **ERRORS})
def camera_detail(request: HttpRequest, camera_id: int):
    return camera_out(selectors.camera_get(actor=request.user, pk=camera_id))


@router.post("cameras", response={201: CameraOut, **ERRORS})
def camera_create(request: HttpRequest, payload: CameraIn):
    camera = services.camera_create(
        actor=request.user,
        name=payload.name,
        place=payload.place,
        lat=payload.lat,
        lng=payload.lng,
        kind=payload.kind,
        stream_url=payload.stream_url,
    )
    return Status(201, camera_out(camera))


def _invitees(actor: User, ids: list[int]) -> list[User]:
    """The accounts asked for; an unknown id and an account out of reach get the same answer."""
    wanted = list(dict.fromkeys(ids))
    found = {u.pk: u for u in User.objects.filter(pk__in=wanted).select_related("org_unit")}
    bad = [pk for pk in wanted if pk not in found or not services.may_be_invited(actor, found[pk])]
    if bad:
        raise DomainError(
            _("These accounts cannot be invited (only staff of your jurisdiction): %(ids)s.")
            % {"ids": ", ".join(f"#{pk}" for pk in bad)},
            field="invitee_ids",
        )
    return [found[pk] for pk in wanted]


@router.post("consultations", response={201: ConsultationOut, **ERRORS})
def consultation_start(request: HttpRequest, payload: ConsultationIn):
    """Open a meeting room on the video-conferencing server and invite the accounts (grid leaders, or
    other staff of the caller's area) through their inbox. 400 when no server is configured."""
    if not has_perm(request.user, Perm.ALARM_HANDLE):
        raise Forbidden(_("Your role may not do this."))
    alarm = None
    if payload.alarm_id is not None:
        alarm = scoped(Alarm.objects.all(), request.user).filter(pk=payload.alarm_id).first()
        if alarm is None:
            raise Http404
    consultation = services.consultation_start(
        actor=request.user,
        topic=payload.topic,
        invitees=_invitees(request.user, payload.invitee_ids),
        alarm=alarm,
    )
    invited = sorted(consultation.invitees.values_list("pk", flat=True))
    return Status(201, {"id": consultation.pk, "url": consultation.url, "invited": invited})
