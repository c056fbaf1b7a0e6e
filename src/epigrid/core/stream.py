"""The live event stream, ``GET /api/v1/events/stream`` (Server-Sent Events), in the caller's scope.

Every domain event is stored in ``core_event`` by ``core.events.publish`` before anything else sees it, so the
database is the bus: each server process runs one :class:`Hub` that reads new events (``id > last``) every
``STREAM_POLL_SECONDS`` and hands them to the open streams of that process. Events published by any process
(web workers, ``epigrid worker``, a CLI import) reach every open map this way, and a reconnecting browser's
``Last-Event-ID`` is answered from the same table. With ``EPIGRID_REDIS_URL`` set, publishers also push each
committed event to a Redis channel and the hubs listen there instead of polling: lower latency and no polling
load when many processes serve streams.

What a viewer receives: events in their area (the event's ``org_code`` starts with theirs), of the kinds their
role may read (:data:`TYPE_PERMS`), with the payload reduced to identifiers, counts and states
(:func:`public_payload`); events addressed to accounts (``user_ids``) only to those accounts. The stream itself
is served natively by ``epigrid.asgi`` (one coroutine per open map, no thread held); under a plain WSGI
server (tests, ``manage runserver``) :func:`wsgi_stream` answers with what is new and lets the browser
reconnect, which ``EventSource`` does on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.db.models import Q

from epigrid.core.models import LEVEL_CODE_LENGTH, Event, OrgLevel
from epigrid.core.roles import Perm, has_perm, is_staff_role

logger = logging.getLogger(__name__)

REDIS_CHANNEL_PREFIX = "epigrid:events:"
BACKLOG_LIMIT = 500  # a reconnecting client gets at most this many missed events, then the live ones
QUEUE_LIMIT = 2_000  # a client this far behind is cut off; its browser reconnects with Last-Event-ID
DISTRICT_CODE_LENGTH = LEVEL_CODE_LENGTH[OrgLevel.DISTRICT]

# Which permission a kind of event needs (by type prefix). It fails closed: a kind not listed here (and not a
# broadcast below, nor addressed to accounts) reaches no stream, so a new module's events stay private until
# it says who may read them.
TYPE_PERMS: tuple[tuple[str, str], ...] = (
    ("case.", Perm.CASE_VIEW),
    ("contact.", Perm.CASE_VIEW),
    ("contacts.", Perm.CASE_VIEW),
    ("specimen.", Perm.TESTING_VIEW),
    ("test.", Perm.TESTING_VIEW),
    ("testing.", Perm.TESTING_VIEW),
    ("box.", Perm.TESTING_VIEW),
    ("tube.", Perm.TESTING_VIEW),
    ("healthcode.", Perm.HEALTHCODE_VIEW),
    ("quarantine.", Perm.QUARANTINE_VIEW),
    ("symptom.", Perm.QUARANTINE_VIEW),
    ("task.", Perm.TASK_VIEW),
    ("tasks.", Perm.TASK_VIEW),
    ("emergency.", Perm.TASK_VIEW),
    ("alarm.", Perm.COMMAND_VIEW),
    ("instruction.", Perm.COMMAND_VIEW),
    ("consultation.", Perm.COMMAND_VIEW),
    ("audit.", Perm.AUDIT_VIEW),
    ("checkin.", Perm.CHECKIN_VIEW),
    ("venue.", Perm.VENUE_VIEW),
    ("person.", Perm.PERSON_VIEW),
    ("arrivals.", Perm.PERSON_VIEW),
    ("vaccination.", Perm.VACCINATION_VIEW),
    ("arrival.", Perm.COMPARISON_VIEW),
    ("lists.", Perm.COMPARISON_VIEW),
    ("comparison.", Perm.COMPARISON_VIEW),
    ("supplies.", Perm.SUPPLIES_VIEW),
    ("waste.", Perm.WASTE_VIEW),
)
# District-wide announcements every staff account receives, whatever its area.
BROADCAST_TYPES = frozenset(
    {"response_level.changed", "policy.activated", "riskarea.changed", "drill.started"}
)
# Payload keys a stream may carry: identifiers, counts, states and places; never names, notes or answers.
PUBLIC_KEYS = frozenset(
    {
        "action",
        "at",
        "colour",
        "count",
        "drill",
        "kind",
        "lat",
        "level",
        "lng",
        "severity",
        "source",
        "source_ref",
        "state",
        "status",
        "type",
        "urgent",
        "version",
    }
)


@dataclass(frozen=True)
class Row:
    """One stored event as the stream handles it."""

    id: int
    type: str
    org_code: str
    occurred_at: dt.datetime
    payload: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "org_code": self.org_code,
                "occurred_at": self.occurred_at.isoformat(),
                "payload": self.payload,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Row:
        data = json.loads(text)
        return cls(
            id=int(data["id"]),
            type=data["type"],
            org_code=data.get("org_code") or "",
            occurred_at=dt.datetime.fromisoformat(data["occurred_at"]),
            payload=data.get("payload") or {},
        )

    @classmethod
    def from_event(cls, event: Event) -> Row:
        return cls(event.pk, event.type, event.org_code, event.occurred_at, event.payload or {})


def public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The part of a payload a live map may show: ``*_id``/``*_ids`` and the keys of :data:`PUBLIC_KEYS`."""
    return {
        key: value
        for key, value in payload.items()
        if key in PUBLIC_KEYS or key.endswith("_id") or key.endswith("_ids")
    }


@dataclass(frozen=True)
class Viewer:
    """Who holds a stream open: what area, which kinds of events."""

    user_id: int
    org_code: str
    perms: frozenset[str]

    def sees(self, row: Row) -> bool:
        addressed = row.payload.get("user_ids")
        if addressed is not None:
            return self.user_id in addressed
        if row.type in BROADCAST_TYPES:
            return True
        needed = next((perm for prefix, perm in TYPE_PERMS if row.type.startswith(prefix)), None)
        if needed is None or needed not in self.perms:
            return False
        if not row.org_code:  # district-wide and unplaced events: for district-level accounts only
            return len(self.org_code) <= DISTRICT_CODE_LENGTH
        return row.org_code.startswith(self.org_code)


def viewer_for(user: Any) -> Viewer | None:
    """The stream's view of an account, or None when it may not open a stream (anonymous, resident)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    role = getattr(user, "role", "")
    code = getattr(user, "org_code", "")
    if not role or not is_staff_role(role) or not code:
        return None
    perms = frozenset(p for p in _ALL_PERMS if has_perm(user, p))
    return Viewer(user_id=user.pk, org_code=code, perms=perms)


_ALL_PERMS = frozenset(
    value for name, value in vars(Perm).items() if name.isupper() and isinstance(value, str)
)


def format_row(row: Row) -> bytes:
    """One SSE message: the event's id (for Last-Event-ID), its type as the SSE event name, JSON data."""
    public = Row(row.id, row.type, row.org_code, row.occurred_at, public_payload(row.payload))
    return f"id: {row.id}\nevent: {row.type}\ndata: {public.to_json()}\n\n".encode()


def id_only(last_id: int) -> bytes:
    # An id with no data moves the browser's Last-Event-ID without firing an event (the SSE spec's dispatch).
    return f"id: {last_id}\n\n".encode()


KEEP_ALIVE = b": keep-alive\n\n"


def retry_field(milliseconds: int) -> bytes:
    return f"retry: {milliseconds}\n\n".encode()


# --- reading the table ----------------------------------------------------------------------------------------


def latest_event_id() -> int:
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def events_after(last_id: int, also: Iterable[int] = (), *, limit: int = BACKLOG_LIMIT) -> list[Row]:
    """Events stored after ``last_id`` (and the ids of ``also``), oldest first: a primary-key range, cheap at
    any table size."""
    wanted = Q(pk__gt=last_id)
    also = list(also)
    if also:
        wanted |= Q(pk__in=also)
    rows = (
        Event.objects.filter(wanted)
        .order_by("pk")
        .values_list("pk", "type", "org_code", "occurred_at", "payload")[:limit]
    )
    return [Row(pk, kind, code or "", at, payload or {}) for pk, kind, code, at, payload in rows]


def parse_last_event_id(value: str | None) -> int | None:
    if not value:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


# --- publishing to Redis (when configured) -----------------------------------------------------------------------

_redis_lock = threading.Lock()
_redis_client: Any = None


def _redis() -> Any:
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
            )
        return _redis_client


def redis_channel() -> str:
    """The channel of this database's events. Event ids are one database's sequence, and Redis channels are
    shared by every database a Redis server serves (a drill's copy, a second deployment, parallel test
    runs): the channel is named after the database so that they never hear each other's events."""
    db = connection.settings_dict
    identity = f"{connection.vendor}|{db.get('HOST') or ''}|{db.get('PORT') or ''}|{db.get('NAME')}"
    return REDIS_CHANNEL_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:16]


def push_to_redis(event: Event) -> None:
    """``core.events`` listener: after commit, put the event on the Redis channel for every process's hub.
    A failure is logged and loses nothing: the event is in the table and clients backfill from it."""
    if not settings.REDIS_URL:
        return
    try:
        _redis().publish(redis_channel(), Row.from_event(event).to_json())
    except Exception:
        logger.warning("event #%s not pushed to Redis", event.pk, exc_info=True)


# --- the hub: one per process, feeding every open stream of the process ----------------------------------------


class Hub:
    """Fans new events out to the queues of this process's open streams; reads them from Redis when
    configured, else from the table. Runs only while at least one stream is open.

    Reading the table by id needs care on PostgreSQL: ids are taken at insert and transactions commit in any
    order, so id 100 may become visible after 101. An id skipped over is remembered as pending for
    ``PENDING_SECONDS`` and asked for again on every poll (a rolled-back insert leaves a gap for good)."""

    PENDING_SECONDS = 30.0
    PENDING_LIMIT = 1_000

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Row | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self.last_id = 0
        self._pending: dict[int, float] = {}
        # One thread does every database read of the streams of this process: it keeps one connection,
        # reused between polls, and closes it when the last stream has gone.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-hub")

    async def db(self, function: Any, *args: Any) -> Any:
        """``function(*args)`` on the hub's database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, _db_call, function, *args)

    async def _release(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.get_running_loop().run_in_executor(self._executor, connections.close_all)

    def subscribe(self) -> asyncio.Queue[Row | None]:
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        return queue

    async def position(self) -> int:
        """The id up to which the hub has read, once it is live (reading the table, or subscribed to Redis):
        a new stream starts there."""
        if self._ready is not None:
            await self._ready.wait()
        return self.last_id

    def unsubscribe(self, queue: asyncio.Queue[Row | None]) -> None:
        self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._queues)

    async def stop(self) -> None:
        """End every open stream of the process (server shutdown) and the reading task."""
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._queues.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _take(self, row: Row) -> bool:
        """Whether ``row`` is new to the hub (then it is fanned out); notes the ids it skipped over."""
        if row.id in self._pending:
            del self._pending[row.id]
            return True
        if row.id <= self.last_id:
            return False
        now = time.monotonic()
        for missing in range(max(self.last_id + 1, row.id - self.PENDING_LIMIT), row.id):
            self._pending[missing] = now
        self.last_id = row.id
        return True

    def _fan_out(self, row: Row) -> None:
        if not self._take(row):
            return
        for queue in list(self._queues):
            try:
                queue.put_nowait(row)
            except asyncio.QueueFull:
                # Too far behind: end that stream (None); its browser reconnects and backfills.
                self._queues.discard(queue)
                with contextlib.suppress(asyncio.QueueFull, asyncio.QueueEmpty):
                    queue.get_nowait()
                    queue.put_nowait(None)

    def _expire_pending(self) -> list[int]:
        cutoff = time.monotonic() - self.PENDING_SECONDS
        self._pending = {pk: at for pk, at in self._pending.items() if at >= cutoff}
        return list(self._pending)

    def _set_ready(self) -> None:
        if self._ready is not None:
            self._ready.set()

    async def _run(self) -> None:
        try:
            self.last_id = await self.db(latest_event_id)
            self._pending.clear()
            while self._queues:
                try:
                    if settings.REDIS_URL:
                        await self._from_redis()
                    else:
                        self._set_ready()
                        await self._from_database()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Redis down, or the database for a moment: read the table for a while, then try again.
                    logger.exception("event hub: source failed; polling the table for 5 s")
                    self._set_ready()
                    with contextlib.suppress(Exception):
                        await self._from_database(seconds=5.0)
        finally:
            await self._release()

    async def _poll(self) -> None:
        rows = await self.db(events_after, self.last_id, self._expire_pending())
        for row in rows:
            self._fan_out(row)

    async def _from_database(self, seconds: float | None = None) -> None:
        until = None if seconds is None else time.monotonic() + seconds
        while self._queues and (until is None or time.monotonic() < until):
            await self._poll()
            await asyncio.sleep(settings.STREAM_POLL_SECONDS)

    async def _from_redis(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.REDIS_URL)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(redis_channel())
            # Events committed between our last read and the subscription: from the table, once.
            await self._poll()
            self._pending.clear()  # from here on Redis delivers each event after its commit
            self._set_ready()
            while self._queues:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message.get("type") == "message":
                    self._fan_out(Row.from_json(message["data"]))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()


def _db_call(function: Any, *args: Any) -> Any:
    # Worker threads keep their connection between polls; drop it if it broke or outlived CONN_MAX_AGE.
    close_old_connections()
    try:
        return function(*args)
    finally:
        if connection.vendor == "sqlite":
            connection.close()  # no file handle held open between polls (tests delete the file)


hub = Hub()


async def stream(viewer: Viewer, last_event_id: int | None) -> AsyncIterator[bytes]:
    """The messages of one open stream: missed events first (after ``Last-Event-ID``), then live ones."""
    queue = hub.subscribe()  # before the backlog is read, so that nothing falls between the two
    try:
        yield retry_field(2_000)
        position = await hub.position()
        if last_event_id is None:
            yield id_only(position)
            backlog: list[Row] = []
        else:
            backlog = await hub.db(events_after, last_event_id)
        sent = set()
        for row in backlog:
            sent.add(row.id)
            if viewer.sees(row):
                yield format_row(row)
        heartbeat = settings.STREAM_HEARTBEAT_SECONDS
        while True:
            try:
                row = await asyncio.wait_for(queue.get(), timeout=heartbeat)
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            if row is None:
                return  # cut off by the hub: too far behind
            if row.id in sent or (last_event_id is not None and row.id <= last_event_id):
                continue  # in the backlog already, or before where the client says it is
            if viewer.sees(row):
                yield format_row(row)
    finally:
        hub.unsubscribe(queue)


def wsgi_stream(viewer: Viewer, last_event_id: int | None, *, hold_seconds: float) -> Iterator[bytes]:
    """The stream under a plain WSGI server: what is new since ``Last-Event-ID`` within ``hold_seconds``,
    then the response ends and the browser reconnects (``retry``) with the id it reached."""
    yield retry_field(1_000)
    last = last_event_id if last_event_id is not None else latest_event_id()
    if last_event_id is None:
        yield id_only(last)
    deadline = time.monotonic() + hold_seconds
    while True:
        for row in events_after(last):
            last = row.id
            yield format_row(row) if viewer.sees(row) else id_only(row.id)
        if time.monotonic() >= deadline:
            return
        time.sleep(settings.STREAM_POLL_SECONDS)
