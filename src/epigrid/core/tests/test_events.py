"""Domain events: stored in the writer's transaction, dispatched only after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from epigrid.core import events
from epigrid.core.models import Event


@pytest.fixture
def received():
    seen: list[Event] = []

    def handler(event: Event) -> None:
        seen.append(event)

    events.subscribe("test.happened", handler)
    yield seen
    events._handlers["test.happened"].remove(handler)


def test_handlers_run_after_commit_only(db, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = events.publish("test.happened", payload={"n": 1}, org_code="370699")
        assert received == []  # not before commit
    assert [e.pk for e in received] == [event.pk]
    stored = Event.objects.get(pk=event.pk)
    assert (stored.type, stored.payload, stored.org_code) == ("test.happened", {"n": 1}, "370699")


def test_rolled_back_writes_publish_nothing(db, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        events.publish("test.happened", payload={}, org_code="")
        raise RuntimeError("the writer failed")
    assert received == []
    assert not Event.objects.filter(type="test.happened").exists()


def test_a_failing_handler_does_not_stop_the_others(db, received, django_capture_on_commit_callbacks):
    def broken(event: Event) -> None:
        raise ValueError("boom")

    events._handlers["test.happened"].insert(0, broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.publish("test.happened", payload={}, org_code="")
    finally:
        events._handlers["test.happened"].remove(broken)
    assert len(received) == 1


def test_registering_twice_registers_once(db, received):
    handler = events.handlers_for("test.happened")[0]
    events.subscribe("test.happened", handler)
    assert events.handlers_for("test.happened").count(handler) == 1
