"""The demo's supplies step: the catalogue, a point for every place that uses supplies, a ledger that adds
up, transfers in every state with one mismatch, some points short and the officer told."""

from __future__ import annotations

import pytest

from epigrid.core.models import Notice, OrgLevel, OrgUnit, User
from epigrid.quarantine import services as quarantine
from epigrid.simulation import district
from epigrid.simulation.plan import plan_district
from epigrid.supplies import selectors
from epigrid.supplies.models import (
    HoldingPoint,
    Item,
    Movement,
    MovementKind,
    PointKind,
    Transfer,
    TransferStatus,
)
from epigrid.supplies.services import ledger
from epigrid.testing import services as testing

SEED = 5
PREREQUISITES = ("org_units", "households", "residents", "accounts", "vaccination_sites")


@pytest.fixture
def loaded(db, django_capture_on_commit_callbacks):
    ctx = district.DemoContext(plan=plan_district("tiny", SEED))
    steps = dict(district.STEPS)
    for name in PREREQUISITES:
        steps[name](ctx)
    # The places the testing and quarantine steps would have made (those steps are slow and not needed here).
    grid = min((u for u in ctx.units.values() if u.level == OrgLevel.GRID), key=lambda u: u.code)
    testing.sampling_point_create(actor=None, name="第一网格核酸采样点", kind="fixed", grid=grid)
    quarantine.site_create(actor=None, name="区集中隔离点", grid=grid, rooms=[("101", 1, 1)])
    with django_capture_on_commit_callbacks(execute=True):
        steps["supplies"](ctx)
    return ctx


def test_the_step_runs_after_testing_and_vaccination():
    names = [name for name, _step in district.STEPS]
    assert names.index("supplies") > max(names.index(n) for n in ("testing", "vaccination_sites", "accounts"))


def test_the_demo_district_s_supplies(loaded):
    assert Item.objects.count() == 12 and Item.objects.filter(name__contains="口罩").count() == 2
    kinds = set(HoldingPoint.objects.values_list("kind", flat=True))
    assert kinds == set(PointKind.values)
    communities = OrgUnit.objects.filter(level=OrgLevel.COMMUNITY).count()
    assert HoldingPoint.objects.filter(kind=PointKind.COMMUNITY_STORE).count() == communities
    consumed_days = {m.at.date() for m in Movement.objects.filter(kind=MovementKind.CONSUME)}
    assert len(consumed_days) >= 13
    assert ledger.stock_reconcile().ok
    statuses = set(Transfer.objects.values_list("status", flat=True))
    assert statuses >= {s for s in TransferStatus.values if s != TransferStatus.CANCELLED}
    assert Transfer.objects.filter(has_discrepancy=True).count() == 1
    officer = User.objects.get(username="supplies")
    alerts = selectors.alerts(actor=officer)
    assert any(a.is_shortage for a in alerts) and any(a.kind == "expiring" for a in alerts)
    assert Notice.objects.filter(user=officer, kind="supplies.shortage").exists()
    assert any(row.shortfall >= 0 and row.need for row in selectors.forecast(actor=officer))
