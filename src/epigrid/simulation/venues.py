"""Venues of the synthetic district as pure data: :func:`plan_venues` places restaurants, shops, offices,
schools... in every grid from the district plan and a seeded random stream, without touching the database.

Density follows the grid: a city grid has a street of restaurants and shops, supermarkets, an office
building or two, firms and now and then a construction site or hotel; a village grid has a shop, a firm or
cooperative and perhaps a restaurant. Schools go by community and street, hospitals by street plus the
district's hospitals, transport hubs by district. Hospitals, schools, transport hubs and large chain
supermarkets are key places (重点场所).

Venues are dated by ``opened_days``: how many days before the load they were registered. Most have been
there for months or years; a few restaurants and shops opened during the check-in history, so the history
must respect their opening day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from epigrid.places.models import VenueType
from epigrid.simulation import geometry, names
from epigrid.simulation.plan import COORD_DECIMALS, DistrictPlan, UnitPlan

VENUE_INSET_DEG = 5e-5  # ~5 m inside the grid's boundary, as homes
OPERATOR_USERNAME = "venue"

T = VenueType
# Expected venues per grid, by scale, for city (urban) and village (rural) grids.
GRID_DENSITY: dict[str, dict[bool, dict[str, float]]] = {
    "tiny": {
        False: {
            T.RESTAURANT: 5.5,
            T.SHOP: 4.5,
            T.SUPERMARKET: 1.3,
            T.OFFICE: 1.0,
            T.ENTERPRISE: 1.0,
            T.HOTEL: 0.5,
            T.CONSTRUCTION: 0.4,
            T.OTHER: 1.0,
        },
        True: {
            T.SHOP: 1.5,
            T.ENTERPRISE: 1.0,
            T.RESTAURANT: 0.8,
            T.SUPERMARKET: 0.4,
            T.CONSTRUCTION: 0.15,
            T.OTHER: 0.4,
        },
    },
    "district": {
        False: {
            T.RESTAURANT: 12.0,
            T.SHOP: 10.0,
            T.SUPERMARKET: 2.2,
            T.OFFICE: 1.8,
            T.ENTERPRISE: 2.0,
            T.HOTEL: 0.8,
            T.CONSTRUCTION: 0.5,
            T.OTHER: 2.5,
        },
        True: {
            T.SHOP: 2.0,
            T.ENTERPRISE: 1.0,
            T.RESTAURANT: 1.0,
            T.SUPERMARKET: 0.5,
            T.CONSTRUCTION: 0.15,
            T.OTHER: 0.5,
        },
    },
}
GRID_DENSITY["test"] = GRID_DENSITY["tiny"]

# Share of ordinary venues (not key places, not the operator's) that opened during the last weeks.
RECENT_SHARE = 0.03
RECENT_DAYS = 12  # those opened 1..RECENT_DAYS days before the load

RESTAURANT_BRANDS = ["肯德基", "麦当劳", "喜家德虾仁水饺", "船歌鱼水饺", "德克士", "永和大王", "海底捞火锅"]
RESTAURANT_KINDS = [
    "海鲜大酒店",
    "饺子馆",
    "家常菜馆",
    "拉面馆",
    "烧烤店",
    "火锅店",
    "快餐店",
    "包子铺",
    "鲁菜馆",
    "焖子店",
    "海肠捞饭馆",
    "大排档",
    "面馆",
]
SUPERMARKET_CHAINS = ["家家悦超市", "振华超市", "利群超市", "佳乐家超市", "大润发", "华润万家"]
SHOP_KINDS = [
    "便利店",
    "大药房",
    "五金店",
    "服装店",
    "水果店",
    "烟酒店",
    "理发店",
    "手机店",
    "花店",
    "书店",
    "母婴店",
    "眼镜店",
]
SHOP_CHAINS = ["漱玉平民大药房", "利群便利店", "中国移动营业厅"]
OFFICE_KINDS = ["商务大厦", "金融中心", "科技大厦", "国际大厦", "创业大厦", "总部基地"]
ENTERPRISE_KINDS = [
    "精密机械有限公司",
    "电子科技有限公司",
    "汽车零部件有限公司",
    "食品有限公司",
    "生物医药有限公司",
    "物流有限公司",
    "新材料有限公司",
    "海洋科技有限公司",
]
VILLAGE_ENTERPRISE_KINDS = ["果品专业合作社", "养殖场", "苹果冷库", "葡萄酒庄", "建材厂", "农机合作社"]
HOTEL_CHAINS = ["如家酒店", "汉庭酒店", "7天酒店", "格林豪泰酒店"]
HOTEL_KINDS = ["宾馆", "海景大酒店", "商务酒店", "大酒店"]
OTHER_KINDS = ["公园", "体育馆", "影城", "网吧", "健身房", "KTV", "文化广场", "游泳馆"]
VILLAGE_OTHER_KINDS = ["文化大院", "村委会", "农家书屋"]
TRANSPORT_HUBS = ["烟台南站", "开发区汽车站", "八角港客运站"]

CAPACITY: dict[str, tuple[float, int, int]] = {
    # type: (share of venues that state a capacity, low, high)
    T.RESTAURANT: (0.7, 30, 300),
    T.SUPERMARKET: (0.8, 40, 200),  # chains get 300-1500 below
    T.HOTEL: (1.0, 60, 500),
    T.OFFICE: (0.6, 200, 2000),
    T.SHOP: (0.2, 5, 40),
    T.SCHOOL: (1.0, 300, 2400),
    T.HOSPITAL: (1.0, 150, 1500),
    T.TRANSPORT: (1.0, 800, 4000),
    T.ENTERPRISE: (0.5, 50, 1500),
    T.CONSTRUCTION: (0.3, 30, 400),
    T.OTHER: (0.4, 50, 800),
}
KEY_SUPERMARKET_CAPACITY = 1000  # hypermarkets


@dataclass
class VenuePlan:
    name: str
    type: str
    address: str
    lat: float
    lng: float
    grid_code: str
    capacity: int | None
    key_place: bool
    opened_days: float  # registered this many days before the load
    operator: str | None = None  # username of the demo account operating it


class _Namer:
    def __init__(self, rng: random.Random, plan: DistrictPlan) -> None:
        self.rng = rng
        self.units = {u.code: u for u in plan.units}
        self.taken: set[str] = set()
        self.house_no: dict[str, int] = {}

    def community(self, grid: UnitPlan) -> UnitPlan:
        return self.units[grid.parent_code or ""]

    def street(self, grid: UnitPlan) -> UnitPlan:
        return self.units[self.community(grid).parent_code or ""]

    def stem(self, grid: UnitPlan) -> str:
        community = self.community(grid)
        if community.rural:
            return community.name.removesuffix("村")
        return community.name.removesuffix("社区")

    def address(self, grid: UnitPlan) -> tuple[str, str]:
        """(address, road) of a new venue in ``grid``."""
        street = self.street(grid)
        prefix = f"{names.CITY_PREFIX}{names.DISTRICT_NAME}{street.name}"
        community = self.community(grid)
        if community.rural:
            n = self.house_no.get(community.code, 200) + self.rng.randint(1, 6)
            self.house_no[community.code] = n
            return f"{prefix}{community.name}{n}号", community.name
        road = self.rng.choice(names.ROADS)
        return f"{prefix}{road}{self.rng.randint(1, 400)}号", road

    def unique(self, name: str, road: str, *, branches: bool = True) -> str:
        candidates = [name]
        if branches and not name.endswith("店)"):
            candidates.append(f"{name}({road}店)")
        label = "分店" if branches else "分部"
        candidates += [f"{name}(第{names.chinese_number(k)}{label})" for k in range(2, 99)]
        for candidate in candidates:
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        raise RuntimeError(f"no free name for {name}")

    def name(self, kind: str, grid: UnitPlan, road: str) -> str:
        """A fresh name for a venue of type ``kind``: a few draws, then a branch or division suffix."""
        branches = kind in (T.RESTAURANT, T.SUPERMARKET, T.SHOP, T.HOTEL)
        for _attempt in range(8):
            name = self._draw(kind, grid, road)
            if name not in self.taken:
                break
        return self.unique(name, road, branches=branches)

    def _draw(self, kind: str, grid: UnitPlan, road: str) -> str:
        rng, stem = self.rng, self.stem(grid)
        rural = self.community(grid).rural
        surname = rng.choice(names.VILLAGE_SURNAMES)
        if kind == T.RESTAURANT:
            if rural:
                name = rng.choice([f"{stem}农家乐", f"{stem}{rng.choice(RESTAURANT_KINDS)}"])
            elif rng.random() < 0.2:
                name = f"{rng.choice(RESTAURANT_BRANDS)}({road}店)"
            else:
                name = rng.choice(
                    [
                        f"{stem}{rng.choice(RESTAURANT_KINDS)}",
                        f"{surname}记{rng.choice(RESTAURANT_KINDS)}",
                        f"老{surname}家{rng.choice(RESTAURANT_KINDS)}",
                    ]
                )
        elif kind == T.SUPERMARKET:
            if not rural and rng.random() < 0.55:
                name = f"{rng.choice(SUPERMARKET_CHAINS)}({road}店)"
            else:
                name = f"{stem}{rng.choice(['便民超市', '生鲜超市', '购物中心'])}"
        elif kind == T.SHOP:
            if rural:
                name = f"{stem}{rng.choice(['小卖部', '便利店', '农资店', '五金店'])}"
            elif rng.random() < 0.15:
                name = f"{rng.choice(SHOP_CHAINS)}({road}店)"
            else:
                name = f"{rng.choice([stem, road, surname + '氏'])}{rng.choice(SHOP_KINDS)}"
        elif kind == T.OFFICE:
            name = rng.choice(
                ["万达广场写字楼", f"{stem}{rng.choice(OFFICE_KINDS)}", f"{road}{rng.choice(OFFICE_KINDS)}"]
            )
        elif kind == T.ENTERPRISE:
            if rural:
                name = f"{stem}{rng.choice(VILLAGE_ENTERPRISE_KINDS)}"
            else:
                name = f"烟台{rng.choice([stem, rng.choice(names.COMMUNITY_STEMS)])}{rng.choice(ENTERPRISE_KINDS)}"
        elif kind == T.HOTEL:
            if rng.random() < 0.35:
                name = f"{rng.choice(HOTEL_CHAINS)}({road}店)"
            else:
                name = rng.choice(["福莱山大酒店", f"{stem}{rng.choice(HOTEL_KINDS)}"])
        elif kind == T.CONSTRUCTION:
            name = rng.choice(
                [
                    f"{stem}{rng.choice(names.COMPOUND_SUFFIXES)}{names.chinese_number(rng.randint(2, 4))}期项目工地",
                    f"{road}道路改造工程工地",
                    f"{stem}安置房项目工地",
                ]
            )
        elif kind == T.OTHER:
            name = f"{stem}{rng.choice(VILLAGE_OTHER_KINDS if rural else OTHER_KINDS)}"
        else:
            raise ValueError(kind)
        return name


def _capacity(rng: random.Random, kind: str) -> int | None:
    share, low, high = CAPACITY[kind]
    if rng.random() >= share:
        return None
    # Log-uniform: many small places, a few big ones.
    return int(round(float(np.exp(rng.uniform(np.log(low), np.log(high)))), -1 if high > 100 else 0)) or low


def plan_venues(plan: DistrictPlan, rng: random.Random) -> list[VenuePlan]:
    """Every venue of the district, from the plan and ``rng`` alone (no database, no clock)."""
    np_rng = np.random.default_rng(rng.getrandbits(64))
    densities = GRID_DENSITY.get(plan.scale, GRID_DENSITY["district"])
    namer = _Namer(rng, plan)
    grids = plan.units_at("grid")
    grid_by_code = {g.code: g for g in grids}
    urban = [g for g in grids if not g.rural] or grids
    venues: list[VenuePlan] = []

    def place(kind: str, grid: UnitPlan, count: int, **fixed) -> list[VenuePlan]:
        points = geometry.random_points_in(
            geometry.inner_area(grid.polygon, VENUE_INSET_DEG), count, np_rng
        ).round(COORD_DECIMALS)
        out = []
        for lng, lat in points:
            address, road = namer.address(grid)
            name = fixed.pop("name", None)
            name = (
                namer.unique(name, road, branches=kind != T.SCHOOL) if name else namer.name(kind, grid, road)
            )
            capacity = _capacity(rng, kind)
            if kind == T.SUPERMARKET and name.endswith("店)"):
                capacity = rng.randrange(300, 1600, 50)
            key = kind in (T.HOSPITAL, T.SCHOOL, T.TRANSPORT) or (
                kind == T.SUPERMARKET and (capacity or 0) >= KEY_SUPERMARKET_CAPACITY
            )
            recent = not key and kind in (T.RESTAURANT, T.SHOP, T.OTHER) and rng.random() < RECENT_SHARE
            opened = rng.uniform(1, RECENT_DAYS) if recent else rng.uniform(45, 2000)
            venue = VenuePlan(name, kind, address, float(lat), float(lng), grid.code, capacity, key, opened)
            out.append(venue)
        venues.extend(out)
        return out

    # Ordinary venues, grid by grid.
    for grid in grids:
        for kind, mean in densities[grid.rural].items():
            count = int(np_rng.poisson(mean))
            if count:
                place(kind, grid, count)

    # Schools: a primary school per community (most villages too), a kindergarten in most city
    # communities, a middle school per street; hospitals: a health centre per street, the district's own.
    for community in plan.units_at("community"):
        own = [g for g in grids if g.parent_code == community.code]
        stem = namer.stem(own[0])
        if not community.rural or rng.random() < 0.6:
            place(T.SCHOOL, rng.choice(own), 1, name=f"{stem}小学")
        if not community.rural and rng.random() < 0.7:
            place(T.SCHOOL, rng.choice(own), 1, name=f"{stem}幼儿园")
        if not community.rural and rng.random() < 0.3:
            place(T.HOSPITAL, rng.choice(own), 1, name=f"{stem}社区卫生服务中心")
    for k, street in enumerate(plan.units_at("street"), start=1):
        own = [g for g in grids if g.parent_code and g.parent_code.startswith(street.code)]
        stem = street.name.removesuffix("街道").removesuffix("镇")
        place(T.SCHOOL, rng.choice(own), 1, name=f"开发区第{names.chinese_number(k)}初级中学")
        suffix = "卫生院" if street.rural else "社区卫生服务中心"
        place(T.HOSPITAL, rng.choice(own), 1, name=f"{stem}{suffix}")
    place(T.HOSPITAL, rng.choice(urban), 1, name="开发区医院")
    place(T.HOSPITAL, rng.choice(urban), 1, name="烟台市中医医院开发区院区")
    place(T.SCHOOL, rng.choice(urban), 1, name="开发区高级中学")
    for hub in TRANSPORT_HUBS[: max(1, min(3, len(urban) // 4))]:
        place(T.TRANSPORT, rng.choice(urban), 1, name=hub)

    # Every type at least once (the small test scale may draw none of a rare type).
    for kind in T.values:
        if not any(v.type == kind for v in venues):
            place(kind, rng.choice(urban if kind != T.OTHER else grids), 1)

    # At least one restaurant opened during the check-in history (a new place in town).
    if not any(v.opened_days < RECENT_DAYS for v in venues):
        restaurants = [v for v in venues if v.type == T.RESTAURANT]
        restaurants[len(restaurants) // 2].opened_days = rng.uniform(2, RECENT_DAYS)

    # The venue demo account runs an office building (visitor registration) and a restaurant in the grid
    # worker's grid, and a supermarket and a hotel elsewhere.
    home = grid_by_code[next(a.unit_code for a in plan.accounts if a.username == "gridworker")]
    elsewhere = [g for g in urban if g.code != home.code] or [home]
    operated = [
        *place(T.OFFICE, home, 1, name=f"{namer.stem(home)}商务大厦"),
        *place(T.RESTAURANT, home, 1, name=f"{namer.stem(home)}海鲜大酒店"),
        *place(T.SUPERMARKET, rng.choice(elsewhere), 1, name=f"家家悦超市({rng.choice(names.ROADS)}店)"),
        *place(T.HOTEL, rng.choice(elsewhere), 1, name="福莱山大酒店"),
    ]
    for venue in operated:
        venue.operator = OPERATOR_USERNAME
        venue.opened_days = max(venue.opened_days, 120.0)
    return venues
