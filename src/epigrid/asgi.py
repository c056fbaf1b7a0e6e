"""The ASGI application ``epigrid serve`` runs: Django the WSGI way, the event stream natively.

Django's own ASGI handler hops threads for every sync middleware (5-6x slower than WSGI on these machines,
shared docs/performance.md). This front instead hands each ordinary request to Django's WSGI application in a
thread pool, once, and serves ``/api/v1/events/stream`` as a coroutine per open stream, so that a command
center full of open maps holds no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "epigrid.settings")

import django

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402

from epigrid.core import stream as event_stream  # noqa: E402
from epigrid.core.streamhttp import viewer_from_headers  # noqa: E402

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

STREAM_PATH = "/api/v1/events/stream"
MAX_BODY_BYTES = 64 * 1024 * 1024  # lab sheets and photos fit; more is refused before Django sees it
STREAM_AFTER_BYTES = 256 * 1024  # responses larger than this (exports) are sent while they are produced


class WsgiBridge:
    """Runs a WSGI application for ASGI requests: one hop into a worker thread per request."""

    def __init__(self, app: Callable[..., Iterable[bytes]], threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is None:
            await _plain(send, 413, b"Request body too large.")
            return
        loop = asyncio.get_running_loop()
        environ = _environ(scope, body)
        status, headers, rest, streamed = await loop.run_in_executor(
            self.executor, self._run, environ, send, loop
        )
        if not streamed:
            await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": rest, "more_body": False})

    def _run(
        self, environ: dict[str, Any], send: Send, loop: asyncio.AbstractEventLoop
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            started[:] = [
                int(status.split(" ", 1)[0]),
                [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            ]
            return lambda data: None  # the legacy write() callable; Django never uses it

        result = self.app(environ, start_response)
        buffered: list[bytes] = []
        size, streamed = 0, False
        try:
            for chunk in result:
                if not chunk:
                    continue
                buffered.append(chunk)
                size += len(chunk)
                if size >= STREAM_AFTER_BYTES:
                    messages = (
                        []
                        if streamed
                        else [{"type": "http.response.start", "status": started[0], "headers": started[1]}]
                    )
                    messages.append(
                        {"type": "http.response.body", "body": b"".join(buffered), "more_body": True}
                    )
                    asyncio.run_coroutine_threadsafe(_send_all(send, messages), loop).result()
                    buffered, size, streamed = [], 0, True
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return started[0], started[1], b"".join(buffered), streamed


async def _send_all(send: Send, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        await send(message)


async def _read_body(receive: Receive) -> bytes | None:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _environ(scope: Scope, body: bytes) -> dict[str, Any]:
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        # WSGI carries the path as bytes in a latin-1 str; ASGI gives it decoded (UTF-8).
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT_LENGTH":
            continue
        key = f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


async def _plain(
    send: Send, status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8"
) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]}
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def serve_stream(scope: Scope, receive: Receive, send: Send) -> None:
    """``GET /api/v1/events/stream``: authenticate once (session cookie or bearer token), then stream until
    the client goes away."""
    if scope["method"] != "GET":
        await _plain(send, 405, b'{"detail": "Method not allowed."}', b"application/json")
        return
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    status, viewer = await event_stream.hub.db(viewer_from_headers, headers)
    if viewer is None:
        detail = b'{"detail": "Authentication required."}' if status == 401 else b'{"detail": "Staff only."}'
        await _plain(send, status, detail, b"application/json")
        return
    last_event_id = event_stream.parse_last_event_id(
        headers.get("last-event-id") or _query_param(scope, "last_event_id")
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache, no-store"),
                (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
            ],
        }
    )

    async def pump() -> None:
        async for message in event_stream.stream(viewer, last_event_id):
            await send({"type": "http.response.body", "body": message, "more_body": True})

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(until_disconnect())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if not tasks[0].cancelled() and tasks[0].done() and tasks[0].exception() is None:
        # The hub ended the stream (client too far behind): finish the response cleanly.
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def _query_param(scope: Scope, name: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


class EpiGridASGI:
    def __init__(self) -> None:
        threads = int(os.environ.get("EPIGRID_SERVER_THREADS", "8"))
        self.django = WsgiBridge(get_wsgi_application(), threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"] == STREAM_PATH:
                await serve_stream(scope, receive, send)
            else:
                await self.django(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await event_stream.hub.stop()
                self.django.executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


application = EpiGridASGI()
