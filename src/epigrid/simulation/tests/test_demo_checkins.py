"""Demo venues, the mobility model's check-in history, and checkin_bulk_import."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import numpy as np
import pytest
from django.db.models import F
from django.utils import timezone
from shapely.geometry import Point, shape

from epigrid.checkins.models import CheckIn
from epigrid.checkins.services import CheckinImportRow, checkin_bulk_import
from epigrid.core.models import AuditEntry, User
from epigrid.places.models import Venue, VenueStatus, VenueType
from epigrid.places.tests.factories import VenueFactory
from epigrid.simulation import district, history, steps
from epigrid.simulation.plan import plan_district
from epigrid.simulation.venues import plan_venues

SEED = 11
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
ANCHOR = dt.datetime(2022, 3, 16, 14, 37, 12, tzinfo=TZ)  # a Wednesday afternoon
WORK_TYPES = [VenueType.OFFICE, VenueType.ENTERPRISE, VenueType.CONSTRUCTION]


@pytest.fixture(scope="module")
def plan():
    return plan_district("test", SEED)


def _pure_history(plan, anchor: dt.datetime, seed: int = SEED) -> tuple[history.History, list]:
    """The mobility model on the plan's own venues (no database), opened relative to ``anchor``.

    Ages are taken at ANCHOR whatever ``anchor`` is: a birthday in between would change a life stage.
    """
    ctx = district.DemoContext(plan=plan)
    venues = plan_venues(plan, ctx.rng("venues"))
    grid_index = {g.code: i for i, g in enumerate(plan.units_at("grid"))}
    columns = history.Venues(
        type=np.array([history.TYPES.index(v.type) for v in venues]),
        grid=np.array([grid_index[v.grid_code] for v in venues]),
        lat=np.array([v.lat for v in venues]),
        lng=np.array([v.lng for v in venues]),
        opened=np.array([int((anchor - dt.timedelta(days=v.opened_days)).timestamp()) for v in venues]),
    )
    stays = {t: 60 for t in VenueType.values} | {"restaurant": 90, "office": 480, "school": 480}
    result = history.simulate_history(
        steps.residents_of(plan, ANCHOR),
        columns,
        steps.grid_centroids(plan),
        anchor=anchor,
        days=history.HISTORY["test"].days,
        rate=1.0,
        stays=stays,
        rng=np.random.default_rng(seed),
        tz=TZ,
    )
    return result, venues


def _local(epoch: np.ndarray) -> list[dt.datetime]:
    return [dt.datetime.fromtimestamp(int(s), TZ) for s in epoch]


# --- the mobility model (pure) -------------------------------------------------------------------------


def test_history_is_deterministic_relative_to_the_anchor(plan):
    first, _v = _pure_history(plan, ANCHOR)
    again, _v = _pure_history(plan, ANCHOR)
    week_later, _v = _pure_history(plan, ANCHOR + dt.timedelta(days=7))
    other_seed, _v = _pure_history(plan, ANCHOR, seed=SEED + 1)
    assert len(first) > 1000
    for name in ("person", "venue", "scanned", "leave", "explicit", "method", "client"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    # A week later (same weekday, same time of day) everything moves by exactly seven days.
    assert np.array_equal(week_later.scanned - first.scanned, np.full(len(first), 7 * 86400))
    assert np.array_equal(week_later.leave - first.leave, np.full(len(first), 7 * 86400))
    assert np.array_equal(week_later.person, first.person) and np.array_equal(week_later.venue, first.venue)
    assert not np.array_equal(other_seed.scanned[:100], first.scanned[:100])


def test_history_covers_the_days_and_nothing_after_the_anchor_or_before_a_venue_opened(plan):
    result, venues = _pure_history(plan, ANCHOR)
    days = history.HISTORY["test"].days
    dates = {t.date() for t in _local(result.scanned)}
    assert dates == {ANCHOR.date() - dt.timedelta(days=k) for k in range(days)}
    assert result.scanned.max() <= ANCHOR.timestamp()
    assert (result.leave > result.scanned).all()
    opened = np.array([(ANCHOR - dt.timedelta(days=v.opened_days)).timestamp() for v in venues])
    assert (result.scanned >= opened[result.venue]).all()
    assert np.all(np.diff(result.scanned) >= 0)  # sorted by scan time
    # Some venues opened during the history and were visited only afterwards.
    recent = [i for i, v in enumerate(venues) if v.opened_days < days]
    assert recent
    visits = np.isin(result.venue, recent)
    assert visits.any() and (result.scanned[visits] >= opened[result.venue[visits]]).all()


def _typed(result: history.History, venues, kinds) -> np.ndarray:
    wanted = {history.TYPES.index(k) for k in kinds}
    types = np.array([history.TYPES.index(v.type) for v in venues])
    return np.isin(types[result.venue], list(wanted))


def test_restaurants_peak_at_meal_times(plan):
    result, venues = _pure_history(plan, ANCHOR)
    hours = np.array([t.hour for t in _local(result.scanned)])
    restaurant = _typed(result, venues, [VenueType.RESTAURANT])
    at = {h: int((restaurant & (hours == h)).sum()) for h in range(24)}
    assert at[12] > 5 * max(1, at[15])
    assert at[18] > 5 * max(1, at[15])


def test_workplaces_are_busier_on_weekdays(plan):
    result, venues = _pure_history(plan, ANCHOR)
    local = _local(result.scanned)
    weekend = np.array([t.weekday() >= 5 for t in local])
    work = _typed(result, venues, WORK_TYPES)
    n_days = history.HISTORY["test"].days
    weekend_days = sum((ANCHOR.date() - dt.timedelta(days=k)).weekday() >= 5 for k in range(n_days))
    per_weekday = (work & ~weekend).sum() / (n_days - weekend_days)
    per_weekend_day = (work & weekend).sum() / weekend_days
    assert per_weekday > 3 * per_weekend_day
    # Most people's visits stay near home: over half of shop and supermarket scans are in the home grid
    # or the grids around it (within 1.5 km).
    residents = steps.residents_of(plan, ANCHOR)
    centroids = steps.grid_centroids(plan)
    shopping = _typed(result, venues, [VenueType.SHOP, VenueType.SUPERMARKET])
    home = centroids[residents.home_grid[result.person[shopping]]]
    spot = np.array([(venues[i].lat, venues[i].lng) for i in result.venue[shopping]])
    km = np.hypot((home[:, 0] - spot[:, 0]) * 111, (home[:, 1] - spot[:, 1]) * 88)
    assert np.median(km) < 1.5


def test_children_and_the_elderly_scan_less(plan):
    result, _venues = _pure_history(plan, ANCHOR)
    residents = steps.residents_of(plan, ANCHOR)
    per_person = np.bincount(result.person, minlength=len(residents.age))
    adults = (residents.age >= 25) & (residents.age < 60)
    assert per_person[residents.age >= 75].mean() < per_person[adults].mean()
    assert per_person[residents.age < 3].sum() == 0


# --- the demo steps (database) ---------------------------------------------------------------------------


@pytest.fixture
def loaded(db, settings):
    district.ensure_demo_district(scale="test", seed=SEED, progress=False)
    return plan_district("test", SEED)


def test_venue_step_places_every_type_approved_with_codes_in_the_right_grids(loaded):
    planned = plan_venues(loaded, district.DemoContext(plan=loaded).rng("venues"))
    venues = list(Venue.objects.select_related("grid", "operator", "decided_by").order_by("pk"))
    assert [(v.name, v.type, v.org_code) for v in venues] == [(p.name, p.type, p.grid_code) for p in planned]
    assert {v.type for v in venues} == set(VenueType.values)
    now = timezone.now()
    for venue in venues:
        assert venue.status == VenueStatus.APPROVED and venue.has_code and venue.code_issued_at
        assert venue.grid.code == venue.org_code
        assert shape(venue.grid.boundary).contains(Point(venue.lng, venue.lat))
        assert venue.created_at <= venue.decided_at <= now
        assert venue.decided_by.username in ("admin", "community")
        if venue.org_code.startswith(User.objects.get(username="community").org_unit.code):
            assert venue.decided_by.username == "community"
    key_types = {VenueType.HOSPITAL, VenueType.SCHOOL, VenueType.TRANSPORT}
    assert all(v.is_key_place for v in venues if v.type in key_types)
    assert not any(v.is_key_place for v in venues if v.type in (VenueType.RESTAURANT, VenueType.SHOP))
    gridworker = User.objects.get(username="gridworker")
    operated = [v for v in venues if v.operator and v.operator.username == "venue"]
    assert {(v.type, v.grid_id) for v in operated} >= {
        (VenueType.OFFICE, gridworker.org_unit_id),
        (VenueType.RESTAURANT, gridworker.org_unit_id),
    }
    assert len(operated) >= 3


def test_history_step_stores_plausible_check_ins(loaded):
    checkins = CheckIn.objects.all()
    n = checkins.count()
    assert n > 1000
    now = timezone.now()
    assert not checkins.filter(scanned_at__gt=now).exists()
    assert not checkins.filter(leave_at__lte=F("scanned_at")).exists()
    assert not checkins.filter(scanned_at__lt=F("venue__created_at")).exists()
    assert set(checkins.values_list("colour", flat=True).distinct()) == {"green"}
    assert not checkins.exclude(org_code=F("venue__org_code")).exists()
    days = history.HISTORY["test"].days
    dates = {timezone.localtime(t).date() for t in checkins.values_list("scanned_at", flat=True)}
    today = timezone.localdate()
    expected = {today - dt.timedelta(days=k) for k in range(days)}
    # Every day of the history has check-ins (today's may not have begun yet when the tests run at night).
    assert dates <= expected and expected - dates <= {today}
    assert checkins.filter(left_explicitly=True).exists() and checkins.filter(left_explicitly=False).exists()
    audit = AuditEntry.objects.filter(action="checkin.bulk_import")
    assert sum(e.detail["created"] for e in audit) == n


# --- checkin_bulk_import ---------------------------------------------------------------------------------


@pytest.fixture
def venue(jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a)
    Venue.objects.filter(pk=venue.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    return venue


def _row(person, venue, *, minutes_ago: int = 60, stay: int = 30, **changes) -> CheckinImportRow:
    scanned = timezone.now() - dt.timedelta(minutes=minutes_ago)
    data = {
        "client_id": uuid.uuid4(),
        "person_id": person.pk,
        "venue_id": venue.pk,
        "scanned_at": scanned,
        "leave_at": scanned + dt.timedelta(minutes=stay),
    }
    return CheckinImportRow(**(data | changes))


def test_bulk_import_keeps_good_rows_and_reports_bad_ones(person_a, person_b, venue):
    stored = _row(person_a, venue, minutes_ago=500)
    assert checkin_bulk_import(actor=None, rows=[stored]).created == 1
    naive = (timezone.now() - dt.timedelta(hours=2)).replace(tzinfo=None)
    repeated = uuid.uuid4()
    rows = [
        _row(person_a, venue),  # 1 good
        _row(person_a, venue, venue_id=999_999),  # 2 unknown venue
        _row(person_b, venue, scanned_at=naive, leave_at=naive + dt.timedelta(hours=1)),  # 3 naive
        _row(person_b, venue, stay=-5),  # 4 leaves before it scanned
        _row(person_b, venue, client_id=repeated),  # 5 good
        _row(person_a, venue, client_id=repeated),  # 6 repeats row 5
        _row(person_a, venue, client_id=stored.client_id),  # 7 stored already: skipped
        _row(person_a, venue, person_id=999_999),  # 8 unknown person
        _row(person_b, venue, client_id=stored.client_id),  # 9 stored for someone else
        _row(person_a, venue, minutes_ago=-60),  # 10 in the future
        _row(person_a, venue, minutes_ago=60 * 24 * 40),  # 11 before the venue was registered
        _row(person_b, venue, colour="purple"),  # 12 unknown colour
        _row(person_b, venue, client_id="not-a-uuid"),  # 13
        _row(person_b, venue, minutes_ago=90, stay=20, left_explicitly=True, method="family"),  # 14 good
    ]
    result = checkin_bulk_import(actor=None, rows=rows, batch_size=4)
    assert result.created == 3 and result.skipped == 1
    errors = dict(result.errors)
    assert sorted(errors) == [2, 3, 4, 6, 8, 9, 10, 11, 12, 13]
    assert "venue" in errors[2] and "time zone" in errors[3] and "leave_at" in errors[4]
    assert "row 5" in errors[6] and "person" in errors[8] and "different" in errors[9]
    assert "future" in errors[10] and "registered" in errors[11]
    assert CheckIn.objects.count() == 4
    explicit = CheckIn.objects.get(client_id=rows[13].client_id)
    assert explicit.left_explicitly and explicit.method == "family" and explicit.org_code == venue.org_code
    assert explicit.leave_at == rows[13].leave_at
    # One audit entry per batch of four rows.
    assert AuditEntry.objects.filter(action="checkin.bulk_import").count() == 1 + 4

    again = checkin_bulk_import(actor=None, rows=rows, batch_size=100)
    assert again.created == 0 and again.skipped == 4
    assert CheckIn.objects.count() == 4


def test_bulk_import_respects_the_actor(users, person_a, venue, jurisdiction):
    other = VenueFactory(grid=jurisdiction.grid_b)
    Venue.objects.filter(pk=other.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    rows = [_row(person_a, venue), _row(person_a, other)]
    result = checkin_bulk_import(actor=users["grid_worker"], rows=rows)
    assert result.created == 1 and [n for n, _m in result.errors] == [2]
    with pytest.raises(Exception, match="may not"):
        checkin_bulk_import(actor=users["resident"], rows=rows)
