"""The key-region archive: arrivals from the linked rows of lists and from self-reports.

This first version records the arrival; the risk level of the origin and the health-code facts follow.
"""

from __future__ import annotations

from django.utils import timezone

from epigrid.comparison.models import Arrival, ArrivalSource, ListRow, RowStatus
from epigrid.core.models import User


def arrivals_from_rows(*, actor: User | None, rows: list[ListRow]) -> int:
    """An arrival for each linked row that says when the person arrived; a repeat (same person, origin and
    day) is not stored twice. Returns how many are new."""
    fresh = [
        Arrival(
            person_id=row.person_id,
            org_code=row.org_code,
            origin=row.origin or row.origin_region_code,
            origin_region_code=row.origin_region_code,
            travel_mode=row.travel_mode,
            arrived_at=row.arrived_at,
            arrived_on=timezone.localdate(row.arrived_at),
            address=row.address,
            source=ArrivalSource.LIST,
            list_row=row,
        )
        for row in rows
        if row.person_id and row.arrived_at and row.status in (RowStatus.LINKED, RowStatus.PROVISIONAL)
    ]
    before = Arrival.objects.count()
    Arrival.objects.bulk_create(fresh, ignore_conflicts=True)
    return Arrival.objects.count() - before
