"""Two clerks taking the last units at once: the database lets exactly one through."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from epigrid.core.errors import Conflict
from epigrid.supplies.models import Movement, MovementKind, Stock
from epigrid.supplies.services import ledger
from epigrid.supplies.tests import factories


@pytest.mark.django_db(transaction=True)
def test_two_clerks_racing_for_the_last_units_cannot_drive_stock_negative(jurisdiction):
    point, masks = factories.point(jurisdiction.grid_a), factories.item()
    factories.receive(point, masks, 5)
    clerks = 4
    start = threading.Barrier(clerks)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            start.wait()
            ledger.stock_consume(actor=None, point=point, item=masks, quantity=3)
            result = "used"
        except Conflict:
            result = "short"
        except Exception as err:  # any other outcome is a failure the assertion shows
            result = f"error: {err!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(clerks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["short"] * (clerks - 1) + ["used"], outcomes
    assert Stock.objects.get(point=point).quantity == 2
    assert Movement.objects.filter(kind=MovementKind.CONSUME).count() == 1
    assert ledger.stock_reconcile().ok
