"""The live event stream, GET /api/v1/events/stream: scope, permissions, payload reduction, resume, and the
native ASGI stream (``epigrid.asgi``) with its cross-process fan-out through the table or Redis."""

from __future__ import annotations

import asyncio
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from epigrid.core import events, stream, streamhttp
from epigrid.core.models import Event
from epigrid.core.tests.factories import PersonFactory

URL = "/api/v1/events/stream"


@pytest.fixture(autouse=True)
def _no_hold(monkeypatch):
    # The WSGI answer would wait for new events for a few seconds; the tests publish before asking.
    monkeypatch.setattr(streamhttp, "WSGI_HOLD_SECONDS", 0)


def messages(response) -> list[dict]:
    """The SSE messages of a response: [{"id", "event", "data"}], comments and retry lines left out."""
    text = b"".join(response.streaming_content).decode()
    out = []
    for block in text.split("\n\n"):
        fields: dict = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in ("id", "event", "data"):
                fields[name] = value
        if fields:
            out.append(fields)
    return out


def full(msgs: list[dict]) -> list[dict]:
    return [json.loads(m["data"]) for m in msgs if "data" in m]


@pytest.fixture
def mark(db) -> int:
    return stream.latest_event_id()


def test_anonymous_residents_and_staff(users, api_client, login_client):
    assert api_client(None).get(URL).status_code == 401
    assert api_client(users["resident"]).get(URL).status_code == 403
    response = login_client(users["commander"]).get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    # Without Last-Event-ID the stream starts now: an id line that moves the browser's Last-Event-ID.
    assert messages(response) == [{"id": str(stream.latest_event_id())}]


def test_a_viewer_gets_the_events_of_their_area_only(jurisdiction, users, api_client, mark):
    person_b = PersonFactory(grid=jurisdiction.grid_b)
    person_a = PersonFactory(grid=jurisdiction.grid_a)
    in_a = events.publish("task.done", payload={"task_id": 1, "state": "done"}, org_code=person_a.org_code)
    in_b = events.publish("task.done", payload={"task_id": 2, "state": "done"}, org_code=person_b.org_code)

    officer = api_client(users["community_officer"])  # community A
    got = messages(officer.get(URL, HTTP_LAST_EVENT_ID=str(mark)))
    assert [e["id"] for e in full(got) if e["type"] == "task.done"] == [in_a.pk]
    # Events outside the area still move the client's position, without saying anything.
    assert {"id": str(in_b.pk)} in got

    commander = api_client(users["commander"])
    ids = [e["id"] for e in full(messages(commander.get(URL, HTTP_LAST_EVENT_ID=str(mark))))]
    assert in_a.pk in ids and in_b.pk in ids


def test_kinds_of_events_follow_the_role(jurisdiction, users, api_client, person_a, mark):
    case = events.publish(
        "case.confirmed", payload={"case_id": 1, "person_id": person_a.pk}, org_code=person_a.org_code
    )
    task = events.publish("task.done", payload={"task_id": 3}, org_code=person_a.org_code)
    worker = api_client(users["grid_worker"])  # grid A, no case.view
    ids = [e["id"] for e in full(messages(worker.get(URL, HTTP_LAST_EVENT_ID=str(mark))))]
    assert task.pk in ids and case.pk not in ids


def test_payloads_carry_ids_and_states_not_names_or_answers(jurisdiction, users, api_client, person_a, mark):
    events.publish(
        "symptom.reported",
        payload={"person_id": person_a.pk, "symptoms": ["fever"], "name": person_a.name, "at": "2026-11-25"},
        org_code=person_a.org_code,
    )
    [data] = full(messages(api_client(users["commander"]).get(URL, HTTP_LAST_EVENT_ID=str(mark))))
    assert data["type"] == "symptom.reported"
    assert data["payload"] == {"person_id": person_a.pk, "at": "2026-11-25"}


def test_broadcasts_reach_everyone_and_addressed_events_only_their_accounts(
    jurisdiction, users, api_client, mark
):
    level = events.publish("response_level.changed", payload={"level": "II"}, org_code="")
    note = events.publish("notice.sent", payload={"user_ids": [users["grid_leader"].pk]}, org_code="")
    unplaced = events.publish("audit.chain_checked", payload={"ok": True}, org_code="")

    def seen(role: str) -> list[int]:
        return [
            e["id"] for e in full(messages(api_client(users[role]).get(URL, HTTP_LAST_EVENT_ID=str(mark))))
        ]

    assert seen("grid_leader") == [level.pk, note.pk]
    assert seen("grid_worker") == [level.pk]
    # District-wide events without a place go to district-level accounts that may read them.
    assert unplaced.pk in seen("district_admin") and unplaced.pk not in seen("commander")


def test_a_bad_last_event_id_starts_from_now(users, api_client, mark):
    events.publish("task.done", payload={"task_id": 1}, org_code="370699")
    got = messages(api_client(users["commander"]).get(URL, HTTP_LAST_EVENT_ID="garbage"))
    assert got == [{"id": str(stream.latest_event_id())}]


# --- the native stream under ASGI, as `epigrid serve` runs it ------------------------------------------------


class AsgiClient:
    """Holds one request open against an ASGI application and reads what it sends."""

    def __init__(self, app, headers: list[tuple[bytes, bytes]]) -> None:
        self.app, self.headers = app, headers
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.buffer = ""

    async def open(self) -> dict:
        scope = {
            "type": "http",
            "method": "GET",
            "path": URL,
            "query_string": b"",
            "headers": self.headers,
            "http_version": "1.1",
            "scheme": "http",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
        }
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        return await asyncio.wait_for(self.outbox.get(), 10)

    async def until(self, text: str, timeout: float = 5.0) -> str:
        async def read() -> str:
            while text not in self.buffer:
                message = await self.outbox.get()
                self.buffer += message.get("body", b"").decode()
            return self.buffer

        return await asyncio.wait_for(read(), timeout)

    async def close(self) -> None:
        await self.inbox.put({"type": "http.disconnect"})
        await asyncio.wait_for(self.task, 5)


def _publish_committed(event_type: str, payload: dict, org_code: str) -> int:
    # As another process would: in a thread of its own, committed, its connection closed afterwards.
    try:
        with transaction.atomic():
            event = events.publish(event_type, payload=payload, org_code=org_code)
        return event.pk
    finally:
        connection.close()


def _token(user) -> bytes:
    from epigrid.core import services
    from epigrid.core.tests.factories import TEST_PASSWORD

    return services.api_token_issue(username=user.username, password=TEST_PASSWORD).encode()


def _stream_round_trip(user, publish: tuple[str, dict, str], expect: list[str]) -> tuple[dict, str]:
    from epigrid.asgi import application

    token = _token(user)

    async def run() -> tuple[dict, str]:
        client = AsgiClient(application, [(b"authorization", b"Bearer " + token)])
        start = await client.open()
        await client.until("id: ")  # the stream is live
        await asyncio.to_thread(_publish_committed, *publish)
        try:
            for text in expect:
                body = await client.until(text)
        finally:
            await client.close()
        return start, body

    return in_own_loop(run())


def in_own_loop(coroutine):
    # A thread of its own: Playwright's sync API (the browser tests) may keep a loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.mark.django_db(transaction=True)
def test_the_native_stream_delivers_a_committed_event_and_its_alarm(jurisdiction, users, person_a):
    start, body = _stream_round_trip(
        users["community_officer"],
        ("specimen.positive", {"person_id": person_a.pk, "specimen_id": 9}, person_a.org_code),
        ["event: specimen.positive", "event: alarm.raised"],
    )
    assert start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    assert "event: specimen.positive" in body
    # The alarm the command center raised from it follows on the same stream.
    raised = Event.objects.get(type="alarm.raised")
    assert f"id: {raised.pk}\nevent: alarm.raised" in body


@pytest.mark.django_db(transaction=True)
def test_the_native_stream_refuses_without_an_account(jurisdiction):
    from epigrid.asgi import application

    async def run() -> dict:
        client = AsgiClient(application, [])
        start = await client.open()
        body = await asyncio.wait_for(client.outbox.get(), 5)
        return {**start, "body": body["body"]}

    answer = in_own_loop(run())
    assert answer["status"] == 401 and json.loads(answer["body"]) == {"detail": "Authentication required."}


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_with_redis_events_fan_out_through_the_channel(jurisdiction, users, settings, monkeypatch):
    if not _redis_up():
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    # Prove the event came through Redis: the hub finds nothing by reading the table.
    monkeypatch.setattr(stream, "events_after", lambda *args, **kwargs: [])
    _start, body = _stream_round_trip(
        users["commander"],
        ("task.done", {"task_id": 77, "state": "done"}, jurisdiction.grid_a.code),
        ['"task_id":77'],
    )
    assert "event: task.done" in body


@pytest.mark.django_db(transaction=True)
def test_with_redis_another_databases_events_are_not_heard(jurisdiction, users, settings, monkeypatch):
    """A drill's copy or another deployment on the same Redis server: its events (whose ids mean nothing
    here) stay on its own channel."""
    if not _redis_up():
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    import redis

    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    monkeypatch.setattr(stream, "events_after", lambda *args, **kwargs: [])
    foreign = json.dumps(
        {"id": 10**9, "type": "task.done", "org_code": jurisdiction.grid_a.code,
         "occurred_at": "2026-11-25T00:00:00+00:00", "payload": {"task_id": 666}}
    )  # fmt: skip
    real_publish = events.publish

    def publish_after_a_foreign_event(event_type, *, payload, org_code=""):
        redis.Redis.from_url(settings.REDIS_URL).publish("epigrid:events:another-database", foreign)
        return real_publish(event_type, payload=payload, org_code=org_code)

    monkeypatch.setattr(events, "publish", publish_after_a_foreign_event)
    _start, body = _stream_round_trip(
        users["commander"],
        ("task.done", {"task_id": 78, "state": "done"}, jurisdiction.grid_a.code),
        ['"task_id":78'],
    )
    assert '"task_id":666' not in body


def test_vaccination_and_comparison_events_need_their_modules_view(
    jurisdiction, users, api_client, person_a, mark
):
    code = person_a.org_code
    published = {
        kind: events.publish(kind, payload={"person_id": person_a.pk}, org_code=code).pk
        for kind in (
            "vaccination.dose",
            "arrival.recorded",
            "lists.imported",
            "comparison.run",
            "tube.positive",
        )
    }
    seen = {
        role: {
            e["id"] for e in full(messages(api_client(users[role]).get(URL, HTTP_LAST_EVENT_ID=str(mark))))
        }
        for role in ("grid_worker", "sampler")
    }
    assert set(published.values()) <= seen["grid_worker"]  # holds vaccination/comparison/testing.view
    assert not set(published.values()) & seen["sampler"]  # the district sampler holds none of them


def test_supplies_and_waste_events_need_their_modules_view(jurisdiction, users, api_client, person_a, mark):
    code = person_a.org_code
    published = {
        kind: events.publish(kind, payload={"count": 1}, org_code=code).pk
        for kind in ("supplies.shortage", "waste.alarm")
    }
    seen = {
        role: {
            e["id"] for e in full(messages(api_client(users[role]).get(URL, HTTP_LAST_EVENT_ID=str(mark))))
        }
        for role in ("community_officer", "grid_worker")
    }
    assert set(published.values()) <= seen["community_officer"]  # holds supplies.view and waste.view
    assert not set(published.values()) & seen["grid_worker"]  # holds neither


def test_a_kind_nobody_declared_reaches_no_stream(jurisdiction, users, api_client, person_a, mark):
    unknown = events.publish("newmodule.happened", payload={"count": 1}, org_code=person_a.org_code).pk
    known = events.publish("quarantine.started", payload={"count": 1}, org_code=person_a.org_code).pk
    admin = api_client(users["district_admin"])
    seen = {e["id"] for e in full(messages(admin.get(URL, HTTP_LAST_EVENT_ID=str(mark))))}
    assert known in seen  # the district administrator holds quarantine.view
    assert unknown not in seen
