"""Group commit: concurrent check-ins share transactions, each is durable, replays stay idempotent."""

from __future__ import annotations

import threading
import uuid

import pytest

from epigrid.checkins import services
from epigrid.checkins.models import CheckIn
from epigrid.core.tests.factories import PersonFactory
from epigrid.places.tests.factories import VenueFactory


# transactional_db: outside a transaction, check-ins go through the writer thread
def test_concurrent_check_ins_and_replays_through_the_writer(transactional_db, jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a)
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(8)]
    ids = [uuid.uuid4() for _ in range(40)]
    results: dict[uuid.UUID, list] = {cid: [] for cid in ids}
    errors = []

    def worker() -> None:
        from django.db import connection

        try:
            for n, cid in enumerate(ids):  # every thread sends every client id: one stores, the rest replay
                person = people[n % len(people)]
                result = services.checkin_record(actor=None, venue=venue, person=person, client_id=cid)
                results[cid].append((result.checkin.pk, result.created))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert CheckIn.objects.count() == 40
    for cid, outcomes in results.items():
        assert len({pk for pk, _ in outcomes}) == 1  # everyone got the same row
        assert sum(created for _, created in outcomes) == 1  # exactly one request created it
        assert CheckIn.objects.get(client_id=cid).pk == outcomes[0][0]


def test_a_replay_for_another_venue_is_still_a_conflict(transactional_db, jurisdiction):
    from epigrid.core.errors import Conflict

    person = PersonFactory(grid=jurisdiction.grid_a)
    venue_a, venue_b = VenueFactory(grid=jurisdiction.grid_a), VenueFactory(grid=jurisdiction.grid_a)
    cid = uuid.uuid4()
    assert services.checkin_record(actor=None, venue=venue_a, person=person, client_id=cid).created
    with pytest.raises(Conflict):
        services.checkin_record(actor=None, venue=venue_b, person=person, client_id=cid)
