"""The pure planning layer: determinism, a consistent jurisdiction tree, valid people."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from shapely.geometry import Point
from stdnum.cn import ric

from epigrid.core.identity import parse_resident_id
from epigrid.core.models import LEVEL_CODE_LENGTH
from epigrid.simulation.plan import DEMO_USERNAMES, REFERENCE_DATE, plan_district

TOLERANCE = 1e-9  # degrees (~0.1 mm): floating-point noise of polygon intersection


def _fingerprint(plan):
    return {
        "units": [(u.code, u.level, u.name, u.parent_code, u.polygon.wkb) for u in plan.units],
        "households": [(h.grid_code, h.address, h.lat, h.lng) for h in plan.households],
        "persons": [(p.id_number, p.name, p.sex, p.birth_date, p.phone) for p in plan.persons()],
        "accounts": [(a.username, a.role, a.unit_code, a.person_id_number) for a in plan.accounts],
    }


@pytest.fixture(scope="module")
def tiny():
    return plan_district("tiny", 20211214)


def test_same_seed_gives_the_same_district():
    assert _fingerprint(plan_district("test", 11)) == _fingerprint(plan_district("test", 11))


def test_another_seed_gives_another_district():
    a, b = plan_district("test", 11), plan_district("test", 12)
    assert {p.id_number for p in a.persons()}.isdisjoint({p.id_number for p in b.persons()})
    assert [u.polygon.wkb for u in a.units] != [u.polygon.wkb for u in b.units]


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="unknown scale"):
        plan_district("metropolis", 1)


def test_tiny_has_the_promised_size(tiny):
    counts = tiny.counts()
    assert 1_950 <= counts["residents"] <= 2_050
    assert counts["streets"] == 3
    assert counts["grids"] >= counts["communities"] >= counts["streets"]
    assert counts["accounts"] == len(DEMO_USERNAMES) == 20


def test_codes_extend_their_parents(tiny):
    by_code = {u.code: u for u in tiny.units}
    assert len(by_code) == len(tiny.units)
    for unit in tiny.units:
        assert len(unit.code) == LEVEL_CODE_LENGTH[unit.level] and unit.code.isdigit()
        if unit.parent_code is None:
            assert unit.level == "district"
            continue
        parent = by_code[unit.parent_code]
        assert unit.code.startswith(parent.code) and len(unit.code) == len(parent.code) + 3


def test_units_partition_their_parents(tiny):
    children: dict[str, list] = {}
    for unit in tiny.units:
        if unit.parent_code:
            children.setdefault(unit.parent_code, []).append(unit)
    for unit in tiny.units:
        assert unit.polygon.is_valid and unit.polygon.geom_type == "Polygon"
        kids = children.get(unit.code, [])
        if unit.level == "grid":
            assert not kids
            continue
        assert kids, f"{unit.code} has no children"
        for kid in kids:
            assert unit.polygon.buffer(TOLERANCE).covers(kid.polygon), f"{kid.code} sticks out of {unit.code}"
        # Children do not overlap and leave no gap.
        assert sum(k.polygon.area for k in kids) == pytest.approx(unit.polygon.area, rel=1e-9)


def test_every_home_lies_in_its_grid_and_no_other(tiny):
    grids = tiny.units_at("grid")
    for household in tiny.households:
        point = Point(household.lng, household.lat)
        inside = [g.code for g in grids if g.polygon.intersects(point)]
        assert inside == [household.grid_code]


def test_every_grid_has_homes_and_the_centroid_lies_inside(tiny):
    homes = Counter(h.grid_code for h in tiny.households)
    for unit in tiny.units:
        lat, lng = unit.centroid
        assert unit.polygon.contains(Point(lng, lat))
        if unit.level == "grid":
            assert homes[unit.code] >= 1


def test_people_have_valid_unique_ids_matching_sex_and_birth(tiny):
    persons = tiny.persons()
    numbers = [p.id_number for p in persons]
    assert len(set(numbers)) == len(numbers)
    for person in persons:
        parsed = parse_resident_id(person.id_number)
        assert ric.is_valid(person.id_number), person.id_number  # also checks the place code for the year
        assert person.id_number[:2] == "37"  # Shandong
        assert (parsed.sex, parsed.birth_date) == (person.sex, person.birth_date)
        assert dt.date(1920, 1, 1) < person.birth_date < REFERENCE_DATE


def test_phones_are_valid_and_unique(tiny):
    phones = [p.phone for p in tiny.persons() if p.phone]
    assert len(phones) > 0.8 * len(tiny.persons())
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"1[3-9]\d{9}", phone) for phone in phones)


def test_households_look_like_families(tiny):
    sizes = Counter(len(h.members) for h in tiny.households)
    assert set(sizes) <= {1, 2, 3, 4, 5} and len(sizes) == 5
    for household in tiny.households:
        assert [p.relation for p in household.members].count("head") == 1
        ages: dict[str, list[float]] = {}
        for person in household.members:
            ages.setdefault(person.relation, []).append((REFERENCE_DATE - person.birth_date).days / 365.25)
        adults = ages.get("head", []) + ages.get("spouse", [])
        assert min(adults) >= 18
        for child in ages.get("child", []):
            assert min(adults) - child >= 18
        for grandparent in ages.get("parent", []):
            assert grandparent - max(adults) >= 18
    addresses = [h.address for h in tiny.households]
    assert len(set(addresses)) == len(addresses)
    assert all(a.startswith("山东省烟台市烟台经济技术开发区") for a in addresses)


def test_grid_staff_and_resident1_share_a_grid(tiny):
    accounts = {a.username: a for a in tiny.accounts}
    assert list(accounts) == DEMO_USERNAMES
    grid = accounts["gridworker"].unit_code
    assert len(grid) == 15 and accounts["gridleader"].unit_code == grid
    assert accounts["community"].unit_code == grid[:12]
    resident1 = accounts["resident1"].person_id_number
    assert any(p.id_number == resident1 for h in tiny.households if h.grid_code == grid for p in h.members)
    others = {
        a.unit_code for name, a in accounts.items() if name not in {"gridworker", "gridleader", "community"}
    }
    assert others == {"370672", None}
    residents = [a.person_id_number for a in tiny.accounts if a.person_id_number]
    assert len(set(residents)) == 5
