"""Contact tracing by the policy's rules, with hand-built check-ins at the boundaries (domain.md)."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from epigrid.checkins import services as checkin_services
from epigrid.core.models import Event
from epigrid.core.tests.factories import PersonFactory
from epigrid.investigation import services, tracing
from epigrid.investigation.models import Contact
from epigrid.investigation.tests.factories import local, old_venue, stay

pytestmark = pytest.mark.django_db


@pytest.fixture
def venue(jurisdiction):
    return old_venue(jurisdiction.grid_a)


@pytest.fixture
def epi(users):
    return users["epidemiologist"]


def open_case(epi, person, *, positive_at=None, isolated_at=None, **kwargs):
    return services.case_create(
        actor=epi,
        person=person,
        classification="confirmed",
        first_positive_at=positive_at or local(-1, 9),
        isolated_at=isolated_at,
        **kwargs,
    )


def contacts(case) -> dict[int, Contact]:
    return {c.person_id: c for c in Contact.objects.filter(case=case)}


def test_overlap_exactly_at_the_threshold_is_a_close_contact_one_minute_less_is_not(jurisdiction, venue, epi):
    case_person, at_threshold, below = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(3))
    stay(case_person, venue, local(-2, 12), 60)
    stay(at_threshold, venue, local(-2, 12, 45), 30)  # overlaps 12:45-13:00: 15 minutes
    stay(below, venue, local(-2, 12, 46), 30)  # 14 minutes
    case = open_case(epi, case_person)
    found = contacts(case)
    assert {pk for pk, c in found.items() if c.tier == "close"} == {at_threshold.pk}
    # The one who missed by a minute spent 29 minutes with the close contact after their exposure.
    assert (found[below.pk].tier, found[below.pk].via.person_id) == ("secondary", at_threshold.pk)
    contact = found[at_threshold.pk]
    assert (contact.tier, contact.rule, contact.overlap_minutes, contact.venue_id) == (
        "close",
        "venue",
        15,
        venue.pk,
    )
    assert contact.evidence[0]["venue"] == venue.name
    assert contact.evidence[0]["via_person_id"] == case_person.pk


def test_stays_that_touch_but_do_not_overlap_are_not_contacts(jurisdiction, venue, epi):
    case_person, before, after = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(3))
    stay(case_person, venue, local(-2, 12), 60)
    stay(before, venue, local(-2, 11), 60)  # leaves at 12:00 as the case arrives
    stay(after, venue, local(-2, 13), 60)  # arrives at 13:00 as the case leaves
    assert contacts(open_case(epi, case_person)) == {}


def test_only_the_part_of_a_stay_inside_the_infectious_window_counts(jurisdiction, venue, epi):
    case_person, early, inside, late = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(4))
    positive_at = local(-1, 12)  # window: 4 days before (local -5 12:00) until isolation
    isolated_at = local(-1, 18)
    stay(case_person, venue, local(-5, 11, 30), 60)  # 11:30-12:30, half before the window
    stay(early, venue, local(-5, 11, 30), 40)  # 11:30-12:10: 10 minutes inside the window
    stay(inside, venue, local(-5, 11, 40), 40)  # 11:40-12:20: 20 minutes inside
    stay(case_person, venue, local(-1, 17, 50), 60)  # 17:50-18:50, isolated at 18:00
    stay(late, venue, local(-1, 17, 55), 60)  # 5 minutes before isolation
    case = open_case(epi, case_person, positive_at=positive_at, isolated_at=isolated_at)
    assert (case.window_start, case.window_end) == (local(-5, 12), isolated_at)
    found = contacts(case)
    assert set(found) == {inside.pk}
    assert found[inside.pk].overlap_minutes == 20


def test_onset_date_opens_the_window_at_local_midnight_n_days_before(jurisdiction, venue, epi):
    case_person, contact = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_a)
    onset = local(-1, 0).date()
    stay(case_person, venue, local(-5, 0, 10), 30)  # the first minutes of the window (local -5 00:00)
    stay(contact, venue, local(-5, 0, 5), 30)
    case = open_case(epi, case_person, onset_date=onset)
    assert case.window_start == local(-5, 0)
    assert contacts(case)[contact.pk].overlap_minutes == 25


def test_automatic_checkout_after_the_venue_types_default_stay(jurisdiction, venue, epi, users):
    case_person, stayed, gone = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(3))
    base = local(0, 0) - dt.timedelta(hours=3)  # restaurants: 90 minutes unless someone checks out
    for person, at in ((case_person, base), (stayed, base + dt.timedelta(minutes=75))):
        checkin_services.checkin_record(
            actor=None, venue=venue, person=person, client_id=_uuid(), scanned_at=at
        )
    # Arrives 76 minutes later: 14 minutes before the case's automatic check-out.
    checkin_services.checkin_record(
        actor=None, venue=venue, person=gone, client_id=_uuid(), scanned_at=base + dt.timedelta(minutes=76)
    )
    found = contacts(open_case(epi, case_person, positive_at=local(0, 0) - dt.timedelta(minutes=30)))
    assert {pk for pk, c in found.items() if c.tier == "close"} == {stayed.pk}
    assert found[stayed.pk].overlap_minutes == 15


def test_stays_across_midnight(jurisdiction, venue, epi):
    case_person, contact = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_a)
    stay(case_person, venue, local(-3, 23, 30), 60)  # 23:30 - 00:30
    stay(contact, venue, local(-2, 0, 0), 40)  # 00:00 - 00:40 the next day
    found = contacts(open_case(epi, case_person))
    assert found[contact.pk].overlap_minutes == 30


def test_household_members_are_close_contacts_without_any_check_in(jurisdiction, epi):
    from epigrid.core import services as core_services

    home = core_services.household_create(actor=None, address="黄河路1号", grid=jurisdiction.grid_a)
    case_person, spouse, _neighbour = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(3))
    for person in (case_person, spouse):
        person.household = home
        person.save(update_fields=["household"])
    found = contacts(open_case(epi, case_person))
    assert set(found) == {spouse.pk}
    assert (found[spouse.pk].tier, found[spouse.pk].rule) == ("close", "household")


def test_secondary_contacts_from_first_exposure_until_isolation(jurisdiction, venue, epi):
    other = old_venue(jurisdiction.grid_b)
    case_person, close, before, after, during = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(5))
    stay(case_person, venue, local(-3, 12), 60)
    stay(close, venue, local(-3, 12), 60)  # first exposure: -3 12:00
    stay(close, other, local(-4, 19), 60)
    stay(before, other, local(-4, 19), 60)  # met the close contact before they were exposed
    stay(close, other, local(-2, 19), 60)
    stay(during, other, local(-2, 19, 30), 60)  # 30 minutes with the close contact after exposure
    case = open_case(epi, case_person)
    found = contacts(case)
    assert set(found) == {close.pk, during.pk}
    secondary = found[during.pk]
    assert (secondary.tier, secondary.via.person_id, secondary.overlap_minutes) == ("secondary", close.pk, 30)
    assert secondary.venue_id == other.pk

    # After the close contact's isolation (their health code turned red when notified) nothing counts.
    Contact.objects.filter(case=case, person=close).update(notified_at=local(-1, 8))
    stay(close, other, local(-1, 9), 60)
    stay(after, other, local(-1, 9), 60)
    services.case_trace(actor=epi, case=case)
    assert set(contacts(case)) == {close.pk, during.pk}


def test_a_case_with_no_check_ins_has_no_contacts(jurisdiction, epi):
    case = open_case(epi, PersonFactory(grid=jurisdiction.grid_a))
    result = services.case_trace(actor=epi, case=case)
    assert (result.close, result.secondary, result.added) == (0, 0, 0)
    assert case.window_start is not None


def test_tracing_again_updates_without_duplicates_and_notifies_only_new_people(
    jurisdiction, venue, epi, django_capture_on_commit_callbacks
):
    case_person, first, second = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(3))
    stay(case_person, venue, local(-2, 12), 60)
    stay(first, venue, local(-2, 12), 30)
    case = open_case(epi, case_person)
    again = services.case_trace(actor=epi, case=case)
    assert (again.close, again.added, again.notified) == (1, 0, 0)
    stay(second, venue, local(-2, 12, 30), 30)  # an upload that arrived late
    later = services.case_trace(actor=epi, case=case)
    assert (later.close, later.added, later.notified) == (2, 1, 1)
    assert Contact.objects.filter(case=case).count() == 2
    notified = Event.objects.filter(type="contact.identified").values_list("payload", flat=True)
    assert sorted(p for payload in notified for p in payload["person_ids"]) == sorted([first.pk, second.pk])


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_contacts_agree_with_a_brute_force_reference_on_random_stays(jurisdiction, epi, seed):
    """Every pair of stays compared directly: catches >= versus > and clipping mistakes."""
    rng = random.Random(seed)
    venues = [old_venue(jurisdiction.grid_a) for _ in range(2)]
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(14)]
    case_person = people[0]
    positive_at = local(-1, 12)
    window = (positive_at - dt.timedelta(days=4), local(-1, 20))
    stays = []
    for person in people:
        for _ in range(8):
            # Lunch and dinner times from a day before the window until a day after isolation.
            day = rng.randrange(-6, 0)
            start = local(day, rng.choice([11, 12, 18, 19])) + dt.timedelta(minutes=5 * rng.randrange(0, 12))
            minutes = rng.choice([10, 15, 16, 30, 45, 60, 90])
            venue = rng.choice(venues)
            stay(person, venue, start, minutes)
            stays.append((person.pk, venue.pk, start, start + dt.timedelta(minutes=minutes)))
    case = open_case(epi, case_person, positive_at=positive_at, isolated_at=window[1])

    def overlaps(a, b, lo, hi):
        start, end = max(a[2], b[2], lo), min(a[3], b[3], hi)
        return end - start >= dt.timedelta(minutes=15)

    close = {
        other[0]
        for mine in stays
        if mine[0] == case_person.pk
        for other in stays
        if other[0] != case_person.pk and other[1] == mine[1] and overlaps(mine, other, *window)
    }
    first_exposure = {}
    for mine in stays:
        for other in stays:
            same_place = mine[0] == case_person.pk and other[0] in close and other[1] == mine[1]
            if same_place and overlaps(mine, other, *window):
                start = max(mine[2], other[2], window[0])
                first_exposure[other[0]] = min(first_exposure.get(other[0], start), start)
    secondary = {
        other[0]
        for mine in stays
        if mine[0] in close
        for other in stays
        if other[0] not in close | {case_person.pk}
        and other[1] == mine[1]
        and overlaps(mine, other, first_exposure[mine[0]], window[1])
    }
    found = contacts(case)
    assert close and secondary, "the random data should produce both tiers"
    assert {pk for pk, c in found.items() if c.tier == "close"} == close
    assert {pk for pk, c in found.items() if c.tier == "secondary"} == secondary


def test_overlap_helper_treats_touching_intervals_as_apart():
    at = local(-1, 12)
    hour = dt.timedelta(hours=1)
    assert tracing.overlap(at, at + hour, at + hour, at + 2 * hour) is None
    assert tracing.overlap(at, at + 2 * hour, at + hour, at + 3 * hour) == (at + hour, at + 2 * hour)


def _uuid():
    import uuid

    return uuid.uuid4()


def test_companions_are_the_cells_regulars_found_only_when_asked(jurisdiction, epi):
    """Same 800 m cell for more than 10 minutes, and more than 30 hours there in 14 days (domain.md)."""
    shop = old_venue(jurisdiction.grid_a)
    office = old_venue(jurisdiction.grid_a, lat=shop.lat + 0.0005, lng=shop.lng)  # ~55 m north: same cell
    far = old_venue(jurisdiction.grid_a, lat=shop.lat + 0.05, lng=shop.lng)  # ~5.5 km: another cell
    case_person, regular, passer_by, elsewhere = (PersonFactory(grid=jurisdiction.grid_a) for _ in range(4))
    stay(case_person, shop, local(-2, 9), 20)
    for day in range(-8, -1):  # works next door: 7 days x 8 hours = 56 hours in the cell
        stay(regular, office, local(day, 8, 50), 8 * 60)
    stay(passer_by, office, local(-2, 8, 55), 30)  # overlaps 25 minutes, but only half an hour in 14 days
    for day in range(-8, -1):
        stay(elsewhere, far, local(day, 8, 50), 8 * 60)
    case = open_case(epi, case_person)
    assert contacts(case) == {}
    result = services.case_trace(actor=epi, case=case, companions=True)
    assert (result.close, result.companions, result.notified) == (0, 1, 0)
    companion = contacts(case)[regular.pk]
    assert (companion.tier, companion.rule, companion.overlap_minutes) == ("companion", "companion", 20)
    assert companion.evidence[0]["venue_id"] == office.pk
    services.case_trace(actor=epi, case=case)  # a plain trace keeps what the wider search found
    assert set(contacts(case)) == {regular.pk}


def test_cells_are_800_metres_square():
    degree = 111_320
    row, column = tracing.cell_of(37.5, 121.2, 800)
    assert tracing.cell_of(37.5 + 800 / degree, 121.2, 800)[0] == row + 1
    east = 800 / (degree * math.cos(math.radians((row + 0.5) * 800 / degree)))
    assert tracing.cell_of(37.5, 121.2 + east, 800) == (row, column + 1)
    # Every point of a row shares its column width: the row's corners fall in the same column as its middle.
    bottom, top = row * 800 / degree, (row + 1) * 800 / degree - 1e-9
    assert tracing.cell_of(bottom, 121.2, 800)[1] == tracing.cell_of(top, 121.2, 800)[1] == column
