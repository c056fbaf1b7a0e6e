"""Placement: households together, capacity, tiers, no double placement, concurrency, contacts from a case."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from epigrid.core.models import Event
from epigrid.core.tests.factories import PersonFactory
from epigrid.healthcode.models import HealthCode
from epigrid.investigation import services as investigation
from epigrid.investigation.tests.factories import local, old_venue, stay
from epigrid.quarantine import services
from epigrid.quarantine.models import Placement, Room
from epigrid.quarantine.tests.factories import hotel, household

pytestmark = pytest.mark.django_db


def rooms_of(result) -> dict[int, str]:
    return {p.person_id: p.room.number for p in result.placed}


def test_households_stay_together_in_the_smallest_room_that_holds_them(jurisdiction, users):
    site = hotel(jurisdiction.grid_a)
    family = household(jurisdiction.grid_a, 3)
    couple = household(jurisdiction.grid_a, 2)
    single = PersonFactory(grid=jurisdiction.grid_a)
    requests = [services.PlacementRequest(p.pk, "close") for p in [*family, *couple, single]]
    result = services.placement_create_many(actor=users["quarantine_manager"], requests=requests, site=site)
    rooms = rooms_of(result)
    assert {rooms[p.pk] for p in family} == {"201"}
    assert {rooms[p.pk] for p in couple} == {"102"}
    assert rooms[single.pk] == "101"
    assert (result.already, result.no_room) == ([], [])
    assert set(Room.objects.filter(site=site, status="occupied").values_list("number", flat=True)) == {
        "101",
        "102",
        "201",
    }
    placement = result.placed[0]
    assert placement.plan["centralised_days"] == 7 and placement.plan["home_days"] == 3
    assert [t.day for t in placement.tests.filter(phase="centralised")] == [1, 2, 3, 5, 7]
    assert [t.day for t in placement.tests.filter(phase="home")] == [3]


def test_a_household_larger_than_any_room_takes_several_rooms_of_one_site(jurisdiction):
    site = hotel(jurisdiction.grid_a, rooms=[("1", 1, 2), ("2", 1, 2), ("3", 1, 1)])
    family = household(jurisdiction.grid_a, 4)
    result = services.placement_create_many(
        actor=None, requests=[services.PlacementRequest(p.pk) for p in family], site=site
    )
    assert sorted(rooms_of(result).values()) == ["1", "1", "2", "2"]


def test_capacity_is_respected_and_the_rest_reported(jurisdiction):
    site = hotel(jurisdiction.grid_a, rooms=[("1", 1, 1), ("2", 1, 1)])
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(3)]
    result = services.placement_create_many(
        actor=None, requests=[services.PlacementRequest(p.pk) for p in people], site=site
    )
    assert len(result.placed) == 2
    assert len(result.no_room) == 1
    assert Placement.objects.count() == 2


def test_secondary_contacts_go_home_and_nobody_is_placed_twice(jurisdiction):
    hotel(jurisdiction.grid_a)
    home = household(jurisdiction.grid_a, 2)
    first = services.placement_create_many(
        actor=None, requests=[services.PlacementRequest(p.pk, "secondary") for p in home]
    )
    assert {p.site.kind for p in first.placed} == {"home"}
    assert len({p.site_id for p in first.placed}) == 1  # one home site for the household
    assert first.placed[0].plan == {
        "centralised_days": 0,
        "home_days": 7,
        "test_days": [1, 4, 7],
        "home_test_days": [],
        "temperature_per_day": 2,
    }
    again = services.placement_create_many(
        actor=None,
        requests=[services.PlacementRequest(home[0].pk, "close"), services.PlacementRequest(10**9)],
    )
    assert again.already == [home[0].pk]
    assert again.errors == [(10**9, "Unknown person 1000000000.")]
    assert again.placed == []


def test_placement_turns_the_health_code_red_until_the_end(jurisdiction, django_capture_on_commit_callbacks):
    hotel(jurisdiction.grid_a)
    person = PersonFactory(grid=jurisdiction.grid_a)
    with django_capture_on_commit_callbacks(execute=True):
        placement = services.placement_create(actor=None, person=person)
    event = Event.objects.get(type="quarantine.started")
    assert event.payload["person_ids"] == [person.pk]
    assert event.payload["until"] == placement.end.isoformat()
    assert HealthCode.objects.get(person=person).colour == "red"


def test_contacts_dispatched_from_a_case_are_placed(jurisdiction, users, django_capture_on_commit_callbacks):
    hotel(jurisdiction.grid_a)
    epi = users["epidemiologist"]
    case_person, diner = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_a)
    venue = old_venue(jurisdiction.grid_a)
    stay(case_person, venue, local(-2, 12), 60)
    stay(diner, venue, local(-2, 12), 60)
    with django_capture_on_commit_callbacks(execute=True):
        case = investigation.case_create(actor=epi, person=case_person, first_positive_at=local(-1, 9))
    with django_capture_on_commit_callbacks(execute=True):
        assert investigation.contacts_dispatch(actor=epi, case=case, grid_tasks=False) == 1
    placement = Placement.objects.get(person=diner)
    assert (placement.tier, placement.case_id, placement.site.kind) == ("close", case.pk, "centralised")


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_never_overbook(jurisdiction):
    """Eight threads race for three single rooms: three people get one each, nobody shares, the rest are told
    there is no room."""
    site = hotel(jurisdiction.grid_a, rooms=[("1", 1, 1), ("2", 1, 1), ("3", 1, 1)])
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(8)]
    barrier = threading.Barrier(len(people))
    outcomes: list[object] = []

    def place(person) -> None:
        try:
            barrier.wait()
            result = services.placement_create_many(
                actor=None, requests=[services.PlacementRequest(person.pk)], site=site
            )
            outcomes.append(("placed", len(result.placed), len(result.no_room)))
        except Exception as exc:  # a Conflict after three tries is an acceptable, clear outcome
            outcomes.append(("error", type(exc).__name__, str(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=place, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    placements = list(Placement.objects.filter(site=site))
    assert len(placements) == 3
    assert len({p.room_id for p in placements}) == 3
    assert sum(1 for o in outcomes if o[0] == "placed" and o[1] == 1) == 3
    assert all(o[0] == "placed" or o[1] == "Conflict" for o in outcomes), outcomes
