"""Pages for video: the camera registry (list, add, edit, take off the map), the player a camera marker on the
map opens (``/command/cameras/<id>/``), the synthetic picture of the demo cameras, and starting a video
consultation (pick grid leaders, a topic, start, open the meeting link).

Cameras are shown to every staff account whose area holds them; managing them needs ``camera.manage``;
consultations need ``alarm.handle``. Reads go through ``command.selectors.video`` (out of scope is 404),
writes through ``command.services.video``; a service's ``Forbidden`` becomes the 403 page, any other
``DomainError`` is shown beside its form with status 400.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.command.models import Alarm, Camera, CameraKind
from epigrid.command.selectors import video as selectors
from epigrid.command.services import video as services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped

SNAPSHOT_REFRESH_SECONDS = 3


# --- forms -----------------------------------------------------------------------------------------------


class CameraForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    place = forms.CharField(label=gettext_lazy("Place"), max_length=200, required=False)
    lat = forms.FloatField(label=gettext_lazy("Latitude"), min_value=-90, max_value=90)
    lng = forms.FloatField(label=gettext_lazy("Longitude"), min_value=-180, max_value=180)
    kind = forms.ChoiceField(label=gettext_lazy("Kind of picture"), choices=CameraKind.choices)
    stream_url = forms.CharField(
        label=gettext_lazy("Stream URL"),
        max_length=500,
        help_text=gettext_lazy(
            "The address the video platform gives for this camera: an HLS playlist (.m3u8), an MJPEG stream, "
            "an MP4/WebM stream or a snapshot image, starting with http:// or https://."
        ),
    )


class ConsultationForm(forms.Form):
    topic = forms.CharField(label=gettext_lazy("Topic"), max_length=200)
    invitees = forms.MultipleChoiceField(
        label=gettext_lazy("Invite"), widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(self, *args: Any, candidates: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invitees"].choices = [(str(u.pk), account_label(u)) for u in candidates]


def account_label(account: User) -> str:
    name = account.get_full_name() or account.username
    unit = account.org_unit.name if account.org_unit_id else ""
    return f"{name} ({account.username}) · {unit}"


def _attempt(form: forms.Form, action: Callable[[], Any]) -> Any:
    """Run a service call; a refusal is the 403 page, a domain error goes onto the form (its field if it
    has one) and None comes back."""
    try:
        return action()
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        field = err.field if err.field in form.fields else None
        form.add_error(field, err.message)
        return None


# --- cameras ---------------------------------------------------------------------------------------------


@never_cache
@staff_page()
@require_GET
def camera_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    can_manage = has_perm(user, Perm.CAMERA_MANAGE)
    show_inactive = can_manage and request.GET.get("inactive") == "1"
    cameras = selectors.camera_list(actor=user, active_only=not show_inactive)
    context = {
        "page": paginate(request, cameras),
        "query": query_without_page(request),
        "can_manage": can_manage,
        "show_inactive": show_inactive,
        "can_consult": has_perm(user, Perm.ALARM_HANDLE),
    }
    return render_page(request, "command/camera_list.html", context)


def _camera_form_page(
    request: HttpRequest, form: CameraForm, camera: Camera | None = None, status: int = 200
) -> HttpResponse:
    return render_page(request, "command/camera_form.html", {"form": form, "camera": camera}, status=status)


@never_cache
@staff_page(Perm.CAMERA_MANAGE)
@require_http_methods(["GET", "POST"])
def camera_new(request: HttpRequest) -> HttpResponse:
    form = CameraForm(request.POST or None, initial={"kind": CameraKind.SNAPSHOT})
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            camera = _attempt(form, lambda: services.camera_create(actor=request.user, **data))
            if camera is not None:
                messages.success(request, _("Camera “%(name)s” is added.") % {"name": camera.name})
                return redirect("command:camera_player", pk=camera.pk)
        return _camera_form_page(request, form, status=400)
    return _camera_form_page(request, form)


@never_cache
@staff_page(Perm.CAMERA_MANAGE)
@require_http_methods(["GET", "POST"])
def camera_edit(request: HttpRequest, pk: int) -> HttpResponse:
    camera = selectors.camera_get(actor=request.user, pk=pk)
    initial = {f: getattr(camera, f) for f in ("name", "place", "lat", "lng", "kind", "stream_url")}
    form = CameraForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            done = _attempt(
                form,
                lambda: services.camera_update(
                    actor=request.user, camera=camera, is_active=True, **form.cleaned_data
                ),
            )
            if done is not None:
                messages.success(request, _("Camera “%(name)s” is saved.") % {"name": done.name})
                return redirect("command:camera_player", pk=done.pk)
        return _camera_form_page(request, form, camera, status=400)
    return _camera_form_page(request, form, camera)


@staff_page(Perm.CAMERA_MANAGE)
@require_POST
def camera_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    camera = selectors.camera_get(actor=request.user, pk=pk)
    try:
        services.camera_deactivate(actor=request.user, camera=camera)
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    messages.success(request, _("Camera “%(name)s” is taken off the map.") % {"name": camera.name})
    return redirect("command:camera_list")


@never_cache
@staff_page()
@require_GET
def camera_player(request: HttpRequest, pk: int) -> HttpResponse:
    """The player a camera marker opens: HLS/MP4/WebM in ``<video>``, MJPEG in ``<img>``, a snapshot in an
    ``<img>`` refreshed every few seconds."""
    user: User = request.user
    camera = selectors.camera_get(actor=user, pk=pk)
    context = {
        "camera": camera,
        "is_demo": services.is_demo_camera(camera),
        "refresh_ms": SNAPSHOT_REFRESH_SECONDS * 1000,
        "can_manage": has_perm(user, Perm.CAMERA_MANAGE),
        "can_consult": has_perm(user, Perm.ALARM_HANDLE) and services.consultations_enabled(),
    }
    return render_page(request, "command/camera_player.html", context)


# --- the demo cameras' synthetic picture -----------------------------------------------------------------

_CJK_FONT = Path(__file__).resolve().parents[2] / "core" / "fonts" / "DroidSansFallbackFull.ttf"


@cache
def _fonts(size: int) -> tuple[Any, Any]:
    import reportlab
    from PIL import ImageFont

    latin = Path(reportlab.__file__).resolve().parent / "fonts" / "VeraBd.ttf"
    return ImageFont.truetype(str(_CJK_FONT), size), ImageFont.truetype(str(latin), int(size * 0.9))


def _draw_text(draw: Any, xy: tuple[float, float], text: str, size: int, fill: tuple[int, ...]) -> None:
    """Mixed Chinese and Latin text on one baseline (the CJK font has no Latin glyphs)."""
    cjk, latin = _fonts(size)
    x, y = xy
    baseline = y + cjk.getmetrics()[0]
    for ch in text:
        font = latin if ch.isascii() else cjk
        draw.text((x, baseline - font.getmetrics()[0]), ch, font=font, fill=fill)
        x += font.getlength(ch)


def demo_frame(camera: Camera, now: float | None = None) -> bytes:
    """A 640x360 JPEG: the camera's name, the local time and a shape that moves, labelled as a demo."""
    from PIL import Image, ImageDraw

    now = time.time() if now is None else now
    width, height = 640, 360
    image = Image.new("RGB", (width, height), (24, 38, 52))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 24):  # a street-ish backdrop: stripes and a horizon
        shade = 30 + (y * 40) // height
        draw.rectangle((0, y, width, y + 11), fill=(shade, shade + 12, shade + 24))
    draw.polygon([(0, height), (width * 0.42, height * 0.45), (width * 0.58, height * 0.45), (width, height)],
                 fill=(58, 64, 70))  # fmt: skip
    phase = (now % 12) / 12 * 2 * math.pi  # one lap every 12 s
    cx = width / 2 + math.cos(phase) * width * 0.32
    cy = height * 0.68 + math.sin(phase * 2) * height * 0.12
    draw.ellipse((cx - 22, cy - 22, cx + 22, cy + 22), fill=(240, 200, 40), outline=(20, 20, 20), width=3)
    draw.rectangle((0, 0, width, 44), fill=(0, 0, 0))
    _draw_text(draw, (12, 9), camera.name[:30], 22, (255, 255, 255))
    stamp = timezone.localtime(dt.datetime.fromtimestamp(now, tz=dt.UTC))
    _draw_text(draw, (width - 230, 11), stamp.strftime("%Y-%m-%d %H:%M:%S"), 18, (255, 255, 255))
    draw.rectangle((0, height - 40, width, height), fill=(176, 0, 32))
    _draw_text(
        draw, (12, height - 33), "演示摄像头 DEMO CAMERA - 合成画面 synthetic picture", 20, (255, 255, 255)
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


@staff_page()
@require_GET
def camera_demo_frame(request: HttpRequest, pk: int) -> HttpResponse:
    """The picture of a demo camera (one whose stream URL is this very address); 404 for every other."""
    camera = selectors.camera_get(actor=request.user, pk=pk)
    if not services.is_demo_camera(camera):
        raise Http404
    response = HttpResponse(demo_frame(camera), content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    return response


# --- video consultations ---------------------------------------------------------------------------------


def _alarm_from(request: HttpRequest) -> Alarm | None:
    raw = request.POST.get("alarm") or request.GET.get("alarm") or ""
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    alarm = scoped(Alarm.objects.all(), request.user).filter(pk=int(raw)).first()
    if alarm is None:
        raise Http404
    return alarm


@never_cache
@staff_page(Perm.ALARM_HANDLE)
@require_http_methods(["GET", "POST"])
def consultation_new(request: HttpRequest) -> HttpResponse:
    """Pick grid leaders and a topic, start: the meeting room opens on the video-conferencing server, the
    invitees find the link in their inbox, and the page offers the link to join."""
    user: User = request.user
    alarm = _alarm_from(request)
    enabled = services.consultations_enabled()
    candidates = selectors.grid_leaders_for(actor=user) if enabled else []
    initial = {"topic": _("Alarm: %(alarm)s") % {"alarm": alarm} if alarm else ""}
    form = ConsultationForm(request.POST or None, candidates=candidates, initial=initial) if enabled else None
    started = None
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("Video consultations are off."))
        status = 400
        if form.is_valid():
            chosen = {str(u.pk): u for u in candidates}
            invitees = [chosen[pk] for pk in form.cleaned_data["invitees"]]
            started = _attempt(
                form,
                lambda: services.consultation_start(
                    actor=user, topic=form.cleaned_data["topic"], invitees=invitees, alarm=alarm
                ),
            )
            if started is not None:
                # Redirect, so that reloading the page shows the room instead of opening another one.
                return redirect(f"{reverse('command:consultation_new')}?started={started.pk}")
    elif request.GET.get("started", "").isdigit():
        started = selectors.consultation_get(actor=user, pk=int(request.GET["started"]))
    context = {
        "form": form,
        "enabled": enabled,
        "alarm": alarm,
        "started": started,
        "recent": selectors.consultation_list(actor=user)[:10],
    }
    return render_page(request, "command/consultation_form.html", context, status=status)
