"""Monitoring: reports through the link and by staff, alarms, line lists, scheduled tests, seals and visits,
release (refused while a test is missing), de-identification after retention."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import pytest
from django.db import transaction
from django.utils import timezone
from PIL import Image

from epigrid.core import events
from epigrid.core.models import AuditEntry, Event
from epigrid.core.tests.factories import PersonFactory
from epigrid.healthcode.models import PersonFacts
from epigrid.investigation.models import Case
from epigrid.quarantine import selectors, services
from epigrid.quarantine.models import HealthReport, Placement, Room, ScheduledTest
from epigrid.quarantine.tests.factories import hotel

pytestmark = pytest.mark.django_db


def call(client, path, body=None):
    return client.post(
        path, json.dumps(body or {}, default=str), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


@pytest.fixture
def placed(jurisdiction, django_capture_on_commit_callbacks):
    hotel(jurisdiction.grid_a)
    with django_capture_on_commit_callbacks(execute=True):  # the health code learns of the quarantine
        return services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))


def back_date(placement: Placement, days: int) -> Placement:
    """Move a placement ``days`` into the past, with its calendar (tests of time passing)."""
    shift = dt.timedelta(days=days)
    Placement.objects.filter(pk=placement.pk).update(
        start=placement.start - shift,
        end=placement.end - shift,
        centralised_until=placement.centralised_until - shift,
    )
    for test in placement.tests.all():
        ScheduledTest.objects.filter(pk=test.pk).update(due_date=test.due_date - shift)
    services._refresh_test_state([placement.pk])
    placement.refresh_from_db()
    return placement


def test_the_link_takes_reports_without_an_account_and_replays_store_once(placed, client):
    token = services.report_link_token(placed)
    body = {"client_id": str(uuid.uuid4()), "temperature": "36.6", "symptoms": []}
    first = call(client, f"/api/v1/quarantine/report/{token}", body)
    assert first.status_code == 201, first.content
    assert call(client, f"/api/v1/quarantine/report/{token}", body).status_code == 200  # replay
    assert HealthReport.objects.filter(placement=placed).count() == 1
    placed.refresh_from_db()
    assert str(placed.last_temperature) == "36.6"
    forged = call(
        client, f"/api/v1/quarantine/report/{token[:-2]}xx", {**body, "client_id": str(uuid.uuid4())}
    )
    assert (forged.status_code, forged.json()["detail"]) == (400, "This report link is not valid.")


@pytest.mark.parametrize(
    ("temperature", "symptoms", "field"),
    [("hot", [], "temperature"), ("45", [], "temperature"), ("36.5", ["sneezing"], "symptoms")],
)
def test_bad_reports_are_refused_with_the_field(placed, client, temperature, symptoms, field):
    token = services.report_link_token(placed)
    body = {"client_id": str(uuid.uuid4()), "temperature": temperature, "symptoms": symptoms}
    response = call(client, f"/api/v1/quarantine/report/{token}", body)
    assert (response.status_code, response.json()["field"]) == (400, field)
    assert not HealthReport.objects.exists()


def test_a_fever_raises_an_alarm_lists_the_person_and_hands_them_to_the_case_module(
    placed, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.report_submit(actor=None, placement=placed, temperature="37.3", client_id=uuid.uuid4())
    alarm = Event.objects.get(type="quarantine.alarm")
    assert (alarm.payload["kind"], alarm.payload["temperature"]) == ("fever", "37.3")
    case = Case.objects.get(person=placed.person)
    assert (case.classification, case.origin) == ("suspected", "quarantine")
    assert PersonFacts.objects.get(person=placed.person).fever_at is not None
    manager = users["quarantine_manager"]
    assert [p.pk for p in selectors.line_list(actor=manager, name="symptomatic")] == [placed.pk]
    # A normal report afterwards clears the flag; 37.2 is below the threshold.
    services.report_submit(actor=manager, placement=placed, temperature="37.2", client_id=uuid.uuid4())
    assert list(selectors.line_list(actor=manager, name="symptomatic")) == []
    assert Event.objects.filter(type="quarantine.alarm").count() == 1


def test_line_lists_of_silence_tests_and_release(placed, users):
    manager = users["quarantine_manager"]
    now = timezone.now()
    assert [p.pk for p in selectors.line_list(actor=manager, name="test_due")] == [placed.pk]
    assert list(selectors.line_list(actor=manager, name="non_reporting", now=now)) == []
    later = now + dt.timedelta(hours=25)
    assert [p.pk for p in selectors.line_list(actor=manager, name="non_reporting", now=later)] == [placed.pk]
    back_date(placed, 11)
    assert [p.pk for p in selectors.line_list(actor=manager, name="test_overdue")] == [placed.pk]
    assert [p.pk for p in selectors.line_list(actor=manager, name="release_due")] == [placed.pk]
    counts = selectors.line_list_counts(actor=manager)
    assert (counts["release_due"], counts["released"], counts["symptomatic"]) == (1, 0, 0)
    assert list(selectors.line_list(actor=users["grid_worker"], name="all")) == [placed]  # their grid
    assert list(selectors.line_list(actor=users["sampler"], name="all")) == []


def test_release_is_refused_while_a_test_is_missing_and_then_granted(
    placed, users, api_client, django_capture_on_commit_callbacks
):
    manager = api_client(users["quarantine_manager"])
    token = services.report_link_token(placed)
    early = call(manager, f"/api/v1/quarantine/placements/{placed.pk}/release")
    assert early.status_code == 400
    assert "The quarantine ends on" in early.json()["detail"]
    placed = back_date(placed, 11)
    tests = list(placed.tests.order_by("due_date"))
    # Results for all but the last test arrive through the lab's event.
    people = [
        [placed.person_id, timezone.make_aware(dt.datetime.combine(t.due_date, dt.time(9))).isoformat()]
        for t in tests[:-1]
    ]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(
            "test.resulted",
            payload={"result": "negative", "person_ids": [placed.person_id], "people": people},
        )
    placed.refresh_from_db()
    assert placed.tests_outstanding == 1
    missing = call(manager, f"/api/v1/quarantine/placements/{placed.pk}/release")
    assert missing.status_code == 400
    assert (
        missing.json()["detail"]
        == f"The test of day 3 ({tests[-1].due_date.isoformat()}) has no negative result."
    )
    services.tests_record_results(
        people=[
            (
                placed.person_id,
                timezone.make_aware(dt.datetime.combine(tests[-1].due_date, dt.time(9))),
                "negative",
            )
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        done = call(manager, f"/api/v1/quarantine/placements/{placed.pk}/release")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "released"
    assert Event.objects.filter(type="quarantine.ended", payload__person_id=placed.person_id).exists()
    assert PersonFacts.objects.get(person=placed.person).quarantine_until is None
    assert Room.objects.get(pk=placed.room_id).status == "cleaning"
    after = call(
        manager, f"/api/v1/quarantine/report/{token}", {"client_id": str(uuid.uuid4()), "temperature": "36.5"}
    )
    assert after.status_code == 400  # release revoked the link


def test_transfer_and_the_home_phase(placed, users, jurisdiction):
    manager = users["quarantine_manager"]
    free = Room.objects.filter(site=placed.site, status="free").order_by("number").first()
    moved = services.placement_transfer(actor=manager, placement=placed, room=free)
    assert moved.room_id == free.pk
    assert Room.objects.filter(site=placed.site, status="cleaning").count() == 1
    with pytest.raises(Exception, match="not free"):
        services.placement_transfer(actor=manager, placement=moved, room=free)
    with pytest.raises(Exception, match="centralised days end"):
        services.placement_move_home(actor=manager, placement=moved)
    back_date(moved, 7)
    home = services.placement_move_home(actor=manager, placement=Placement.objects.get(pk=moved.pk))
    assert (home.status, home.site.kind) == ("home", "home")
    assert Room.objects.get(pk=free.pk).status == "cleaning"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2000, 1500), "red").save(out, format="JPEG")
    return out.getvalue()


def test_home_quarantine_seal_with_photo_and_a_violation_alarm(jurisdiction, users, api_client):
    person = PersonFactory(grid=jurisdiction.grid_a)
    placement = services.placement_create(actor=None, person=person, tier="secondary")
    worker = api_client(users["grid_worker"])
    not_a_photo = io.BytesIO(b"not an image")
    not_a_photo.name = "seal.jpg"
    garbage = worker.post(
        f"/api/v1/quarantine/placements/{placement.pk}/seals",
        {"number": "FT-1", "photo": not_a_photo},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert (garbage.status_code, garbage.json()["field"]) == (400, "photo")
    assert not placement.seals.exists()
    photo = io.BytesIO(_jpeg())
    photo.name = "seal.jpg"
    sealed = worker.post(
        f"/api/v1/quarantine/placements/{placement.pk}/seals",
        {"number": "FT-1", "photo": photo},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert sealed.status_code == 201, sealed.content
    stored = Image.open(io.BytesIO(bytes(placement.seals.get().photo)))
    assert max(stored.size) == 1280
    visit = call(
        worker,
        f"/api/v1/quarantine/placements/{placement.pk}/visits",
        {"result": "absent", "team": "三人小组"},
    )
    assert visit.status_code == 201
    assert Event.objects.get(type="quarantine.alarm").payload["kind"] == "violation"
    bad = call(worker, f"/api/v1/quarantine/placements/{placement.pk}/visits", {"result": "maybe"})
    assert bad.status_code == 400


def test_retention_deidentifies_exactly_the_closed_expired_records(jurisdiction, users):
    hotel(jurisdiction.grid_a)
    old, recent, still_open = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(3))
    placements = {
        p: services.placement_create(actor=None, person=p, tier="secondary")
        for p in (old, recent, still_open)
    }
    for person in (old, recent):
        services.report_submit(
            actor=None, placement=placements[person], temperature="36.5", client_id=uuid.uuid4(), note="咽痛"
        )
        services.placement_cancel(actor=None, placement=placements[person], reason="不是密接")
    now = timezone.now()
    Placement.objects.filter(pk=placements[old].pk).update(released_at=now - dt.timedelta(days=29))
    assert services.placements_deidentify_expired(now=now) == 1
    gone = Placement.objects.get(pk=placements[old].pk)
    assert (gone.person_id, gone.sex, gone.org_code) == (None, old.sex, old.org_code)
    assert gone.age_band
    assert HealthReport.objects.get(placement=gone).note == ""
    assert Placement.objects.get(pk=placements[recent].pk).person_id == recent.pk
    assert Placement.objects.get(pk=placements[still_open].pk).person_id == still_open.pk
    assert AuditEntry.objects.filter(action="quarantine.deidentify", detail__count=1).exists()
    assert services.placements_deidentify_expired(now=now) == 0


def test_tests_due_today_go_out_per_site_and_per_grid(jurisdiction, django_capture_on_commit_callbacks):
    site = hotel(jurisdiction.grid_a)
    central = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))
    home = services.placement_create(
        actor=None, person=PersonFactory(grid=jurisdiction.grid_b), tier="secondary"
    )
    assert services.tests_due_publish() == 2
    due = {
        e.payload.get("site") or e.payload.get("grid"): e.payload
        for e in Event.objects.filter(type="quarantine.tests_due")
    }
    assert due[str(site.pk)]["people"] == [{"person_id": central.person_id, "day": 1}]
    assert due[jurisdiction.grid_b.code]["door_to_door"] is True
    assert due[jurisdiction.grid_b.code]["people"] == [{"person_id": home.person_id, "day": 1}]
