"""Scope cases of supplies' models (see ``epigrid.core.testing``).

No detail URLs: the generic suite opens them as a grid worker, whose role has no supplies permission (the
pages answer 403 before scope is asked); the page tests check 404 out of scope for the roles that hold it.
"""

from __future__ import annotations

from epigrid.core.testing import scope_case
from epigrid.supplies.services import catalogue, ledger, transfers
from epigrid.supplies.tests import factories


@scope_case("supplies.holdingpoint")
def make_point(grid, person):
    return factories.point(grid)


@scope_case("supplies.stock")
def make_stock(grid, person):
    point, item = factories.point(grid), factories.item()
    factories.receive(point, item, 5)
    return point.stock.get()


@scope_case("supplies.movement")
def make_movement(grid, person):
    return factories.receive(factories.point(grid), factories.item(), 5).movements[0]


@scope_case("supplies.reorderrule")
def make_rule(grid, person):
    return catalogue.reorder_rule_set(
        actor=None, point=factories.point(grid), item=factories.item(), min_quantity=10
    )


@scope_case("supplies.transfer")
def make_transfer(grid, person):
    # Sent from a point of the same grid: the sender's side must not widen what the other grid sees.
    item = factories.item()
    source = factories.point(grid)
    return transfers.transfer_request(
        actor=None, from_point=source, to_point=factories.point(grid), lines=[(item, 3)]
    )


@scope_case("supplies.stockcount")
def make_count(grid, person):
    point, item = factories.point(grid), factories.item()
    batch = factories.receive(point, item, 5).movements[0].batch
    return ledger.stock_count_record(actor=None, point=point, counts=[(batch, 4)])
