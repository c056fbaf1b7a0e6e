"""Group commit: concurrent check-ins share transactions, each is durable, replays stay idempotent."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.utils import timezone

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


def test_the_writer_reads_each_persons_colour_for_the_door(transactional_db, jurisdiction):
    """With group commit the writer looks up the colours of its batch: each request still gets its own
    person's current colour and reason, and the row stores it."""
    from epigrid.healthcode import services as healthcode

    venue = VenueFactory(grid=jurisdiction.grid_a)
    red, green = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_a)
    healthcode.facts_update(
        actor=None, person_ids=[red.pk], changes={"contact_tier": "close", "contact_at": timezone.now()}
    )
    outcomes = {}

    def check_in(person) -> None:
        from django.db import connection

        try:
            outcomes[person.pk] = services.checkin_record(
                actor=None, venue=venue, person=person, client_id=uuid.uuid4()
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=check_in, args=(p,)) for p in (red, green)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (outcomes[red.pk].colour.colour, outcomes[green.pk].colour.colour) == ("red", "green")
    assert outcomes[red.pk].colour.reason
    stored = dict(CheckIn.objects.values_list("person_id", "colour"))
    assert stored == {red.pk: "red", green.pk: "green"}
