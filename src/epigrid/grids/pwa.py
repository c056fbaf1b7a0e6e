"""The grid worker's phone app (an installable PWA): the page, its web app manifest, its service worker and
its icons.

The page is a thin shell over the JSON API (``/api/v1/grid/...``), drawn by ``static/grids/app.js``: the
task list, the map, the forms (from ``GET grid/task-types``) and a queue of changes in IndexedDB, each with
its client UUID and the version the worker saw, sent through ``POST grid/sync`` when the phone is online.

The service worker is served from ``/grid/app/sw.js`` so that its scope is the app (``/grid/app/``) without a
``Service-Worker-Allowed`` header; it still sees every request the app's page makes (static files, the API).
Its cache name carries a hash of the shell's files, so a deploy with new code replaces the old cache.

Manifest, icons and worker script hold nothing personal and are public: browsers fetch manifests without
cookies.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core import selectors as core_selectors
from epigrid.core.htmx import staff_page
from epigrid.core.models import OrgLevel
from epigrid.core.roles import Perm
from epigrid.grids.models import Priority, TaskState, TaskType

ICON_SIZES = (192, 512)
THEME = "#0b6e99"
BACKGROUND = "#f6f7f9"
POLL_SECONDS = 60  # new urgent tasks: until the command center's event stream exists, the app polls
# The app's own files, cached by the service worker when it installs (the page itself is cached apart, and
# only when it answered 200: a logged-out visit must not cache the login page as the app).
SHELL_STATIC = (
    "grids/app.js",
    "grids/app.css",
    "epigrid/epigrid.css",
    "vendor/leaflet-1.9.4/leaflet.js",
    "vendor/leaflet-1.9.4/leaflet.css",
)


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@functools.cache
def icon_png(size: int, maskable: bool = False) -> bytes:
    """A 3x3 grid of cells, one of them marked (a task in a grid), drawn by Pillow: no font, no network.
    The maskable variant keeps the drawing inside the central 80 % that every mask shape leaves visible."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), _rgb(BACKGROUND) if not maskable else _rgb(THEME))
    draw = ImageDraw.Draw(image)
    if not maskable:
        draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=_rgb(THEME))
    inset = size * (0.22 if maskable else 0.16)
    cell = (size - 2 * inset) / 3
    gap = cell * 0.12
    for row in range(3):
        for col in range(3):
            x0, y0 = inset + col * cell + gap, inset + row * cell + gap
            marked = (row, col) == (1, 1)
            draw.rounded_rectangle(
                (x0, y0, x0 + cell - 2 * gap, y0 + cell - 2 * gap),
                radius=max(1, int(cell * 0.14)),
                fill=(255, 163, 26) if marked else (255, 255, 255),
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@functools.cache
def shell_version() -> str:
    """A hash of the shell's files and the worker's template: the service worker's cache name changes with
    the code (a worker byte-for-byte unchanged keeps its cache)."""
    digest = hashlib.sha256()
    template = Path(__file__).parent / "templates" / "grids" / "sw.js"
    paths = [str(template), *(finders.find(name) or "" for name in SHELL_STATIC)]
    for path in paths:
        if path and Path(path).is_file():
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]


def _icons() -> list[dict[str, str]]:
    icons = []
    for size in ICON_SIZES:
        for purpose in ("any", "maskable"):
            icons.append(
                {
                    "src": reverse("grids:icon", args=[purpose, size]),
                    "sizes": f"{size}x{size}",
                    "type": "image/png",
                    "purpose": purpose,
                }
            )
    return icons


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    scope = reverse("grids:app")
    body = {
        "name": _("EpiGrid grid tasks"),
        "short_name": _("Grid tasks"),
        "description": _("Today's grid tasks, their forms and evidence; works offline."),
        "lang": request.LANGUAGE_CODE,
        "start_url": scope,
        "scope": scope,
        "id": scope,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": BACKGROUND,
        "theme_color": THEME,
        "icons": _icons(),
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def icon(request: HttpRequest, purpose: str, size: int) -> HttpResponse:
    if size not in ICON_SIZES or purpose not in ("any", "maskable"):
        raise Http404
    response = HttpResponse(icon_png(size, purpose == "maskable"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    scope = reverse("grids:app")
    config = {
        "version": shell_version(),
        "scope": scope,
        "page": scope,
        "shell": [
            *(static(name) for name in SHELL_STATIC),
            reverse("grids:manifest"),
            *(icon["src"] for icon in _icons()),
        ],
        # GET answers kept for offline use: the last task list and the forms (the list under its path
        # without the position, so that any last list answers).
        "apiCache": [reverse("api:my_tasks"), reverse("api:task_types")],
        "static": settings.STATIC_URL,
    }
    body = render_to_string("grids/sw.js", {"config": json.dumps(config)})
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = scope
    # The browser checks for a new worker on every visit; the script must not come from an HTTP cache.
    response["Cache-Control"] = "no-cache"
    return response


def _labels() -> dict[str, dict[str, str]]:
    return {
        "types": {value: str(label) for value, label in TaskType.choices},
        "states": {value: str(label) for value, label in TaskState.choices},
        "priorities": {str(value): str(label) for value, label in Priority.choices},
    }


@never_cache
@staff_page(Perm.TASK_WORK)
@require_GET
def app(request: HttpRequest) -> HttpResponse:
    """The phone app's shell. Everything on it comes from the API, so the cached shell works offline."""
    user = request.user
    config = {
        "user": user.username,
        "api": {
            "myTasks": reverse("api:my_tasks"),
            "types": reverse("api:task_types"),
            "sync": reverse("api:sync"),
        },
        "sw": reverse("grids:sw"),
        "scope": reverse("grids:app"),
        "pollSeconds": POLL_SECONDS,
        # Hook for the command center's event stream (``tasks.created`` with ``urgent``, ``task.escalated``):
        # when it exists, its URL goes here and the app refreshes on those events; polling stays as fallback.
        "streamUrl": "",
        "tileUrl": getattr(settings, "MAP_TILE_URL", ""),
        "tileAttribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
        "center": list(settings.MAP_CENTER),
        "grids": core_selectors.orgunit_geojson(actor=user, level=OrgLevel.GRID),
        **_labels(),
    }
    return render(request, "grids/app.html", {"config": config})
