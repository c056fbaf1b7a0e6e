"""Demo step ``supplies`` (after testing, quarantine and vaccination): a catalogue of epidemic supplies, a
district store, a store per community and a holding point for every sampling point, quarantine site and
vaccination clinic; receipts in lots, two weeks of daily use, minimum levels (some points short, one lot
expiring soon), transfers in every state — one received with a quantity mismatch —, a testing round planned
for tomorrow so the forecast has needs, and the hourly shortage check run once (the ``supplies`` account's
inbox holds its notices). Everything through the services; the ``supplies`` account covers the district.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from dataclasses import dataclass

from django.utils import timezone
from tqdm import tqdm

from epigrid.core.models import OrgLevel, OrgUnit
from epigrid.simulation import comparison_demo  # noqa: F401 - the earlier steps (testing, vaccination) run first
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.supplies.models import ForecastDriver, HoldingPoint, Item, PointKind
from epigrid.supplies.services import catalogue, ledger, shortages, transfers

HISTORY_DAYS = 14


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    unit: str
    category: str
    shelf_life_days: int | None
    driver: str
    rate: str
    daily: int  # typical daily use at a point that uses it (the demo's history)


CATALOGUE = (
    Product("N95", "N95医用防护口罩", "只", "mask", 1095, ForecastDriver.PERSON_SAMPLED, "0.02", 8),
    Product("MASK-SURG", "医用外科口罩", "只", "mask", 730, ForecastDriver.QUARANTINE_DAY, "2", 40),
    Product("SUIT", "医用一次性防护服", "套", "suit", 1095, ForecastDriver.PERSON_SAMPLED, "0.01", 4),
    Product("GLOVE", "医用检查手套", "副", "gloves", 1095, ForecastDriver.PERSON_SAMPLED, "0.05", 20),
    Product("SHIELD", "医用防护面屏", "个", "other", None, ForecastDriver.NONE, "0", 2),
    Product("SWAB", "一次性采样拭子", "支", "swab", 730, ForecastDriver.PERSON_SAMPLED, "1", 150),
    Product("TUBE10", "病毒采样管（10混1）", "支", "tube", 365, ForecastDriver.TUBE, "1", 15),
    Product(
        "AG-KIT", "新冠病毒抗原检测试剂盒", "人份", "test_kit", 365, ForecastDriver.QUARANTINE_DAY, "0.5", 10
    ),
    Product(
        "DISINF-84", "84消毒液（500毫升）", "瓶", "disinfectant", 365, ForecastDriver.QUARANTINE_DAY, "0.1", 3
    ),
    Product(
        "ALCOHOL75",
        "75%酒精消毒液（500毫升）",
        "瓶",
        "disinfectant",
        730,
        ForecastDriver.PERSON_SAMPLED,
        "0.005",
        2,
    ),
    Product("COLDBOX", "疫苗冷藏箱", "个", "other", None, ForecastDriver.NONE, "0", 0),
    Product("SYRINGE", "一次性使用无菌注射器（1毫升）", "支", "other", 1825, ForecastDriver.DOSE, "1", 30),
)
# What each kind of point uses day by day (item codes).
USES = {
    PointKind.SAMPLING_POINT: ("N95", "SUIT", "GLOVE", "SWAB", "TUBE10", "ALCOHOL75"),
    PointKind.QUARANTINE_SITE: ("MASK-SURG", "AG-KIT", "DISINF-84", "GLOVE"),
    PointKind.CLINIC: ("SYRINGE", "GLOVE", "MASK-SURG"),
}


def _lot(code: str, n: int, seed: int) -> str:
    return f"{code.replace('-', '')[:6]}{seed % 100:02d}{n:03d}"


def _points(ctx: DemoContext, admin) -> dict[str, list[HoldingPoint]]:
    from epigrid.quarantine.models import Site, SiteKind
    from epigrid.testing.models import SamplingPoint
    from epigrid.vaccination.models import VaccinationSite

    district = next(u for u in ctx.units.values() if u.level == OrgLevel.DISTRICT)

    def add(name: str, kind: str, area: OrgUnit, **links) -> HoldingPoint:
        return catalogue.point_create(
            actor=admin,
            data=catalogue.PointInput(name=name, kind=kind, area=area, **links),
        )

    def area_of(org_code: str) -> OrgUnit:
        return ctx.units.get(org_code) or district

    made: dict[str, list[HoldingPoint]] = {
        "store": [add(f"{district.name}防疫物资仓库", PointKind.DISTRICT_STORE, district)]
    }
    communities = sorted(
        (u for u in ctx.units.values() if u.level == OrgLevel.COMMUNITY), key=lambda u: u.code
    )
    made["community"] = [add(f"{c.name}物资储备点", PointKind.COMMUNITY_STORE, c) for c in communities]
    code = district.code
    made[PointKind.SAMPLING_POINT] = [
        add(
            f"{sp.name}物资点",
            PointKind.SAMPLING_POINT,
            area_of(sp.org_code),
            sampling_point=sp,
            address=sp.address,
        )
        for sp in SamplingPoint.objects.filter(org_code__startswith=code, active=True).order_by("pk")
    ]
    made[PointKind.QUARANTINE_SITE] = [
        add(f"{site.name}物资间", PointKind.QUARANTINE_SITE, area_of(site.org_code), quarantine_site=site)
        for site in Site.objects.filter(org_code__startswith=code, kind=SiteKind.CENTRALISED).order_by("pk")
    ]
    made[PointKind.CLINIC] = [
        add(f"{vs.name}物资柜", PointKind.CLINIC, area_of(vs.org_code), vaccination_site=vs)
        for vs in VaccinationSite.objects.filter(org_code__startswith=code, active=True).order_by("pk")
    ]
    return made


@demo_step("supplies")
def load_supplies(ctx: DemoContext) -> None:
    from epigrid.testing import services as testing

    rng = ctx.rng("supplies")
    admin, officer, sampler = ctx.users["admin"], ctx.users["supplies"], ctx.users["sampler"]
    anchor = ctx.anchor
    today = timezone.localdate(anchor)
    items: dict[str, Item] = {
        p.code: catalogue.item_create(
            actor=officer,
            data=catalogue.ItemInput(
                code=p.code,
                name=p.name,
                unit=p.unit,
                category=p.category,
                shelf_life_days=p.shelf_life_days,
                forecast_driver=p.driver,
                forecast_rate=p.rate,
            ),
        )
        for p in CATALOGUE
    }
    products = {p.code: p for p in CATALOGUE}
    points = _points(ctx, officer)
    store = points["store"][0]
    users = [p for kind in USES for p in points[kind]]
    started = anchor - dt.timedelta(days=HISTORY_DAYS, hours=2)

    def receive(
        point: HoldingPoint, code: str, quantity: int, n: int, *, expires_in: int | None = None
    ) -> None:
        product = products[code]
        lot, expires = "", None
        if product.shelf_life_days:
            lot = _lot(code, n, ctx.seed)
            expires = today + dt.timedelta(days=expires_in or product.shelf_life_days - rng.randint(30, 200))
        ledger.stock_receive(
            actor=officer,
            point=point,
            item=items[code],
            quantity=quantity,
            lot_number=lot,
            expires_on=expires,
            reason="市卫健委调拨",
            at=started,
        )

    # The district store holds a month of the district's use, in two lots per item (swabs: one lot runs out soon).
    for n, product in enumerate(CATALOGUE, start=1):
        need = max(20, product.daily * max(1, len(users)) * 30)
        receive(store, product.code, need, 2 * n)
        receive(store, product.code, need // 4, 2 * n + 1, expires_in=20 if product.code == "SWAB" else None)
    # Points of use got two weeks' worth at the start, a few of them too little (they are short now).
    short_points = {p.pk for p in users[:: max(1, len(users) // 3)]}
    with ctx.bar(len(users), "supply points", "point") as bar:
        for point in users:
            for k, code in enumerate(USES[point.kind]):
                daily = products[code].daily
                days = 9 if point.pk in short_points and k == 0 else HISTORY_DAYS + rng.randint(3, 10)
                receive(point, code, daily * days, 100 + point.pk * 10 + k)
                # Tomorrow's level: 3 days of use at least, and a week of cover (the forecast asks the same).
                catalogue.reorder_rule_set(
                    actor=officer, point=point, item=items[code], min_quantity=daily * 3, min_cover_days=5
                )
            for day in range(HISTORY_DAYS, 0, -1):
                at = anchor - dt.timedelta(days=day) + dt.timedelta(hours=rng.randint(0, 8))
                for code in USES[point.kind]:
                    daily = products[code].daily
                    used = max(1, round(daily * rng.uniform(0.7, 1.3)))
                    available = sum(s.quantity for s in ledger.usable_lots(point, items[code]))
                    if used <= available:
                        ledger.stock_consume(
                            actor=sampler if point.kind == PointKind.SAMPLING_POINT else officer,
                            point=point,
                            item=items[code],
                            quantity=used,
                            at=at,
                            client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        )
            bar.update()
    _transfers(points, items, officer, sampler)
    # Tomorrow's round in the first street: the forecast turns it into swabs and tubes per sampling point.
    streets = sorted((u for u in ctx.units.values() if u.level == OrgLevel.STREET), key=lambda u: u.code)
    if streets and points[PointKind.SAMPLING_POINT]:
        testing.testing_round_create(
            actor=admin,
            name=f"{streets[0].name}第二轮区域核酸",
            area=streets[0],
            day=today + dt.timedelta(days=1),
        )
    announced = shortages.shortages_announce(now=anchor)
    if ctx.progress:
        tqdm.write(
            f"  {sum(len(v) for v in points.values())} holding points, {announced} shortages", file=sys.stderr
        )


def _transfers(points: dict[str, list[HoldingPoint]], items: dict[str, Item], officer, sampler) -> None:
    """From the district store to community stores and sampling points: one in each state, and one received
    with a box fewer than was shipped."""
    store = points["store"][0]
    targets = (points["community"] + points[PointKind.SAMPLING_POINT]) or points[PointKind.CLINIC]
    if not targets:
        return

    def request(i: int, lines: list[tuple[str, int]], note: str):
        return transfers.transfer_request(
            actor=sampler,
            from_point=store,
            to_point=targets[i % len(targets)],
            lines=[(items[code], quantity) for code, quantity in lines],
            note=note,
        )

    request(0, [("SWAB", 600), ("TUBE10", 60)], "周末区域核酸备货")
    approved = request(1, [("N95", 200), ("SUIT", 50)], "补充防护用品")
    transfers.transfer_approve(actor=officer, transfer=approved)
    shipped = request(2, [("GLOVE", 300)], "")
    transfers.transfer_approve(actor=officer, transfer=shipped)
    transfers.transfer_ship(actor=officer, transfer=shipped)
    received = request(3, [("ALCOHOL75", 20), ("DISINF-84", 20)], "消毒用品")
    transfers.transfer_approve(actor=officer, transfer=received)
    transfers.transfer_ship(actor=officer, transfer=received)
    transfers.transfer_receive(actor=sampler, transfer=received)
    mismatch = request(4, [("SWAB", 500)], "")
    line = mismatch.lines.get()
    transfers.transfer_approve(actor=officer, transfer=mismatch, approved={line.pk: 400})
    transfers.transfer_ship(actor=officer, transfer=mismatch)
    lots = list(line.lots.order_by("pk"))
    transfers.transfer_receive(
        actor=sampler,
        transfer=mismatch,
        received={lots[-1].pk: max(0, lots[-1].shipped_quantity - 50)},
        note="到货少一箱（50支），已联系区仓库核查",
    )
    rejected = request(5, [("COLDBOX", 10)], "")
    transfers.transfer_reject(actor=officer, transfer=rejected, note="冷藏箱只配发接种门诊")
