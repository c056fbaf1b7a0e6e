"""Each waste alarm rule at its boundary, through ``waste_alarms_evaluate`` over real rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.medwaste import rules
from epigrid.medwaste.models import AlarmKind, AlarmLevel, AlarmState, Anomaly, Stage, WasteAlarm
from epigrid.medwaste.services.alarms import waste_alarms_evaluate
from epigrid.medwaste.tests import wasterows

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def c(jurisdiction):
    return wasterows.chain(jurisdiction.grid_a)


def stored_since(c, now, age):
    """A bag labelled an hour before it reached storage ``age`` ago (and handed over, so no producer alarm)."""
    at = now - age
    return wasterows.bag(c, [(Stage.LABELLED, at - H, 1000), (Stage.STORED, at, 1000)])


def kinds_of(subject: str) -> set[str]:
    return set(WasteAlarm.objects.filter(subject=subject, active=True).values_list("kind", flat=True))


# --- storage --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (36 * H - M, set()),
        (36 * H, set()),  # exactly 36 h is not beyond the warning
        (36 * H + M, {AlarmKind.STORAGE_WARNING}),
        (47 * H + 59 * M, {AlarmKind.STORAGE_WARNING}),
        (48 * H, {AlarmKind.STORAGE_WARNING}),  # exactly 48 h is within the limit
        (48 * H + M, {AlarmKind.STORAGE_OVERDUE}),
        (49 * H, {AlarmKind.STORAGE_OVERDUE}),
    ],
)
def test_storage_rule_at_its_boundaries(c, now, age, expected):
    b = stored_since(c, now, age)
    waste_alarms_evaluate(now=now)
    assert kinds_of(f"bag:{b.pk}") == expected


def test_storage_thresholds_come_from_the_general_rules(c, now):
    wasterows.set_rules(waste_storage_warning_hours=20, waste_storage_limit_hours=24)
    b = stored_since(c, now, 25 * H)
    waste_alarms_evaluate(now=now)
    assert kinds_of(f"bag:{b.pk}") == {AlarmKind.STORAGE_OVERDUE}


def test_a_warning_becoming_overdue_resolves_the_warning_and_opens_the_alarm(c, now):
    b = stored_since(c, now, 40 * H)
    waste_alarms_evaluate(now=now)
    warning = WasteAlarm.objects.get(subject=f"bag:{b.pk}", kind=AlarmKind.STORAGE_WARNING)
    assert warning.level == AlarmLevel.WARNING

    result = waste_alarms_evaluate(now=now + 9 * H)
    warning.refresh_from_db()
    assert (warning.active, warning.state, warning.closed_at) == (False, AlarmState.RESOLVED, now + 9 * H)
    overdue = WasteAlarm.objects.get(subject=f"bag:{b.pk}", active=True)
    assert (overdue.kind, overdue.level) == (AlarmKind.STORAGE_OVERDUE, AlarmLevel.ALARM)
    assert result.opened[AlarmKind.STORAGE_OVERDUE] == 1 and result.resolved[AlarmKind.STORAGE_WARNING] == 1


# --- weights --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("later", "alarm"),
    [(1050, False), (950, False), (1051, True), (949, True), (1000, False)],
)
def test_weight_tolerance_is_five_percent_of_the_previous_step(c, now, later, alarm):
    b = wasterows.bag(c, [(Stage.LABELLED, now - 3 * H, 1000), (Stage.STORED, now - 2 * H, later)])
    waste_alarms_evaluate(now=now)
    assert (AlarmKind.WEIGHT_MISMATCH in kinds_of(f"bag:{b.pk}")) is alarm


def test_weight_is_compared_with_the_previous_step_not_the_first(c, now):
    # 1000 -> 1040 (4 %) -> 1085 (4.3 % of 1040, 8.5 % of the first): within at every step.
    steps = [
        (Stage.LABELLED, now - 4 * H, 1000),
        (Stage.STORED, now - 3 * H, 1040),
        (Stage.COLLECTED, now - H, 1085),
    ]
    b = wasterows.bag(c, steps)
    # 2060 -> 2163 is exactly 5 % of 2060 (103 g), whose float product is not exact.
    exact = wasterows.bag(c, [(Stage.LABELLED, now - 2 * H, 2060), (Stage.STORED, now - H, 2163)])
    drifted = wasterows.bag(c, [(Stage.LABELLED, now - 2 * H, 2060), (Stage.STORED, now - H, 2164)])
    waste_alarms_evaluate(now=now)
    assert kinds_of(f"bag:{b.pk}") == set() and kinds_of(f"bag:{exact.pk}") == set()
    alarm = WasteAlarm.objects.get(subject=f"bag:{drifted.pk}", active=True)
    assert alarm.kind == AlarmKind.WEIGHT_MISMATCH and alarm.level == AlarmLevel.ALARM
    assert alarm.detail["weight_g"] == 2164 and alarm.detail["previous_g"] == 2060


def test_tolerance_is_a_general_rule(c, now):
    wasterows.set_rules(waste_weight_tolerance=0.1)
    assert rules.thresholds().weight_tolerance_bp == 1000
    b = wasterows.bag(c, [(Stage.LABELLED, now - 2 * H, 1000), (Stage.STORED, now - H, 1090)])
    waste_alarms_evaluate(now=now)
    assert kinds_of(f"bag:{b.pk}") == set()


# --- steps ----------------------------------------------------------------------------------------------


def test_a_skipped_step_is_a_missing_step_alarm(c, now):
    complete = wasterows.bag(
        c,
        [
            (Stage.LABELLED, now - 5 * H, 1000),
            (Stage.STORED, now - 4 * H, 1000),
            (Stage.COLLECTED, now - H, 1000),
        ],
    )
    skipped = wasterows.bag(c, [(Stage.LABELLED, now - 5 * H, 1000), (Stage.COLLECTED, now - H, 1000)])
    waste_alarms_evaluate(now=now)
    assert kinds_of(f"bag:{complete.pk}") == set()
    alarm = WasteAlarm.objects.get(subject=f"bag:{skipped.pk}", active=True)
    assert (alarm.kind, alarm.level, alarm.detail["stage"]) == (
        AlarmKind.MISSING_STEP,
        AlarmLevel.ALARM,
        "collected",
    )


def test_the_replay_marks_of_the_chain_count(c, now):
    marked = wasterows.bag(
        c,
        [(Stage.LABELLED, now - 5 * H, 1000), (Stage.STORED, now - 4 * H, 1000)],
        anomalies={Stage.STORED: Anomaly.MISSING_STEP},
    )
    waste_alarms_evaluate(now=now)
    assert kinds_of(f"bag:{marked.pk}") == {AlarmKind.MISSING_STEP}


@pytest.mark.parametrize(("gap", "alarm"), [(dt.timedelta(0), False), (dt.timedelta(seconds=-1), True)])
def test_a_step_recorded_before_the_step_before_it_is_out_of_order(c, now, gap, alarm):
    stored_at = now - 3 * H
    b = wasterows.bag(c, [(Stage.LABELLED, now - 4 * H, 1000), (Stage.STORED, stored_at, 1000)])
    wasterows.move(b, c, Stage.COLLECTED, stored_at + gap, 1000)
    waste_alarms_evaluate(now=now)
    found = WasteAlarm.objects.filter(subject=f"bag:{b.pk}", kind=AlarmKind.OUT_OF_ORDER, active=True).first()
    assert (found is not None) is alarm
    if found is not None:
        assert found.level == AlarmLevel.WARNING


# --- producers and institutions -------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "alarm"), [(24 * H - M, False), (24 * H, False), (24 * H + M, True)])
def test_a_producer_holding_a_bag_beyond_the_handover_time(c, now, age, alarm):
    wasterows.bag(c, [(Stage.LABELLED, now - age, 1000)])
    wasterows.bag(c, [(Stage.LABELLED, now - age, 1000)])
    waste_alarms_evaluate(now=now)
    alarms = WasteAlarm.objects.filter(kind=AlarmKind.NO_HANDOVER, active=True)
    if alarm:
        (one,) = alarms  # one alarm per producer, however many bags
        assert one.subject == f"party:{c.producer.pk}" and one.party_id == c.producer.pk
        assert one.detail["bags"] == 2 and one.level == AlarmLevel.ALARM
    else:
        assert not alarms.exists()


@pytest.mark.parametrize(("waited", "alarm"), [(26 * H - M, False), (26 * H, False), (26 * H + M, True)])
def test_collection_overdue_at_interval_plus_grace(jurisdiction, now, waited, alarm):
    c = wasterows.chain(jurisdiction.grid_a, interval=24)
    # Last collection `waited` ago; a bag stored before it is still waiting.
    old = wasterows.bag(c, [(Stage.LABELLED, now - 60 * H, 1000), (Stage.STORED, now - 30 * H, 1000)])
    collected = wasterows.bag(c, [(Stage.LABELLED, now - 50 * H, 1000), (Stage.STORED, now - 40 * H, 1000)])
    wasterows.move(collected, c, Stage.COLLECTED, now - waited, 1000)
    waste_alarms_evaluate(now=now)
    found = WasteAlarm.objects.filter(kind=AlarmKind.COLLECTION_OVERDUE, subject=f"party:{c.institution.pk}")
    assert found.exists() is alarm
    assert old.pk  # still in storage


def test_collection_waits_only_from_the_oldest_bag_when_the_store_was_empty(jurisdiction, now):
    c = wasterows.chain(jurisdiction.grid_a, interval=24)
    gone = wasterows.bag(c, [(Stage.LABELLED, now - 100 * H, 1000), (Stage.STORED, now - 99 * H, 1000)])
    wasterows.move(gone, c, Stage.COLLECTED, now - 98 * H, 1000)
    wasterows.bag(c, [(Stage.LABELLED, now - 11 * H, 1000), (Stage.STORED, now - 10 * H, 1000)])
    waste_alarms_evaluate(now=now)
    assert not WasteAlarm.objects.filter(kind=AlarmKind.COLLECTION_OVERDUE).exists()
    waste_alarms_evaluate(now=now + 16 * H + M)  # the bag has now waited 26 h + 1 min
    assert WasteAlarm.objects.filter(kind=AlarmKind.COLLECTION_OVERDUE, active=True).count() == 1


def test_institutions_without_an_interval_are_not_checked(c, now):
    stored_since(c, now, 200 * H)
    waste_alarms_evaluate(now=now)
    assert not WasteAlarm.objects.filter(kind=AlarmKind.COLLECTION_OVERDUE).exists()


def test_rule_functions_say_the_same_boundaries():
    limits = rules.Thresholds(36 * H, 48 * H, 500, 24 * H, 2 * H)
    assert rules.storage_kind(48 * H, limits) == AlarmKind.STORAGE_WARNING
    assert rules.storage_kind(48 * H + dt.timedelta(seconds=1), limits) == AlarmKind.STORAGE_OVERDUE
    assert rules.storage_kind(36 * H, limits) is None
    assert not rules.weight_differs(1000, 1050, limits) and rules.weight_differs(1000, 1051, limits)
    assert not rules.collection_overdue(26 * H, 24, limits) and rules.collection_overdue(
        26 * H + M, 24, limits
    )
    assert not rules.handover_overdue(24 * H, limits) and rules.handover_overdue(24 * H + M, limits)
