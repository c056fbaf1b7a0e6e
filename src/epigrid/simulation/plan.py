"""The synthetic district as pure data: :func:`plan_district` computes every unit, home, person and account
from ``(scale, seed)`` without touching the database. The loader (``district.py``) writes a plan through
the services; tests compare plans directly, so determinism is checked without loading twice.

All randomness comes from generators seeded with ``seed`` (numpy for geometry, ``random.Random`` for people,
Faker zh_CN for given names); dates are counted from a fixed reference day, never from today.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import numpy as np
from faker import Faker
from shapely.geometry import Point, Polygon

from epigrid.core.identity import compose_resident_id
from epigrid.core.roles import Role
from epigrid.simulation import geometry, names

DISTRICT_CODE = "370672"
CENTER = (37.55, 121.25)  # lat, lng: Yantai ETDZ
SIZE_KM = (15.0, 10.0)  # east-west, north-south
# Ages are counted back from this day so that the same seed gives the same birth dates every year.
REFERENCE_DATE = dt.date(2022, 3, 1)
HOME_INSET_DEG = 2e-5  # ~2 m: homes sit this far inside their grid's boundary
COORD_DECIMALS = 6  # ~0.1 m


@dataclass(frozen=True)
class ScaleSpec:
    name: str
    urban_streets: int
    rural_streets: int
    communities_per_street: tuple[int, int]  # inclusive range
    residents: int
    households_per_grid: tuple[int, int]  # target (urban, rural)
    max_grids_per_community: int = 12


SCALES: dict[str, ScaleSpec] = {
    # Internal scale for the test suite: every level present, loads in a second or two.
    "test": ScaleSpec("test", 1, 1, (2, 2), 200, (15, 8)),
    "tiny": ScaleSpec("tiny", 2, 1, (3, 3), 2_000, (60, 20)),
    "district": ScaleSpec("district", 4, 2, (8, 11), 100_000, (400, 45)),
}

# Household size distribution (1..5), mean ~2.8 as in Chinese urban censuses.
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5)
HOUSEHOLD_SIZE_WEIGHTS = (0.16, 0.30, 0.28, 0.16, 0.10)


@dataclass
class UnitPlan:
    code: str
    level: str  # district | street | community | grid
    name: str
    parent_code: str | None
    polygon: Polygon
    rural: bool = False

    @property
    def centroid(self) -> tuple[float, float]:
        """(lat, lng) of a point guaranteed inside the unit."""
        p = self.polygon.centroid
        if not self.polygon.contains(p):
            p = self.polygon.representative_point()
        return round(p.y, COORD_DECIMALS), round(p.x, COORD_DECIMALS)


@dataclass
class PersonPlan:
    id_number: str
    name: str
    sex: str  # M | F
    birth_date: dt.date
    phone: str
    relation: str  # head | spouse | child | parent


@dataclass
class HouseholdPlan:
    grid_code: str
    address: str
    lat: float
    lng: float
    members: list[PersonPlan] = field(default_factory=list)


@dataclass
class AccountPlan:
    username: str
    role: str
    unit_code: str | None  # staff: the org unit of their scope
    person_id_number: str | None  # residents: their Person
    display_name: str


@dataclass
class DistrictPlan:
    scale: str
    seed: int
    units: list[UnitPlan]  # parents before children
    households: list[HouseholdPlan]
    accounts: list[AccountPlan]

    @property
    def district(self) -> UnitPlan:
        return self.units[0]

    def units_at(self, level: str) -> list[UnitPlan]:
        return [u for u in self.units if u.level == level]

    def persons(self) -> list[PersonPlan]:
        return [p for h in self.households for p in h.members]

    def counts(self) -> dict[str, int]:
        return {
            "streets": len(self.units_at("street")),
            "communities": len(self.units_at("community")),
            "grids": len(self.units_at("grid")),
            "households": len(self.households),
            "residents": sum(len(h.members) for h in self.households),
            "accounts": len(self.accounts),
        }


# --- people -----------------------------------------------------------------------------------------


class _People:
    """Draws family members with unique, valid ID numbers and unique mobile numbers."""

    def __init__(self, rng: random.Random, faker: Faker) -> None:
        self.rng = rng
        self.faker = faker
        self.ids: set[str] = set()
        self.phones: set[str] = set()

    def surname(self) -> str:
        return self.faker.last_name()

    def person(self, *, surname: str, sex: str, age: int, relation: str) -> PersonPlan:
        rng = self.rng
        birth = REFERENCE_DATE - dt.timedelta(days=int(age * 365.25) + rng.randint(1, 364))
        codes, weights = names.address_codes_for_year(birth.year)
        while True:
            code = rng.choices(codes, weights)[0]
            sequence = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
            number = compose_resident_id(code, birth, sequence)
            if number not in self.ids:
                self.ids.add(number)
                break
        given = self.faker.first_name_male() if sex == "M" else self.faker.first_name_female()
        phone = ""
        if age >= 12 and rng.random() < (0.75 if age >= 75 else 0.97):
            while True:
                phone = rng.choice(names.PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
                if phone not in self.phones:
                    self.phones.add(phone)
                    break
        return PersonPlan(number, surname + given, sex, birth, phone, relation)

    def household(self, size: int) -> list[PersonPlan]:
        """One family of ``size`` people with a plausible age structure and shared family surname."""
        rng = self.rng
        family = self.surname()
        if size == 1:
            age = rng.randint(62, 92) if rng.random() < 0.5 else rng.randint(20, 45)
            return [self.person(surname=family, sex=rng.choice("MF"), age=age, relation="head")]
        # A couple, the husband usually listed as head and a little older.
        couple_age = rng.randint(24, 78) if size == 2 else rng.randint(27, 52)
        husband_age = max(20, couple_age + rng.randint(0, 4))
        wife_age = max(20, couple_age - rng.randint(0, 2))
        head_is_husband = rng.random() < 0.8
        husband = self.person(
            surname=family, sex="M", age=husband_age, relation="head" if head_is_husband else "spouse"
        )
        wife = self.person(
            surname=self.surname(), sex="F", age=wife_age, relation="spouse" if head_is_husband else "head"
        )
        members = [husband, wife] if head_is_husband else [wife, husband]
        if size == 2:
            return members
        children = size - 2
        grandparents = 0
        if size >= 4 and rng.random() < 0.45:
            grandparents = 1 if size == 4 else rng.choice((1, 2))
            children = size - 2 - grandparents
        for _ in range(children):
            age = max(0, wife_age - rng.randint(22, 36))
            members.append(self.person(surname=family, sex=rng.choice("MF"), age=age, relation="child"))
        if grandparents:
            grandfather_age = min(98, husband_age + rng.randint(24, 34))
            members.append(self.person(surname=family, sex="M", age=grandfather_age, relation="parent"))
            if grandparents == 2:
                grandmother_age = min(97, grandfather_age - rng.randint(0, 4))
                members.append(
                    self.person(surname=self.surname(), sex="F", age=grandmother_age, relation="parent")
                )
        return members


# --- addresses --------------------------------------------------------------------------------------


class _Addresses:
    """Unique home addresses: flats in compounds for communities, numbered houses for villages."""

    def __init__(self, rng: random.Random, street: UnitPlan, community: UnitPlan) -> None:
        self.rng = rng
        self.prefix = f"{names.CITY_PREFIX}{names.DISTRICT_NAME}{street.name}"
        self.community = community
        self.house_no = 0  # villages number their houses village-wide
        self.stem = community.name.removesuffix("社区")
        self.grids_done = 0

    def for_grid(self, count: int) -> list[str]:
        rng = self.rng
        if self.community.rural:
            start = self.house_no
            self.house_no += count
            return [f"{self.prefix}{self.community.name}{start + k + 1}号" for k in range(count)]
        suffix = names.COMPOUND_SUFFIXES[(self.grids_done + rng.randrange(8)) % len(names.COMPOUND_SUFFIXES)]
        compound = f"{self.stem}{suffix}"
        if self.grids_done:
            compound += f"{names.chinese_number(self.grids_done + 1)}期"
        self.grids_done += 1
        road, number = rng.choice(names.ROADS), rng.randint(1, 320)
        units, floors = rng.choice((2, 3, 4)), rng.choice((6, 6, 11, 18, 26))
        per_building = units * floors * 2
        out = []
        for k in range(count):
            building, rest = divmod(k, per_building)
            unit, rest = divmod(rest, floors * 2)
            floor, room = divmod(rest, 2)
            flat = f"{building + 1}号楼{unit + 1}单元{floor + 1}{room + 1:02d}室"
            out.append(f"{self.prefix}{road}{number}号{compound}{flat}")
        return out


# --- the plan ---------------------------------------------------------------------------------------

DEMO_STAFF: list[tuple[str, str, str]] = [
    # username, role, scope ("district" | "grid" | "community")
    ("admin", Role.DISTRICT_ADMIN, "district"),
    ("commander", Role.COMMANDER, "district"),
    ("epidemiologist", Role.EPIDEMIOLOGIST, "district"),
    ("sampler", Role.SAMPLER, "district"),
    ("lab", Role.LAB_TECHNICIAN, "district"),
    ("vaccinator", Role.VACCINATOR, "district"),
    ("quarantine", Role.QUARANTINE_MANAGER, "district"),
    ("gridleader", Role.GRID_LEADER, "grid"),
    ("gridworker", Role.GRID_WORKER, "grid"),
    ("community", Role.COMMUNITY_OFFICER, "community"),
    ("supplies", Role.SUPPLIES_OFFICER, "district"),
    ("waste", Role.WASTE_OFFICER, "district"),
    ("wastehandler", Role.WASTE_HANDLER, "district"),
    ("publicity", Role.PUBLICITY_EDITOR, "district"),
    ("venue", Role.VENUE_OPERATOR, "district"),
]
DEMO_RESIDENTS = 5
DEMO_USERNAMES: list[str] = [
    *(username for username, _role, _scope in DEMO_STAFF),
    *(f"resident{i}" for i in range(1, DEMO_RESIDENTS + 1)),
]


def plan_district(scale: str, seed: int) -> DistrictPlan:
    """Everything the demo district holds, computed from ``(scale, seed)`` alone."""
    try:
        spec = SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; known: {', '.join(SCALES)}") from None
    geo_rng = np.random.default_rng(seed)
    rng = random.Random(seed)
    faker = Faker("zh_CN")
    faker.seed_instance(seed)

    outline = geometry.district_outline(
        geo_rng, lat=CENTER[0], lng=CENTER[1], width_km=SIZE_KM[0], height_km=SIZE_KM[1]
    )
    district = UnitPlan(DISTRICT_CODE, "district", names.DISTRICT_NAME, None, outline)
    units = [district]

    # Streets: the cells nearest the coast-side centre are urban, the outer ones rural towns.
    n_streets = spec.urban_streets + spec.rural_streets
    street_cells = geometry.partition(outline, n_streets, geo_rng)
    downtown = Point(CENTER[1], CENTER[0] + 0.3 * SIZE_KM[1] / 2 * geometry.KM_LAT)
    by_distance = sorted(range(n_streets), key=lambda i: street_cells[i].centroid.distance(downtown))
    rural_idx = set(by_distance[spec.urban_streets :])
    urban_names = rng.sample(names.URBAN_STREETS, spec.urban_streets)
    rural_names = rng.sample(names.RURAL_STREETS, spec.rural_streets)
    streets: list[UnitPlan] = []
    for i, cell in enumerate(street_cells):
        rural = i in rural_idx
        name = rural_names.pop() if rural else urban_names.pop()
        streets.append(UnitPlan(f"{DISTRICT_CODE}{i + 1:03d}", "street", name, DISTRICT_CODE, cell, rural))
    units += streets

    # Communities (社区, codes 0xx) and villages (村, codes 2xx, as in the national statistical codes).
    community_counts = [rng.randint(*spec.communities_per_street) for _ in streets]
    n_urban = sum(c for c, s in zip(community_counts, streets, strict=True) if not s.rural)
    stems = names.community_names(rng, min(n_urban, len(names.COMMUNITY_STEMS)))
    stems += [f"新区第{names.chinese_number(k + 1)}社区" for k in range(n_urban - len(stems))]
    taken: set[str] = set()
    communities: list[UnitPlan] = []
    for street, count in zip(streets, community_counts, strict=True):
        cells = geometry.partition(street.polygon, count, geo_rng)
        village_names = names.village_names(rng, count, taken) if street.rural else []
        for k, cell in enumerate(cells):
            if street.rural:
                code, name = f"{street.code}{200 + k + 1:03d}", village_names[k]
            else:
                code, name = f"{street.code}{k + 1:03d}", stems.pop(0)
            communities.append(UnitPlan(code, "community", name, street.code, cell, street.rural))
    units += communities

    # Residents per community: urban communities are three times as populous as villages, give or take.
    weights = [rng.uniform(2.2, 3.8) if not c.rural else rng.uniform(0.6, 1.1) for c in communities]
    total_w = sum(weights)
    mean_size = sum(s * w for s, w in zip(HOUSEHOLD_SIZES, HOUSEHOLD_SIZE_WEIGHTS, strict=True))
    people = _People(rng, faker)
    households: list[HouseholdPlan] = []
    grids: list[UnitPlan] = []
    streets_by_code = {s.code: s for s in streets}
    for community, weight in zip(communities, weights, strict=True):
        target = spec.residents * weight / total_w
        sizes: list[int] = []
        while sum(sizes) < target - mean_size / 2:
            sizes.append(rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_SIZE_WEIGHTS)[0])
        per_grid = spec.households_per_grid[1 if community.rural else 0]
        n_grids = min(spec.max_grids_per_community, max(2, round(len(sizes) / per_grid)))
        cells = geometry.partition(community.polygon, n_grids, geo_rng)
        community_grids = [
            UnitPlan(
                f"{community.code}{k + 1:03d}",
                "grid",
                names.grid_name(k + 1),
                community.code,
                cell,
                community.rural,
            )
            for k, cell in enumerate(cells)
        ]
        grids += community_grids
        # Spread the homes over the grids roughly by area, every grid getting at least one.
        areas = np.array([g.polygon.area for g in community_grids])
        share = np.maximum(1, np.floor(areas / areas.sum() * len(sizes))).astype(int)
        while share.sum() < len(sizes):
            share[int(geo_rng.integers(len(share)))] += 1
        while share.sum() > len(sizes) and share.max() > 1:
            share[int(np.argmax(share))] -= 1
        addresses = _Addresses(rng, streets_by_code[community.parent_code], community)
        offset = 0
        for grid, count in zip(community_grids, share, strict=True):
            count = int(count)
            homes = geometry.random_points_in(
                geometry.inner_area(grid.polygon, HOME_INSET_DEG), count, geo_rng
            ).round(COORD_DECIMALS)
            for (lng, lat), address, size in zip(
                homes, addresses.for_grid(count), sizes[offset : offset + count], strict=True
            ):
                households.append(
                    HouseholdPlan(grid.code, address, float(lat), float(lng), people.household(size))
                )
            offset += count
    units += grids

    accounts = _plan_accounts(district, grids, households, faker)
    return DistrictPlan(scale, seed, units, households, accounts)


def _plan_accounts(
    district: UnitPlan,
    grids: list[UnitPlan],
    households: list[HouseholdPlan],
    faker: Faker,
) -> list[AccountPlan]:
    """The demo accounts. Grid staff work in the first urban grid; resident1 lives there."""
    home_grid = next(g for g in grids if not g.rural)
    home_community = home_grid.parent_code
    by_grid: dict[str, list[HouseholdPlan]] = {}
    for household in households:
        by_grid.setdefault(household.grid_code, []).append(household)

    def adult_in(grid_code: str) -> PersonPlan | None:
        for household in by_grid.get(grid_code, []):
            for person in household.members:
                age = (REFERENCE_DATE - person.birth_date).days / 365.25
                if 18 <= age < 65 and person.phone:
                    return person
        return None

    scope_codes = {"district": district.code, "grid": home_grid.code, "community": home_community}
    accounts = [
        AccountPlan(username, role, scope_codes[scope], None, faker.name())
        for username, role, scope in DEMO_STAFF
    ]
    # resident1 in the grid worker's grid; the others spread evenly over the rest of the district.
    others = [g.code for g in grids if g.code != home_grid.code]
    step = max(1, len(others) // (DEMO_RESIDENTS - 1))
    candidates = [home_grid.code, *others[::step], *others]
    chosen: list[PersonPlan] = []
    for grid_code in candidates:
        person = adult_in(grid_code)
        if person is not None and person not in chosen:
            chosen.append(person)
        if len(chosen) == DEMO_RESIDENTS:
            break
    if not chosen or chosen[0] is not adult_in(home_grid.code):
        raise ValueError(f"no adult with a phone in grid {home_grid.code}")
    for i, person in enumerate(chosen, start=1):
        accounts.append(AccountPlan(f"resident{i}", Role.RESIDENT, None, person.id_number, person.name))
    return accounts
