"""Alarms over time: one per subject while active, clearing when the bag moves on, handling by officers,
the real-time handler, the command center and the notices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.command.models import Alarm
from epigrid.core import events
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import AuditEntry, Notice
from epigrid.medwaste.models import AlarmKind, AlarmState, Stage, WasteAlarm
from epigrid.medwaste.services.alarms import alarm_acknowledge, alarm_close, waste_alarms_evaluate
from epigrid.medwaste.tests import wasterows

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def c(jurisdiction):
    return wasterows.chain(jurisdiction.grid_a)


def overdue_bag(c, now, hours=49):
    at = now - hours * H
    return wasterows.bag(c, [(Stage.LABELLED, at - H, 1000), (Stage.STORED, at, 1000)])


def test_one_alarm_per_subject_while_active_and_last_seen_refreshes(c, now):
    b = overdue_bag(c, now)
    first = waste_alarms_evaluate(now=now)
    second = waste_alarms_evaluate(now=now + H)
    alarms = WasteAlarm.objects.filter(subject=f"bag:{b.pk}")
    assert alarms.count() == 1
    assert alarms.get().last_seen_at == now + H and alarms.get().opened_at == now
    assert first.opened[AlarmKind.STORAGE_OVERDUE] == 1 and not second.opened
    assert second.active[AlarmKind.STORAGE_OVERDUE] == 1


def test_the_alarm_resolves_itself_when_the_bag_is_collected(c, now):
    b = overdue_bag(c, now)
    waste_alarms_evaluate(now=now)
    wasterows.move(b, c, Stage.COLLECTED, now + H, 1000)
    result = waste_alarms_evaluate(now=now + 2 * H)
    alarm = WasteAlarm.objects.get(subject=f"bag:{b.pk}")
    assert (alarm.active, alarm.state, alarm.closed_at, alarm.closed_by) == (
        False,
        AlarmState.RESOLVED,
        now + 2 * H,
        None,
    )
    assert result.resolved[AlarmKind.STORAGE_OVERDUE] == 1


def test_an_officer_closes_with_a_note_and_an_empty_note_is_refused(c, now, users):
    overdue_bag(c, now)
    waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get()
    with pytest.raises(DomainError, match="Say what was done"):
        alarm_close(actor=users["waste_officer"], alarm=alarm, note="   ")
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.OPEN
    closed = alarm_close(actor=users["waste_officer"], alarm=alarm, note="已通知医院当日转运")
    assert (closed.state, closed.note, closed.closed_by) == (
        AlarmState.CLOSED,
        "已通知医院当日转运",
        users["waste_officer"],
    )
    assert AuditEntry.objects.filter(action="medwaste.alarm_close", object_id=str(alarm.pk)).exists()


def test_a_closed_alarm_is_not_raised_again_while_its_condition_lasts(c, now, users):
    b = overdue_bag(c, now)
    waste_alarms_evaluate(now=now)
    alarm_close(actor=users["waste_officer"], alarm=WasteAlarm.objects.get(), note="处理中")
    waste_alarms_evaluate(now=now + H)
    assert WasteAlarm.objects.filter(subject=f"bag:{b.pk}").count() == 1
    wasterows.move(b, c, Stage.COLLECTED, now + 2 * H, 1000)
    waste_alarms_evaluate(now=now + 3 * H)
    alarm = WasteAlarm.objects.get()
    assert (alarm.active, alarm.state) == (False, AlarmState.CLOSED)  # the officer's close stands


def test_compare_and_set_between_two_officers(c, now, users, jurisdiction):
    from epigrid.core.tests.factories import UserFactory

    overdue_bag(c, now)
    waste_alarms_evaluate(now=now)
    other = UserFactory(username="waste2", role="waste_officer", org_unit=jurisdiction.district)
    seen_by_first = WasteAlarm.objects.get()
    seen_by_second = WasteAlarm.objects.get()
    alarm_acknowledge(actor=users["waste_officer"], alarm=seen_by_first)
    with pytest.raises(Conflict, match="Someone else"):
        alarm_acknowledge(actor=other, alarm=seen_by_second)
    # The second closes what they saw as open: refused, the first one's acknowledgement is not overwritten.
    with pytest.raises(Conflict, match="Someone else"):
        alarm_close(actor=other, alarm=seen_by_second, note="x", expected_state=AlarmState.OPEN)
    alarm_close(actor=other, alarm=seen_by_second, note="已处理", expected_state=AlarmState.ACKNOWLEDGED)
    with pytest.raises(Conflict, match="already closed"):
        alarm_close(actor=users["waste_officer"], alarm=seen_by_first, note="再次")
    seen_by_first.refresh_from_db()
    assert seen_by_first.acknowledged_by == users["waste_officer"] and seen_by_first.closed_by == other


def test_handling_needs_waste_manage_and_scope(c, now, users, jurisdiction):
    from epigrid.core.tests.factories import UserFactory

    overdue_bag(c, now)
    waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get()
    outside = UserFactory(username="waste-b", role="waste_officer", org_unit=jurisdiction.street_b)
    for actor in (users["grid_worker"], outside):
        with pytest.raises(Forbidden):
            alarm_acknowledge(actor=actor, alarm=alarm)


def test_the_handler_reevaluates_the_bags_of_an_accepted_handover(c, now, django_capture_on_commit_callbacks):
    b = wasterows.bag(c, [(Stage.LABELLED, now - 3 * H, 1000), (Stage.STORED, now - 2 * H, 1000)])
    other = wasterows.bag(c, [(Stage.LABELLED, now - 3 * H, 1000), (Stage.STORED, now - 2 * H, 1000)])
    wasterows.move(b, c, Stage.COLLECTED, now - H, 900)  # 10 % lighter on the vehicle
    wasterows.move(other, c, Stage.COLLECTED, now - H, 800)  # not in the event: left to the periodic run
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            "waste.handover_accepted",
            payload={
                "handover_id": 1,
                "stage": Stage.COLLECTED,
                "bag_ids": [b.pk],
                "to_party_id": c.company.pk,
            },
            org_code=c.producer.org_code,
        )
    alarm = WasteAlarm.objects.get()
    assert (alarm.kind, alarm.subject) == (AlarmKind.WEIGHT_MISMATCH, f"bag:{b.pk}")


def test_while_history_is_loaded_the_handler_waits_for_the_full_evaluation(
    c, now, django_capture_on_commit_callbacks
):
    from epigrid.medwaste.services.alarms import realtime_paused

    b = wasterows.bag(c, [(Stage.LABELLED, now - 3 * H, 1000), (Stage.STORED, now - 2 * H, 1000)])
    wasterows.move(b, c, Stage.COLLECTED, now - H, 900)
    payload = {"handover_id": 1, "stage": Stage.COLLECTED, "bag_ids": [b.pk], "to_party_id": c.company.pk}
    with realtime_paused(), django_capture_on_commit_callbacks(execute=True):
        events.publish("waste.handover_accepted", payload=payload, org_code=c.producer.org_code)
    assert not WasteAlarm.objects.exists()
    waste_alarms_evaluate(now=now)
    assert WasteAlarm.objects.get().kind == AlarmKind.WEIGHT_MISMATCH
    with django_capture_on_commit_callbacks(execute=True):  # and the pause ended with the block
        events.publish("waste.handover_accepted", payload=payload, org_code=c.producer.org_code)
    assert WasteAlarm.objects.get().last_seen_at > now


def test_a_partial_evaluation_leaves_other_subjects_alone(c, now):
    a = overdue_bag(c, now)
    b = overdue_bag(c, now)
    waste_alarms_evaluate(now=now)
    wasterows.move(a, c, Stage.COLLECTED, now + H, 1000)
    wasterows.move(b, c, Stage.COLLECTED, now + H, 1000)
    waste_alarms_evaluate(now=now + 2 * H, bag_ids=[a.pk])
    assert set(WasteAlarm.objects.filter(active=True).values_list("subject", flat=True)) == {f"bag:{b.pk}"}


def test_an_alarm_reaches_the_command_center_and_the_officers(
    c, now, users, django_capture_on_commit_callbacks
):
    b = overdue_bag(c, now)
    wasterows.bag(c, [(Stage.LABELLED, now - 2 * H, 1000), (Stage.STORED, now - 37 * H, 1000)])  # a warning
    with django_capture_on_commit_callbacks(execute=True):
        waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get(subject=f"bag:{b.pk}")
    (command,) = Alarm.objects.filter(kind="waste.alarm")  # warnings stay in the waste module
    assert command.subject == f"waste:{alarm.pk}"
    assert (command.lat, command.lng) == (c.institution.lat, c.institution.lng)  # where the bag is stored
    assert command.org_code == c.producer.org_code and command.params["place"] == c.institution.name
    notice = Notice.objects.get(user=users["waste_officer"], kind="waste.alarm")
    assert notice.url.endswith(f"/{alarm.pk}/")
    assert not Notice.objects.filter(user=users["grid_worker"], kind="waste.alarm").exists()


def test_an_alarm_of_a_party_without_coordinates_stands_at_its_area(
    jurisdiction, now, django_capture_on_commit_callbacks
):
    c = wasterows.chain(jurisdiction.grid_b)
    wasterows.bag(c, [(Stage.LABELLED, now - 25 * H, 1000)])
    with django_capture_on_commit_callbacks(execute=True):
        waste_alarms_evaluate(now=now)
    command = Alarm.objects.get(kind="waste.alarm")
    grid = jurisdiction.grid_b
    assert (command.lat, command.lng) == (grid.centroid_lat, grid.centroid_lng)


def test_a_bag_alarm_stands_where_the_bag_is(c, now, django_capture_on_commit_callbacks):
    bag = wasterows.bag(c, [(Stage.LABELLED, now - 3 * H, 1000), (Stage.STORED, now - 2 * H, 1200)])
    with django_capture_on_commit_callbacks(execute=True):
        waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get(subject=f"bag:{bag.pk}")
    assert alarm.kind == AlarmKind.WEIGHT_MISMATCH
    command = Alarm.objects.get(kind="waste.alarm")
    assert (command.lat, command.lng) == (c.institution.lat, c.institution.lng)  # in its temporary storage


def test_a_real_collection_clears_the_storage_alarm_at_once(jurisdiction, django_capture_on_commit_callbacks):
    """Through the chain's own services: the handover's ``waste.handover_accepted`` re-evaluates the bag."""
    from epigrid.medwaste.services import handovers
    from epigrid.medwaste.tests import factories

    chain = factories.chain(jurisdiction.grid_a, members=False)
    bag = factories.bag_at(Stage.STORED, chain=chain, at=timezone.now() - 49 * H)
    waste_alarms_evaluate()
    overdue = WasteAlarm.objects.get(subject=f"bag:{bag.pk}", kind=AlarmKind.STORAGE_OVERDUE)
    trip = factories.open_trip(chain)
    offer = handovers.handover_offer(
        actor=None,
        from_party=chain.institution,
        to_party=chain.company,
        bags=[bag],
        stage=Stage.COLLECTED,
        trip=trip,
    )
    with django_capture_on_commit_callbacks(execute=True):
        handovers.handover_accept(actor=None, handover=offer, weights={bag.pk: 900}, trip=trip)
    overdue.refresh_from_db()
    assert (overdue.active, overdue.state) == (False, AlarmState.RESOLVED)
    assert kinds(bag) == {AlarmKind.WEIGHT_MISMATCH}  # 1,200 g labelled, 900 g on the vehicle


def kinds(bag) -> set[str]:
    return set(WasteAlarm.objects.filter(subject=f"bag:{bag.pk}", active=True).values_list("kind", flat=True))
