"""Group commit for check-ins: many concurrent requests, one transaction, one WAL flush.

One INSERT per transaction caps a write path at the database's commit rate (shared docs/performance.md:
~3,200/s on PostgreSQL, far less while the CPU is shared). Here each web process has one writer thread:
request threads hand it their row and wait; it inserts everything that is waiting in one multi-row
``INSERT ... ON CONFLICT (client_id) DO NOTHING RETURNING`` and commits, then wakes each request — only
after its row is durable. A row whose client_id was already stored comes back as "not created", and the
caller answers with the stored row, exactly as the direct path does.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import uuid
from concurrent.futures import Future

from django.db import close_old_connections, connection, transaction

from epigrid.checkins.models import CheckIn
from epigrid.core import health

logger = logging.getLogger(__name__)

MAX_BATCH = 500
WAIT_SECONDS = 30.0
_FIELDS = [f for f in CheckIn._meta.concrete_fields if not f.primary_key]


class CheckinWriter:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[CheckIn, Future]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0

    def _ensure_thread(self) -> None:
        # Started lazily, once per process: web servers fork their workers after import.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._run, name="checkin-writer", daemon=True).start()
                self._pid = os.getpid()

    def insert(self, checkin: CheckIn) -> bool:
        """Store ``checkin`` (its pk is set); False when its client_id was stored already."""
        self._ensure_thread()
        done: Future = Future()
        self._queue.put((checkin, done))
        return done.result(timeout=WAIT_SECONDS)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                stored = self._write([c for c, _ in batch])
            except Exception as err:  # the requests get the error; the writer goes on with the next batch
                logger.exception("check-in batch of %d failed", len(batch))
                close_old_connections()
                for _, done in batch:
                    done.set_exception(err)
                continue
            claimed: set[str] = set()
            for checkin, done in batch:
                key = str(checkin.client_id)
                pk = stored.get(key)
                # The same client_id twice in one batch (a retry racing its original): the first one made it.
                created = pk is not None and key not in claimed
                claimed.add(key)
                if created:
                    checkin.pk = pk
                done.set_result(created)

    @staticmethod
    def _write(rows: list[CheckIn]) -> dict[str, int]:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in _FIELDS)
        placeholders = "(" + ", ".join(["%s"] * len(_FIELDS)) + ")"
        per_statement = max(1, 900 // len(_FIELDS))  # under SQLite's historical 999-parameter limit
        stored: dict[str, int] = {}
        # The colour each person shows at the door, for the whole batch in one query (a lookup per request
        # was a second round trip per check-in). The request answers with it: ``code_colour``.
        colours = health.colours_for({row.person_id for row in rows if not row.colour})
        for row in rows:
            if not row.colour:
                row.code_colour = colours[row.person_id]
                row.colour = row.code_colour.colour
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                for row in chunk:
                    row._state.adding = True
                    for field in _FIELDS:  # auto_now_add and friends, as save() would do
                        field.pre_save(row, add=True)
                params = [
                    f.get_db_prep_save(getattr(row, f.attname), connection) for row in chunk for f in _FIELDS
                ]
                cursor.execute(
                    f"INSERT INTO {quote(CheckIn._meta.db_table)} ({columns}) "  # noqa: S608 - our own names
                    f"VALUES {', '.join([placeholders] * len(chunk))} "
                    f"ON CONFLICT ({quote('client_id')}) DO NOTHING RETURNING {quote('id')}, {quote('client_id')}",
                    params,
                )
                # PostgreSQL returns UUIDs, SQLite the 32 hex digits Django stores: normalise both.
                stored.update({str(uuid.UUID(str(client_id))): pk for pk, client_id in cursor.fetchall()})
        return stored


writer = CheckinWriter()


def group_commit_enabled() -> bool:
    return os.environ.get("EPIGRID_CHECKIN_GROUP_COMMIT", "1") == "1"
