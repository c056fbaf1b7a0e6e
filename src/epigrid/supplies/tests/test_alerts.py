"""Alerts at their boundaries: minimum level, days of cover at the current rate, expiry; the hourly shortage
check announces each episode once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core.models import Event, Notice
from epigrid.supplies import selectors
from epigrid.supplies.models import ReorderRule
from epigrid.supplies.services import catalogue, ledger, shortages
from epigrid.supplies.tests import factories


@pytest.fixture
def point(jurisdiction):
    return factories.point(jurisdiction.grid_a)


def _kinds(point):
    return sorted((a.kind, a.item.pk) for a in selectors.alerts(actor=None, point=point))


def test_below_minimum_is_strictly_below(point):
    masks = factories.item()
    catalogue.reorder_rule_set(actor=None, point=point, item=masks, min_quantity=10)
    factories.receive(point, masks, 10)
    assert _kinds(point) == []
    ledger.stock_consume(actor=None, point=point, item=masks, quantity=1)
    [alert] = selectors.alerts(actor=None, point=point)
    assert (alert.kind, alert.on_hand, alert.min_quantity) == ("below_min", 9, 10)


def test_expired_stock_does_not_count_towards_the_minimum(point):
    swabs = factories.item(shelf_life_days=365)
    catalogue.reorder_rule_set(actor=None, point=point, item=swabs, min_quantity=5)
    factories.expired_batch(point, swabs, 100)
    assert ("below_min", swabs.pk) in _kinds(point)


def test_days_of_cover_at_the_rate_of_the_last_fourteen_days(point):
    gloves = factories.item()
    catalogue.reorder_rule_set(actor=None, point=point, item=gloves, min_quantity=0, min_cover_days=5)
    now = timezone.now()
    factories.receive(point, gloves, 100)
    ledger.stock_consume(actor=None, point=point, item=gloves, quantity=62, at=now - dt.timedelta(days=15))
    assert _kinds(point) == []  # used, but not within the rate window: no rate, no cover alert
    ledger.stock_consume(actor=None, point=point, item=gloves, quantity=28, at=now - dt.timedelta(days=2))
    # 28 used in 14 days = 2 a day; 10 on hand = 5 days of cover: at the minimum, not below it.
    assert _kinds(point) == []
    ledger.stock_consume(actor=None, point=point, item=gloves, quantity=1)
    [alert] = selectors.alerts(actor=None, point=point)
    assert alert.kind == "low_cover" and alert.on_hand == 9
    assert alert.rate == pytest.approx(29 / 14) and alert.cover_days == pytest.approx(9 / (29 / 14))


def test_expiry_warning_within_thirty_days_and_expired_on_hand(point):
    swabs = factories.item(shelf_life_days=365)
    factories.receive(point, swabs, 1, lot="D31", expires_in_days=31)
    assert _kinds(point) == []
    factories.receive(point, swabs, 1, lot="D30", expires_in_days=30)
    factories.receive(point, swabs, 1, lot="D0", expires_in_days=0)
    old = factories.expired_batch(point, swabs, 4, days_ago=1)
    found = {a.batch.lot_number: a.kind for a in selectors.alerts(actor=None, point=point)}
    assert found == {"D30": "expiring", "D0": "expiring", old.lot_number: "expired"}
    ledger.stock_write_off(actor=None, point=point)
    assert old.lot_number not in {a.batch.lot_number for a in selectors.alerts(actor=None, point=point)}


def test_alerts_are_scoped(jurisdiction, users):
    masks = factories.item()
    far = factories.point(jurisdiction.grid_b)
    catalogue.reorder_rule_set(actor=None, point=far, item=masks, min_quantity=1)
    assert selectors.alerts(actor=users["community_officer"]) == []
    assert len(selectors.alerts(actor=users["supplies_officer"])) == 1


def test_a_shortage_is_announced_once_per_episode(point, users, jurisdiction):
    masks = factories.item()
    catalogue.reorder_rule_set(actor=None, point=point, item=masks, min_quantity=10)
    factories.receive(point, masks, 5)
    officer = users["supplies_officer"]
    assert shortages.shortages_announce() == 1
    event = Event.objects.get(type="supplies.shortage")
    assert event.org_code == point.org_code
    assert event.payload["reason"] == "below_min"
    assert (event.payload["point_id"], event.payload["item_id"], event.payload["on_hand"]) == (
        point.pk,
        masks.pk,
        5,
    )
    notice = Notice.objects.get(kind="supplies.shortage")
    assert notice.user == officer and notice.url == f"/supplies/points/{point.pk}/"
    assert ReorderRule.objects.get().short_since is not None
    assert shortages.shortages_announce() == 0  # the next hour: still short, already announced
    factories.receive(point, masks, 10)
    assert shortages.shortages_announce() == 0
    assert ReorderRule.objects.get().short_since is None  # the episode is over
    ledger.stock_consume(actor=None, point=point, item=masks, quantity=6)
    assert shortages.shortages_announce() == 1
    assert Event.objects.filter(type="supplies.shortage").count() == 2
    assert Notice.objects.filter(kind="supplies.shortage").count() == 2


def test_the_periodic_job_is_registered():
    from epigrid.core import periodic

    job = next(j for j in periodic.jobs() if j.name == "supplies_shortages")
    assert job.every == dt.timedelta(hours=1)
