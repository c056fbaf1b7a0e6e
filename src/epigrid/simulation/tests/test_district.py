"""Loading the demo district into the database through the services."""

from __future__ import annotations

import pytest
from shapely.geometry import Point, shape

from epigrid.core import geo
from epigrid.core.models import AuditEntry, Event, Household, OrgLevel, OrgUnit, Person, User
from epigrid.core.roles import Role
from epigrid.simulation import district
from epigrid.simulation.plan import plan_district

SEED = 5
TOLERANCE = 1e-9


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def loaded(db, fast_passwords):
    summary = district.ensure_demo_district(scale="test", seed=SEED, progress=False)
    return summary, plan_district("test", SEED)


def test_summary_counts_what_was_loaded(loaded):
    summary, plan = loaded
    counts = plan.counts()
    assert f"{counts['residents']:,} residents" in summary and f"{counts['grids']} grids" in summary
    assert district.district_counts() == counts
    assert Person.objects.count() == counts["residents"]


def test_database_holds_exactly_the_plan(loaded):
    _summary, plan = loaded
    stored = {p.id_number: p for p in Person.objects.select_related("household", "grid")}
    assert set(stored) == {p.id_number for p in plan.persons()}
    for household in plan.households:
        for planned in household.members:
            person = stored[planned.id_number]
            assert (person.name, person.sex, person.birth_date, person.phone) == (
                planned.name,
                planned.sex,
                planned.birth_date,
                planned.phone,
            )
            assert person.grid.code == person.org_code == household.grid_code
            assert person.household.address == household.address == person.address
            assert (person.lat, person.lng) == (household.lat, household.lng)
    assert sorted(OrgUnit.objects.values_list("code", "name")) == sorted((u.code, u.name) for u in plan.units)


def test_stored_tree_is_consistent(loaded):
    units = list(OrgUnit.objects.select_related("parent"))
    assert {u.level for u in units} == set(OrgLevel.values)
    for unit in units:
        polygon = shape(unit.boundary)
        assert polygon.is_valid
        assert polygon.contains(Point(unit.centroid_lng, unit.centroid_lat))
        if unit.parent is None:
            assert unit.level == OrgLevel.DISTRICT
            continue
        assert unit.code.startswith(unit.parent.code) and len(unit.code) == len(unit.parent.code) + 3
        assert shape(unit.parent.boundary).buffer(TOLERANCE).covers(polygon), unit.code


def test_every_resident_is_in_the_grid_whose_polygon_contains_them(loaded):
    grids = {g.pk: shape(g.boundary) for g in OrgUnit.objects.filter(level=OrgLevel.GRID)}
    persons = list(Person.objects.values_list("grid_id", "lat", "lng"))
    assert all(lat is not None for _g, lat, _l in persons)
    for grid_id, lat, lng in persons:
        assert [pk for pk, poly in grids.items() if poly.contains(Point(lng, lat))] == [grid_id]
    # The platform's own point-in-polygon index agrees.
    assert geo.locate_many([(lat, lng) for _g, lat, lng in persons]) == [g for g, _la, _ln in persons]


def test_demo_accounts_have_their_roles_and_scopes(loaded):
    users = {u.username: u for u in User.objects.select_related("org_unit", "person")}
    assert set(district.DEMO_USERNAMES) <= set(users)
    expected_roles = {
        "admin": Role.DISTRICT_ADMIN,
        "lab": Role.LAB_TECHNICIAN,
        "quarantine": Role.QUARANTINE_MANAGER,
        "gridleader": Role.GRID_LEADER,
        "gridworker": Role.GRID_WORKER,
        "community": Role.COMMUNITY_OFFICER,
        "supplies": Role.SUPPLIES_OFFICER,
        "waste": Role.WASTE_OFFICER,
        "wastehandler": Role.WASTE_HANDLER,
        "publicity": Role.PUBLICITY_EDITOR,
        "venue": Role.VENUE_OPERATOR,
        "commander": Role.COMMANDER,
        "sampler": Role.SAMPLER,
        "epidemiologist": Role.EPIDEMIOLOGIST,
        "vaccinator": Role.VACCINATOR,
    }
    for username, role in expected_roles.items():
        assert users[username].role == role, username
        assert users[username].check_password("demo")
    grid = users["gridworker"].org_unit
    assert grid.level == OrgLevel.GRID
    assert users["gridleader"].org_unit == grid
    assert users["community"].org_unit == grid.parent and grid.parent.level == OrgLevel.COMMUNITY
    for username in set(expected_roles) - {"gridworker", "gridleader", "community"}:
        assert users[username].org_unit.code == district.DISTRICT_CODE, username
    residents = [users[f"resident{i}"] for i in range(1, 6)]
    assert all(u.role == Role.RESIDENT and u.org_unit is None and u.check_password("demo") for u in residents)
    assert len({u.person_id for u in residents}) == 5
    resident1 = residents[0].person
    assert resident1.grid == grid
    assert shape(grid.boundary).contains(Point(resident1.lng, resident1.lat))


def test_a_second_call_loads_nothing(loaded):
    before = (
        OrgUnit.objects.count(),
        Household.objects.count(),
        Person.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
    )
    summary = district.ensure_demo_district(scale="test", seed=SEED + 1, progress=False)
    assert "already loaded" in summary
    after = (
        OrgUnit.objects.count(),
        Household.objects.count(),
        Person.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
    )
    assert after == before


def test_later_modules_can_add_a_step(db, fast_passwords):
    seen = {}

    @district.demo_step("test_probe")
    def probe(ctx):
        seen["grids"] = len(ctx.grids())
        seen["households"] = len(ctx.household_ids)
        seen["users"] = sorted(ctx.users)
        seen["draw"] = ctx.rng("test_probe").random()
        seen["person_ids"] = ctx.person_ids()

    try:
        district.ensure_demo_district(scale="test", seed=SEED, progress=False)
    finally:
        district.STEPS[:] = [(name, step) for name, step in district.STEPS if name != "test_probe"]
    plan = plan_district("test", SEED)
    assert seen["grids"] == plan.counts()["grids"]
    assert seen["households"] == Household.objects.count() == len(plan.households)
    assert seen["users"] == sorted(district.DEMO_USERNAMES)
    assert seen["draw"] == district.DemoContext(plan=plan).rng("test_probe").random()
    persons = Person.objects.in_bulk(seen["person_ids"])
    assert [persons[pk].id_number for pk in seen["person_ids"]] == [p.id_number for p in plan.persons()]


def test_a_failing_step_leaves_no_completion_mark_and_asks_for_reset(db, fast_passwords):
    @district.demo_step("test_boom")
    def boom(ctx):
        raise RuntimeError("boom")

    try:
        with pytest.raises(RuntimeError, match="boom"):
            district.ensure_demo_district(scale="test", seed=SEED, progress=False)
    finally:
        district.STEPS[:] = [(name, step) for name, step in district.STEPS if name != "test_boom"]
    # the steps before the failing one committed; the load is not marked complete, so a rerun refuses
    assert not Event.objects.filter(type=district.LOADED_EVENT).exists()
    with pytest.raises(RuntimeError, match="--reset"):
        district.ensure_demo_district(scale="test", seed=SEED, progress=False)


def test_unknown_scale_is_refused(db):
    with pytest.raises(ValueError, match="unknown scale"):
        district.ensure_demo_district(scale="city", seed=1, progress=False)
    assert not OrgUnit.objects.exists()
