"""The event stream's HTTP entry points: who is asking (for the native ASGI stream in ``epigrid.asgi``) and
the plain-WSGI answer of ``GET /api/v1/events/stream`` (see ``core.stream``)."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.cookie import parse_cookie
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core import stream
from epigrid.core.apiauth import user_for_token

# Under a WSGI server one request holds a thread: answer with what arrives within this time, then let the
# browser reconnect. The ASGI server (``epigrid serve``) never comes here.
WSGI_HOLD_SECONDS = 5.0


def _user_from(authorization: str, cookies: dict[str, str]) -> object:
    if authorization.lower().startswith("bearer "):
        return user_for_token(authorization[7:].strip()) or auth.models.AnonymousUser()
    request = HttpRequest()
    request.COOKIES = cookies
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(cookies.get(settings.SESSION_COOKIE_NAME))
    return auth.get_user(request)  # checks the session's password hash, as the middleware does


def viewer_from_headers(headers: dict[str, str]) -> tuple[int, stream.Viewer | None]:
    """(200, viewer), or (401, None) without a valid session or token, or (403, None) for accounts that may
    not open a stream. Runs in a worker thread of the ASGI server."""
    close_old_connections()
    user = _user_from(headers.get("authorization", ""), parse_cookie(headers.get("cookie", "")))
    if not getattr(user, "is_authenticated", False):
        return 401, None
    viewer = stream.viewer_for(user)
    return (200, viewer) if viewer is not None else (403, None)


@never_cache
@require_GET
def events_stream(request: HttpRequest) -> HttpResponse:
    """``GET /api/v1/events/stream`` under a plain WSGI server (tests, runserver)."""
    user = _user_from(request.headers.get("Authorization", ""), request.COOKIES)
    if not getattr(user, "is_authenticated", False):
        return JsonResponse({"detail": "Authentication required."}, status=401)
    viewer = stream.viewer_for(user)
    if viewer is None:
        return JsonResponse({"detail": "Staff only."}, status=403)
    last = stream.parse_last_event_id(
        request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    )
    response = StreamingHttpResponse(
        stream.wsgi_stream(viewer, last, hold_seconds=WSGI_HOLD_SECONDS),
        content_type="text/event-stream; charset=utf-8",
    )
    response["X-Accel-Buffering"] = "no"
    return response
