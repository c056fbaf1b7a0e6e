"""Video in the command center: the camera registry and video consultations.

**Cameras.** A camera is a name, a place, a point on the map and the URL its picture comes from (the video
platform's HLS or MJPEG stream, a file the browser plays, or an HTTP snapshot image); EpiGrid stores the
address and shows it in a player, it never relays video. The point decides the camera's grid and therefore
who sees it: it must lie in a grid of the actor's jurisdiction. Stream URLs are ``http(s)://`` addresses or
paths on this site (a video gateway behind the same host, or the synthetic demo picture); nothing else, so a
stored URL can never run script in the player page.

**Consultations.** One click makes a meeting room on the configured video-conferencing server
(``settings.VIDEO_MEETING_URL``, a template with ``{room}``, e.g. a self-hosted Jitsi
``https://meet.example.org/{room}``) and invites the chosen grid leaders (or other staff of the actor's area)
through the notification service: each gets a notice in their inbox with the meeting link, and their live
stream tells them at once. The room name is random (``secrets.token_urlsafe``): knowing one room does not
lead to another. Without a configured server consultations are off and starting one says so.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.command.models import Alarm, Camera, CameraKind, Consultation
from epigrid.core import events, geo, notices
from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code

MAX_INVITEES = 50
CONSULTATION_NOTICE = "consultation"


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def _actor(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


# --- cameras ---------------------------------------------------------------------------------------------


def clean_stream_url(url: str) -> str:
    """An ``http(s)://host/...`` address or a path on this site; raises DomainError otherwise."""
    url = (url or "").strip()
    if not url:
        raise DomainError(_("Give the address of the camera's picture."), field="stream_url")
    if len(url) > 500:
        raise DomainError(_("The address is longer than 500 characters."), field="stream_url")
    if any(ch.isspace() for ch in url) or "\\" in url:
        raise DomainError(_("The address contains spaces or backslashes."), field="stream_url")
    if url.startswith("/") and not url.startswith("//"):
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DomainError(
            _("The address must start with http:// or https:// (or be a path on this site)."),
            field="stream_url",
        )
    return url


def _clean_point(lat: object, lng: object) -> tuple[float, float]:
    try:
        lat_f, lng_f = float(lat), float(lng)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DomainError(_("Latitude and longitude are numbers."), field="lat") from None
    if not (math.isfinite(lat_f) and -90 <= lat_f <= 90):
        raise DomainError(_("The latitude lies between -90 and 90."), field="lat")
    if not (math.isfinite(lng_f) and -180 <= lng_f <= 180):
        raise DomainError(_("The longitude lies between -180 and 180."), field="lng")
    return lat_f, lng_f


def _grid_at(actor: User | None, lat: float, lng: float) -> OrgUnit:
    """The grid holding the point, which must be inside the actor's jurisdiction."""
    grid = geo.locate_grid(lat, lng)
    if grid is None:
        raise DomainError(_("This point lies outside every grid of the district."), field="lat")
    if actor is not None and not in_scope_code(actor, grid.code):
        raise DomainError(_("This point lies outside your jurisdiction."), field="lat")
    return grid


def _clean_text(value: str, *, field: str, limit: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_("This field is required."), field=field)
    if len(value) > limit:
        raise DomainError(_("At most %(n)d characters.") % {"n": limit}, field=field)
    return value


def _clean_kind(kind: str) -> str:
    if kind not in CameraKind.values:
        raise DomainError(_("Unknown kind of camera stream."), field="kind")
    return kind


def demo_stream_url(pk: int) -> str:
    """The address of the synthetic picture a demo camera shows (``views.video.camera_demo_frame``)."""
    from django.urls import reverse

    return reverse("command:camera_demo_frame", args=[pk])


def is_demo_camera(camera: Camera) -> bool:
    """A demo camera is one whose stream URL is its own synthetic picture; nothing else is drawn."""
    return camera.pk is not None and camera.stream_url == demo_stream_url(camera.pk)


def _publish_camera(camera: Camera, action: str) -> None:
    events.publish(
        "camera.changed",
        payload={
            "camera_id": camera.pk,
            "action": action,
            "kind": camera.kind,
            "lat": camera.lat,
            "lng": camera.lng,
            "state": "active" if camera.is_active else "inactive",
        },
        org_code=camera.org_code,
    )


def camera_create(
    *,
    actor: User | None,
    name: str,
    lat: float,
    lng: float,
    stream_url: str,
    kind: str = CameraKind.SNAPSHOT,
    place: str = "",
) -> Camera:
    """Register a camera at (lat, lng); its grid (and so who sees it) follows from the point."""
    _require(actor, Perm.CAMERA_MANAGE)
    name = _clean_text(name, field="name", limit=100, required=True)
    place = _clean_text(place, field="place", limit=200, required=False)
    kind = _clean_kind(kind)
    stream_url = clean_stream_url(stream_url)
    lat, lng = _clean_point(lat, lng)
    grid = _grid_at(actor, lat, lng)
    with transaction.atomic():
        camera = Camera.objects.create(
            name=name,
            place=place,
            lat=lat,
            lng=lng,
            kind=kind,
            stream_url=stream_url,
            grid=grid,
            org_code=grid.code,
        )
        audit_record(actor=_actor(actor), action="camera.create", obj=camera, detail={"kind": kind})
        _publish_camera(camera, "created")
    return camera


def _may_manage(actor: User | None, camera: Camera) -> None:
    _require(actor, Perm.CAMERA_MANAGE)
    if actor is not None and not in_scope_code(actor, camera.org_code):
        raise Forbidden(_("This camera is outside your jurisdiction."))


def camera_update(
    *,
    actor: User | None,
    camera: Camera,
    name: str | None = None,
    place: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    kind: str | None = None,
    stream_url: str | None = None,
    is_active: bool | None = None,
) -> Camera:
    """Change what is given (None leaves a field as it is); moving the camera re-derives its grid."""
    _may_manage(actor, camera)
    changed: dict[str, object] = {}
    if name is not None:
        changed["name"] = _clean_text(name, field="name", limit=100, required=True)
    if place is not None:
        changed["place"] = _clean_text(place, field="place", limit=200, required=False)
    if kind is not None:
        changed["kind"] = _clean_kind(kind)
    if stream_url is not None:
        changed["stream_url"] = clean_stream_url(stream_url)
    if is_active is not None:
        changed["is_active"] = bool(is_active)
    if lat is not None or lng is not None:
        new_lat, new_lng = _clean_point(
            camera.lat if lat is None else lat, camera.lng if lng is None else lng
        )
        grid = _grid_at(actor, new_lat, new_lng)
        changed.update(lat=new_lat, lng=new_lng, grid=grid, org_code=grid.code)
    changed = {key: value for key, value in changed.items() if getattr(camera, key) != value}
    if not changed:
        return camera
    with transaction.atomic():
        for key, value in changed.items():
            setattr(camera, key, value)
        camera.save(update_fields=list(changed))
        audit_record(
            actor=_actor(actor),
            action="camera.update",
            obj=camera,
            detail={"fields": sorted(k for k in changed if k != "grid")},
        )
        _publish_camera(camera, "updated")
    return camera


def camera_deactivate(*, actor: User | None, camera: Camera) -> Camera:
    """Take a camera off the map and the lists (kept for the record; ``camera_update`` can bring it back)."""
    _may_manage(actor, camera)
    if not camera.is_active:
        return camera
    with transaction.atomic():
        camera.is_active = False
        camera.save(update_fields=["is_active"])
        audit_record(actor=_actor(actor), action="camera.deactivate", obj=camera)
        _publish_camera(camera, "deactivated")
    return camera


# --- video consultations ---------------------------------------------------------------------------------


def consultations_enabled() -> bool:
    return bool((settings.VIDEO_MEETING_URL or "").strip())


def meeting_url(room: str) -> str:
    """The meeting room's address on the configured server; DomainError when none is configured."""
    template = (settings.VIDEO_MEETING_URL or "").strip()
    if not template:
        raise DomainError(
            _(
                "Video consultations are off: no video-conferencing server is configured "
                "(EPIGRID_VIDEO_MEETING_URL, e.g. https://meet.example.org/{room})."
            )
        )
    if "{room}" not in template:
        raise DomainError(
            _("The video-conferencing address (EPIGRID_VIDEO_MEETING_URL) has no {room} in it.")
        )
    try:
        url = template.format(room=room)
    except (KeyError, IndexError, ValueError):
        raise DomainError(
            _("The video-conferencing address (EPIGRID_VIDEO_MEETING_URL) is not a valid template.")
        ) from None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DomainError(
            _("The video-conferencing address (EPIGRID_VIDEO_MEETING_URL) must be an http(s) address.")
        )
    return url


def may_be_invited(actor: User | None, user: User) -> bool:
    """Grid leaders and other staff accounts, active, inside the actor's jurisdiction."""
    if not user.is_active or not is_staff_role(user.role) or not user.org_unit_id:
        return False
    return actor is None or in_scope_code(actor, user.org_code)


def consultation_start(
    *,
    actor: User | None,
    topic: str,
    invitees: Iterable[User],
    alarm: Alarm | None = None,
) -> Consultation:
    """Open a meeting room and invite ``invitees`` (grid leaders, or other staff of the actor's area): each
    gets an inbox notice with the link. Returns the consultation; its ``url`` is the room."""
    _require(actor, Perm.ALARM_HANDLE)
    topic = _clean_text(topic, field="topic", limit=200, required=True)
    people: list[User] = []
    for user in invitees:
        if user.pk not in {p.pk for p in people} and (actor is None or user.pk != actor.pk):
            people.append(user)
    if not people:
        raise DomainError(_("Choose whom to invite."), field="invitees")
    if len(people) > MAX_INVITEES:
        raise DomainError(
            _("At most %(n)d people in one consultation.") % {"n": MAX_INVITEES}, field="invitees"
        )
    refused = [u.username for u in people if not may_be_invited(actor, u)]
    if refused:
        raise DomainError(
            _("These accounts cannot be invited (only staff of your jurisdiction): %(names)s.")
            % {"names": ", ".join(refused)},
            field="invitees",
        )
    if alarm is not None and actor is not None and not in_scope_code(actor, alarm.org_code):
        raise DomainError(_("This alarm is outside your jurisdiction."), field="alarm")
    room = f"epigrid-{secrets.token_urlsafe(18)}"
    url = meeting_url(room)
    org_code = (actor.org_code if actor is not None else "") or district_code()
    started_by = _actor(actor)
    who = (started_by.get_full_name() or started_by.username) if started_by else _("The command center")
    with transaction.atomic():
        consultation = Consultation.objects.create(
            topic=topic,
            room=room,
            url=url,
            alarm=alarm,
            org_code=org_code,
            started_by=started_by,
            started_at=timezone.now(),
        )
        consultation.invitees.set(people)
        # Each invitee reads it in their own language (core.notice_templates).
        notices.notice_send_templated(
            actor=started_by,
            users=people,
            kind=CONSULTATION_NOTICE,
            params={"topic": topic, "who": who, "url": url},
            url=url,
        )
        audit_record(
            actor=started_by,
            action="consultation.start",
            obj=consultation,
            detail={"invitees": [u.username for u in people], "alarm_id": alarm.pk if alarm else None},
        )
        events.publish(
            "consultation.started",
            payload={
                "consultation_id": consultation.pk,
                "alarm_id": alarm.pk if alarm else None,
                "count": len(people),
            },
            org_code=org_code,
        )
    return consultation
