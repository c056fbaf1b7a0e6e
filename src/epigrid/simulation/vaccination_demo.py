"""Demo steps of vaccination (after the command center's cameras): the catalogue, a site per community, two
weeks of slots, a vaccination history for every resident, pending self-reports and a few bookings.

``vaccination_sites``: four COVID-19 products (北京生物 and 科兴 inactivated, two doses 21 days apart and a
booster after 180 days; 智飞 recombinant protein, three doses 28 days apart; 康希诺 Ad5 vector, one dose),
their production lots, and a vaccination clinic for every city community (at its 社区卫生服务中心 when the
venues step put one there, else a 卫生服务站 in the middle of the community) and one per rural town (at its
卫生院), open on weekdays 08:00-11:30 and 13:30-17:00 and on Saturday mornings, in half-hour slots for the
14 days from the load; every site is closed one day of those (a holiday) before the slots are cut.

``vaccination_history``: the mass campaign as it ran in China in 2021-2022, replayed in the two years before
the load's anchor: adults first, then teenagers, then children from 3, the elderly later and fewer of them;
a booster for about 57 % of adults. Coverage by age today is drawn from :data:`COVERAGE` (the share of each
band with a first dose, a full series and a booster). Doses follow the rules the services enforce (age
limits, one dose a day, the series interval of the first product, a booster at least 180 days after the
dose before, numbers and kinds in date order: :func:`eligibility.number_doses`), and each person's
``VaccinationStatus`` is :func:`eligibility.standing` of their doses. Everything goes in with a few bulk
``INSERT`` statements and one audit entry (a district has ~230,000 doses: ``dose_record`` per dose would
take many minutes), and the health code learns everyone's dose count in one ``facts_update_each`` (what its
``vaccination.dose`` handler does for one person after ``dose_record``).

``vaccination_activity``: what is going on at the load: pending self-reports with a photo of the
certificate (resident2 reports a booster received in Qingdao), and bookings for the coming days through
``booking_create`` (resident1 books their own booster; the vaccinator books overdue people by phone).
Deterministic per seed: every choice comes from the step's own random stream, every date is relative to
the anchor.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.db import connection
from django.utils import timezone
from shapely.geometry import Point
from tqdm import tqdm

from epigrid.core.audit import audit_record
from epigrid.core.models import DiseaseProfile, Person
from epigrid.healthcode.services import facts_update_each
from epigrid.places.models import Venue, VenueStatus, VenueType
from epigrid.simulation import command_demo, names  # noqa: F401 - command_demo: the earlier steps run first
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.simulation.plan import DISTRICT_CODE, UnitPlan
from epigrid.simulation.steps import _sqlite_page_cache
from epigrid.vaccination import eligibility
from epigrid.vaccination.models import (
    Dose,
    DoseKind,
    DoseSource,
    Slot,
    VaccinationSite,
    VaccinationStatus,
    Vaccine,
    VaccineBatch,
)
from epigrid.vaccination.services import bookings, catalogue, doses

DISEASE = "covid19"
SLOT_DAYS = 14
OPENING_HOURS = [
    *({"weekday": d, "start": "08:00", "end": "11:30"} for d in range(5)),
    *({"weekday": d, "start": "13:30", "end": "17:00"} for d in range(5)),
    {"weekday": 5, "start": "08:00", "end": "11:30"},
]


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    manufacturer: str
    kind: str
    doses: int
    interval: int  # minimum days between series doses
    min_age: int
    lot_prefix: str
    shelf_days: int  # a lot expires this long after it was made
    booster_interval: int = 180
    max_boosters: int = 1


BIBP = Product(
    "bibp-covid19-inactivated",
    "新型冠状病毒灭活疫苗（Vero细胞）",
    "北京生物制品研究所有限责任公司（国药集团中国生物）",
    "inactivated",
    2,
    21,
    3,
    "B",
    730,
)
CORONAVAC = Product(
    "sinovac-coronavac",
    "新型冠状病毒灭活疫苗（Vero细胞）克尔来福",
    "北京科兴中维生物技术有限公司",
    "inactivated",
    2,
    21,
    3,
    "K",
    365,
)
ZF2001 = Product(
    "zf2001-covid19-protein",
    "重组新型冠状病毒蛋白疫苗（CHO细胞）智克威得",
    "安徽智飞龙科马生物制药有限公司",
    "protein",
    3,
    28,
    18,
    "Z",
    730,
)
AD5 = Product(
    "cansino-ad5-ncov",
    "重组新型冠状病毒疫苗（5型腺病毒载体）克威莎",
    "康希诺生物股份公司",
    "vector",
    1,
    0,
    18,
    "NCOV",
    365,
)
PRODUCTS = (BIBP, CORONAVAC, ZF2001, AD5)
# Which product a first dose was, by age at that dose (weights in PRODUCTS order).
MIX_ADULT = (0.45, 0.35, 0.12, 0.08)
MIX_CHILD = (0.55, 0.45, 0.0, 0.0)  # only the inactivated vaccines were given under 18
# Booster product after each primary (序贯加强: a protein or vector booster after inactivated doses).
BOOSTER_MIX = {
    BIBP.code: (0.68, 0.0, 0.20, 0.12),
    CORONAVAC.code: (0.0, 0.68, 0.20, 0.12),
    ZF2001.code: (0.0, 0.0, 1.0, 0.0),
    AD5.code: (0.0, 0.0, 0.0, 1.0),
}


@dataclass(frozen=True)
class Coverage:
    """Shares of an age band (age at the load) with a first dose, a full series and a booster, and when the
    band's first doses were given: a triangular spread over days before the anchor (earliest, latest, mode)."""

    first: float
    full: float
    booster: float
    window: tuple[int, int, int]


# China's national figures of late 2022 (full series ~90 % of adults, boosters ~55-60 %, the over-80s far
# behind), spread over the bands of the coverage page.
COVERAGE: dict[str, Coverage] = {
    "0-2": Coverage(0.0, 0.0, 0.0, (0, 0, 0)),
    "3-11": Coverage(0.92, 0.885, 0.0, (480, 330, 430)),  # Oct-Dec 2021; younger ones when they turn 3
    "12-17": Coverage(0.935, 0.905, 0.0, (560, 430, 520)),  # Jul-Sep 2021
    "18-59": Coverage(0.94, 0.915, 0.59, (700, 460, 620)),  # spring and summer 2021
    "60-69": Coverage(0.89, 0.85, 0.62, (650, 200, 540)),  # from spring 2021, slower
    "70-79": Coverage(0.83, 0.77, 0.50, (620, 180, 500)),
    "80+": Coverage(0.64, 0.55, 0.30, (600, 150, 420)),
}
ELSEWHERE = (  # where the doses of people who moved in were given (imported records)
    "烟台市芝罘区疾病预防控制中心接种门诊",
    "青岛市市南区八大关街道社区卫生服务中心",
    "济南市历下区疾控中心预防接种门诊",
    "威海市环翠区竹岛街道社区卫生服务中心",
    "潍坊市奎文区人民医院接种点",
    "北京市朝阳区疾病预防控制中心",
)
IMPORTED_SHARE = 0.06  # of vaccinated residents: their series was given elsewhere before they moved here
LOT_EVERY_DAYS = 45
DAY_SLOTS = ((8, 0, 11, 30), (13, 30, 17, 0))  # clinic hours: doses are given within them
HOLIDAYS = {  # (month, day) -> name: fixed-date public holidays
    (1, 1): "元旦",
    **{(5, d): "劳动节" for d in range(1, 4)},
    **{(10, d): "国庆节" for d in range(1, 8)},
}


def _disease() -> DiseaseProfile:
    return DiseaseProfile.objects.get(code=DISEASE)


def _today(ctx: DemoContext) -> dt.date:
    return timezone.localdate(ctx.anchor)


def _lot_dates(product: Product, today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """(made, expires) of each lot: one every 45 days from 760 days before the anchor, the last two in use."""
    made = [today - dt.timedelta(days=760 - LOT_EVERY_DAYS * k) for k in range(760 // LOT_EVERY_DAYS)]
    made.append(today - dt.timedelta(days=20))
    return [(m, m + dt.timedelta(days=product.shelf_days)) for m in made]


def _lot_number(product: Product, made: dt.date, k: int) -> str:
    return f"{product.lot_prefix}{made:%Y%m}{k:03d}"


# --- sites -----------------------------------------------------------------------------------------------------


@dataclass
class SitePlan:
    name: str
    address: str
    grid_code: str
    lat: float
    lng: float
    capacity: int


def _grid_at(ctx: DemoContext, parent: UnitPlan, lat: float, lng: float) -> UnitPlan:
    grids = [g for g in ctx.plan.units_at("grid") if g.parent_code == parent.code] or [
        g for g in ctx.plan.units_at("grid") if g.code.startswith(parent.code)
    ]
    point = Point(lng, lat)
    return next((g for g in grids if g.polygon.contains(point)), grids[0])


def plan_sites(ctx: DemoContext) -> list[SitePlan]:
    """A clinic for each city community and one for each rural town, at the area's health centre (a venue of
    the venues step) when there is one, otherwise in the middle of the area."""
    rng = ctx.rng("vaccination_sites")
    centres = list(
        Venue.objects.filter(
            org_code__startswith=DISTRICT_CODE, type=VenueType.HOSPITAL, status=VenueStatus.APPROVED
        )
        .order_by("pk")
        .values_list("name", "address", "org_code", "lat", "lng")
    )
    units = {u.code: u for u in ctx.plan.units}
    plans = []
    areas = [c for c in ctx.plan.units_at("community") if not c.rural]
    areas += [s for s in ctx.plan.units_at("street") if s.rural]
    for area in areas:
        suffix = "卫生院" if area.rural else "社区卫生服务中心"
        centre = next(
            (c for c in centres if c[2].startswith(area.code) and c[0].endswith(suffix) and c[3] is not None),
            None,
        )
        if centre is not None:
            name, address, grid_code, lat, lng = centre
            name = f"{name}预防接种门诊"
        else:
            lat, lng = area.centroid
            grid_code = _grid_at(ctx, area, lat, lng).code
            street = units[area.parent_code] if not area.rural else area
            place = f"{area.name}卫生服务站" if not area.rural else f"{area.name}卫生院"
            name = f"{place}新冠疫苗接种点"
            road = rng.choice(names.ROADS)
            address = (
                f"{names.CITY_PREFIX}{names.DISTRICT_NAME}{street.name}{road}{rng.randint(1, 200)}号{place}"
            )
        plans.append(SitePlan(name, address, grid_code, lat, lng, 15 if area.rural else 20))
    return plans


def _closure_day(today: dt.date) -> tuple[dt.date, str]:
    """The holiday of the slot period: a public holiday if one falls in it, else the second Monday (a
    day off given for working the weekend, 调休)."""
    for offset in range(1, SLOT_DAYS):
        day = today + dt.timedelta(days=offset)
        name = HOLIDAYS.get((day.month, day.day))
        if name and day.weekday() != 6:  # closed on Sundays anyway
            return day, f"{name}放假，接种门诊休息一天"
    offset = 7 + (7 - today.weekday()) % 7  # the Monday of next week, or of the week after on a Monday
    day = today + dt.timedelta(days=min(offset, SLOT_DAYS - 1))
    return day, "节假日调休，接种门诊休息一天"


@demo_step("vaccination_sites")
def load_vaccination_sites(ctx: DemoContext) -> None:
    admin = ctx.users["admin"]
    disease = _disease()
    today = _today(ctx)
    made = {}
    for product in PRODUCTS:
        vaccine = catalogue.vaccine_create(
            actor=admin,
            data=catalogue.VaccineInput(
                disease=disease,
                code=product.code,
                name=product.name,
                manufacturer=product.manufacturer,
                kind=product.kind,
                doses_in_series=product.doses,
                min_interval_days=product.interval,
                booster_interval_days=product.booster_interval,
                max_boosters=product.max_boosters,
                min_age_years=product.min_age,
            ),
        )
        made[product.code] = vaccine
        for k, (made_on, expires) in enumerate(_lot_dates(product, today), start=1):
            catalogue.batch_create(
                actor=admin, vaccine=vaccine, lot_number=_lot_number(product, made_on, k), expires_on=expires
            )
    closed_on, reason = _closure_day(today)
    plans = plan_sites(ctx)
    slots = 0
    with ctx.bar(len(plans), "vaccination sites", "site") as bar:
        for plan in plans:
            site = catalogue.site_create(
                actor=admin,
                data=catalogue.SiteInput(
                    name=plan.name,
                    grid=ctx.units[plan.grid_code],
                    address=plan.address,
                    lat=plan.lat,
                    lng=plan.lng,
                    opening_hours=OPENING_HOURS,
                    slot_minutes=30,
                    capacity_per_slot=plan.capacity,
                    vaccines=list(made.values()),
                ),
            )
            catalogue.site_close_day(actor=admin, site=site, day=closed_on, reason=reason)
            slots += catalogue.slots_generate(actor=admin, site=site, start=today, days=SLOT_DAYS)
            bar.update()
    if ctx.progress:
        tqdm.write(f"  {len(plans)} vaccination sites, {slots:,} slots, closed {closed_on}", file=sys.stderr)


# --- history ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PlannedDose:
    """A dose of the history, shaped as ``eligibility`` reads a ``Dose`` (vaccine, given_on, number, kind)."""

    vaccine: Vaccine
    given_on: dt.date
    dose_number: int = 0
    kind: str = DoseKind.SERIES
    elsewhere: str = ""  # the place, for a dose given outside the district (an imported record)


def band_of(age: int) -> str:
    for floor, band in ((80, "80+"), (70, "70-79"), (60, "60-69"), (18, "18-59"), (12, "12-17"), (3, "3-11")):
        if age >= floor:
            return band
    return "0-2"


def _birthday(birth: dt.date, years: int) -> dt.date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return dt.date(birth.year + years, 3, 1)


def _weekday(day: dt.date) -> dt.date:
    """Clinics are closed on Sundays: a dose planned for one is given on the Monday."""
    return day + dt.timedelta(days=1) if day.weekday() == 6 else day


class _Histories:
    """Draws each resident's doses from the coverage table, within the rules of :mod:`eligibility`."""

    def __init__(self, ctx: DemoContext, vaccines: dict[str, Vaccine]) -> None:
        self.rng = ctx.rng("vaccination_history")
        self.today = _today(ctx)
        self.last_day = self.today - dt.timedelta(days=1)  # nothing is given on the day of the load
        self.vaccines = vaccines

    def _pick(self, weights: tuple[float, ...]) -> Vaccine:
        return self.vaccines[self.rng.choices(PRODUCTS, weights)[0].code]

    def draw(self, birth: dt.date) -> list[PlannedDose]:
        rng = self.rng
        cover = COVERAGE[band_of(eligibility.age_on(birth, self.today))]
        if rng.random() >= cover.first:
            return []
        full = rng.random() < cover.full / cover.first
        boosted = full and rng.random() < cover.booster / max(cover.full, 1e-9)
        earliest, latest, mode = cover.window
        first = self.today - dt.timedelta(days=round(rng.triangular(latest, earliest, mode)))
        third_birthday = _birthday(birth, 3)
        if first < third_birthday:  # a child who was too young in the campaign: vaccinated once they are 3
            first = third_birthday + dt.timedelta(days=rng.randint(7, 75))
        first = _weekday(first)
        adult = eligibility.age_on(birth, first) >= 18
        primary = self._pick(MIX_ADULT if adult else MIX_CHILD)
        if not full and primary.doses_in_series == 1:  # one dose of one dose is a full series
            primary = self.vaccines[BIBP.code]
        wanted = primary.doses_in_series if full else rng.randint(1, max(1, primary.doses_in_series - 1))
        series: list[PlannedDose] = []
        day = first
        while len(series) < wanted:
            if day > self.last_day:
                break
            series.append(PlannedDose(primary, day))
            extra = min(rng.expovariate(1 / 9), 60) if primary.min_interval_days else 0
            day = _weekday(day + dt.timedelta(days=primary.min_interval_days + int(extra)))
        if not series:
            return []
        if boosted and len(series) == primary.doses_in_series:
            booster = self._pick(BOOSTER_MIX[primary.code])
            day = series[-1].given_on + dt.timedelta(
                days=booster.booster_interval_days + int(rng.triangular(0, 330, 40))
            )
            earliest = max(
                series[-1].given_on + dt.timedelta(days=booster.booster_interval_days), _birthday(birth, 18)
            )
            if day > self.last_day and earliest <= self.last_day:  # boosted late: the last months
                day = earliest + dt.timedelta(days=rng.randint(0, (self.last_day - earliest).days))
            day = _weekday(max(day, earliest))
            if day <= self.last_day:
                series.append(PlannedDose(booster, day))
        if rng.random() < IMPORTED_SHARE:
            place = rng.choice(ELSEWHERE)
            for dose in series[: primary.doses_in_series]:
                dose.elsewhere = place
        return series

    def series_only(self, primary: Vaccine, first_days_ago: int) -> list[PlannedDose]:
        """A full series of ``primary`` and no booster (the demo residents whose booster is due)."""
        day = _weekday(self.today - dt.timedelta(days=first_days_ago))
        out = []
        for _n in range(primary.doses_in_series):
            out.append(PlannedDose(primary, day))
            day = _weekday(day + dt.timedelta(days=primary.min_interval_days + 7))
        return out


def _lots(today: dt.date) -> dict[int, list[tuple[dt.date, dt.date, int, str]]]:
    """Per vaccine: (made, expires, batch pk, lot number) of its lots, oldest first."""
    out: dict[int, list[tuple[dt.date, dt.date, int, str]]] = {}
    shelf = {p.code: p.shelf_days for p in PRODUCTS}
    for pk, vaccine_id, code, lot, expires in VaccineBatch.objects.filter(
        vaccine__code__in=list(shelf)
    ).values_list("pk", "vaccine_id", "vaccine__code", "lot_number", "expires_on"):
        made = expires - dt.timedelta(days=shelf[code])
        out.setdefault(vaccine_id, []).append((made, expires, pk, lot))
    for lots in out.values():
        lots.sort()
    return out


class _Shelf:
    """Which lot a clinic takes a dose from on a day: one of the three newest lots made at least 20 days
    before and not expired (clinics receive several deliveries)."""

    def __init__(self, lots: dict[int, list[tuple[dt.date, dt.date, int, str]]], rng) -> None:
        self.lots = lots
        self.rng = rng
        self._usable: dict[tuple[int, dt.date], list[tuple[int, str]]] = {}

    def pick(self, vaccine_id: int, day: dt.date) -> tuple[int, str]:
        usable = self._usable.get((vaccine_id, day))
        if usable is None:
            fresh = [
                (pk, number)
                for made, expires, pk, number in self.lots[vaccine_id]
                if made + dt.timedelta(days=20) <= day <= expires
            ]
            usable = self._usable[(vaccine_id, day)] = fresh[-3:]
        return self.rng.choice(usable)


def site_for(sites: dict[str, tuple[int, str]], org_code: str) -> tuple[int, str]:
    """The clinic a resident of ``org_code`` goes to: their community's, or their town's."""
    return sites.get(org_code[:12]) or sites[org_code[:9]]


def _sites_by_area() -> dict[str, tuple[int, str]]:
    """Community code (city) or town code (rural) -> (site pk, name)."""
    out: dict[str, tuple[int, str]] = {}
    for pk, name, org_code in VaccinationSite.objects.filter(org_code__startswith=DISTRICT_CODE).values_list(
        "pk", "name", "org_code"
    ):
        # Village codes are 2xx (national statistical codes), city communities 0xx.
        if org_code[9] == "2":
            out[org_code[:9]] = (pk, name)
        else:
            out[org_code[:12]] = (pk, name)
    return out


def _given_at(rng, day: dt.date, tz) -> dt.datetime:
    start_h, start_m, end_h, end_m = DAY_SLOTS[0] if day.weekday() == 5 else rng.choice(DAY_SLOTS)
    minutes = rng.randrange(start_h * 60 + start_m, end_h * 60 + end_m)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60, rng.randrange(60)), tzinfo=tz)


_DOSE_FIELDS = (
    "person",
    "org_code",
    "vaccine",
    "disease",
    "dose_number",
    "kind",
    "given_at",
    "given_on",
    "batch",
    "lot_number",
    "site",
    "place",
    "source",
    "external_id",
    "override_reason",
    "created_at",
)
_STATUS_FIELDS = (
    "person",
    "org_code",
    "disease",
    "doses",
    "series_complete",
    "boosters",
    "last_dose_on",
    "next_due_on",
    "next_due_kind",
    "updated_at",
)


def insert_rows(model, fields: tuple[str, ...], rows: list[tuple], chunk: int = 2000) -> None:
    """``rows`` (values adapted to the database, in ``fields`` order) in bulk: on SQLite one prepared INSERT
    through ``executemany`` (the ORM's ``bulk_create`` spends ~80 µs a row compiling, several times what the
    database needs), on PostgreSQL as arrays (``healthcode.engine.pg_insert``: ``executemany`` is a round trip
    a row there)."""
    if connection.vendor == "postgresql":
        from epigrid.healthcode.engine import pg_insert

        with connection.cursor() as cursor:
            pg_insert(cursor, model, fields, rows)
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            cursor.executemany(sql, rows[start : start + chunk])


def _time_adapter():
    """Aware datetimes as the database takes them. On SQLite that is the naive text in the connection's
    time zone (UTC) that Django's ``adapt_datetimefield_value`` writes, made here directly: that function
    costs ~12 µs a value, 3 s of a district's 230,000 doses."""
    if connection.vendor != "sqlite":
        return connection.ops.adapt_datetimefield_value
    tz = connection.timezone
    return lambda value: str(value.astimezone(tz).replace(tzinfo=None))


@demo_step("vaccination_history")
def load_vaccination_history(ctx: DemoContext) -> None:
    disease = _disease()
    today = _today(ctx)
    tz = timezone.get_current_timezone()
    vaccines = {v.code: v for v in Vaccine.objects.filter(code__in=[p.code for p in PRODUCTS])}
    lots = _lots(today)
    sites = _sites_by_area()
    draw = _Histories(ctx, vaccines)
    lot_rng = ctx.rng("vaccination_lots")
    shelf = _Shelf(lots, lot_rng)
    forced = {  # resident1: a booster due (they book it); resident2: the same, reported from elsewhere
        ctx.users[name].person_id: draw.series_only(vaccines[product.code], days)
        for name, product, days in (("resident1", BIBP, 610), ("resident2", CORONAVAC, 590))
        if name in ctx.users and ctx.users[name].person_id
    }
    ops = connection.ops
    adapt_time = _time_adapter()
    now = adapt_time(timezone.now())
    dose_rows: list[tuple] = []
    status_rows: list[tuple] = []
    counts: dict[int, dict[str, int]] = {}  # person -> the health code's dose count
    persons = [(p, h.grid_code) for h in ctx.plan.households for p in h.members]
    with ctx.bar(len(persons), "vaccination history", "person") as bar:
        for person_id, (person, org_code) in zip(ctx.person_ids(), persons, strict=True):
            planned = forced.get(person_id) or draw.draw(person.birth_date)
            bar.update()
            if not planned:
                continue
            eligibility.number_doses(planned)
            site_id, site_name = site_for(sites, org_code)
            for dose in planned:
                batch_id, lot = shelf.pick(dose.vaccine.pk, dose.given_on)
                local = not dose.elsewhere
                dose_rows.append(
                    (
                        person_id,
                        org_code,
                        dose.vaccine.pk,
                        disease.pk,
                        dose.dose_number,
                        dose.kind,
                        adapt_time(_given_at(lot_rng, dose.given_on, tz)),
                        ops.adapt_datefield_value(dose.given_on),
                        batch_id if local else None,
                        lot,
                        site_id if local else None,
                        site_name if local else dose.elsewhere,
                        DoseSource.RECORDED if local else DoseSource.IMPORT,
                        "",
                        "",
                        now,
                    )
                )
            standing = eligibility.standing(planned, person.birth_date)
            status_rows.append(
                (
                    person_id,
                    org_code,
                    disease.pk,
                    standing.doses,
                    standing.series_complete,
                    standing.boosters,
                    ops.adapt_datefield_value(standing.last_dose_on),
                    ops.adapt_datefield_value(standing.next_due_on),
                    standing.next_due_kind,
                    now,
                )
            )
            counts[person_id] = {"vaccine_doses": standing.doses}
    with _sqlite_page_cache(256):  # the random keys of the dose indexes outgrow the default 2 MB cache
        insert_rows(Dose, _DOSE_FIELDS, dose_rows)
        insert_rows(VaccinationStatus, _STATUS_FIELDS, status_rows)
    audit_record(
        actor=None,
        action="vaccination.history_load",
        org_code=DISTRICT_CODE,
        detail={"doses": len(dose_rows), "persons": len(status_rows), "source": "demo"},
    )
    # The health code counts doses. After dose_record its handler of ``vaccination.dose`` tells it; here
    # one batch write of every count (a facts_update per event would cost ~15 s at district scale).
    facts_update_each(actor=None, values=counts)
    if ctx.progress:
        tqdm.write(
            f"  {len(dose_rows):,} doses of {len(status_rows):,} vaccinated residents "
            f"({len(status_rows) / max(1, len(persons)):.1%})",
            file=sys.stderr,
        )


# --- self-reports and bookings ---------------------------------------------------------------------------------


@cache
def _fonts():
    from PIL import ImageFont

    path = Path(__file__).resolve().parents[1] / "core" / "fonts" / "DroidSansFallbackFull.ttf"
    return ImageFont.truetype(str(path), 26), ImageFont.truetype(str(path), 17)


def certificate_photo(*, name: str, vaccine: str, day: dt.date, place: str, lot: str) -> bytes:
    """A small picture of a vaccination certificate (接种凭证), as a resident photographs one."""
    from PIL import Image, ImageDraw

    title, text = _fonts()
    image = Image.new("RGB", (560, 330), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 551, 321), outline=(170, 40, 40), width=3)
    draw.text((140, 22), "新冠病毒疫苗接种凭证", font=title, fill=(170, 40, 40))
    masked = name[0] + "*" * (len(name) - 1)
    lines = [
        f"姓名：{masked}",
        f"疫苗：{vaccine[:24]}",
        f"接种日期：{day:%Y年%m月%d日}",
        f"接种单位：{place[:22]}",
        f"疫苗批号：{lot}",
    ]
    for i, line in enumerate(lines):
        draw.text((34, 80 + 44 * i), line, font=text, fill=(40, 40, 40))
    draw.ellipse((420, 210, 520, 310), outline=(200, 40, 40), width=3)
    draw.text((438, 250), "接种专用章", font=text, fill=(200, 40, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _uuid(rng) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _doses_of(person_ids: list[int]) -> dict[int, list[Dose]]:
    out: dict[int, list[Dose]] = {}
    for dose in (
        Dose.objects.filter(person_id__in=person_ids, disease__code=DISEASE)
        .select_related("vaccine")
        .order_by("person_id", "given_at")
    ):
        out.setdefault(dose.person_id, []).append(dose)
    return out


def _self_reports(
    ctx: DemoContext, rng, vaccines: dict[str, Vaccine], reporters: list[tuple[Person, object]]
) -> int:
    """Each reporter (a person and the account they report with; None: the resident reported through the
    public page) reports a booster they had elsewhere, with a photo of the certificate. The date is one the
    rules allow, so verifying the report keeps their record valid."""
    today = _today(ctx)
    histories = _doses_of([person.pk for person, _account in reporters])
    made = 0
    for person, account in reporters:
        history = histories.get(person.pk, [])
        if not history:
            continue
        product = rng.choice((ZF2001, AD5, BIBP))
        vaccine = vaccines[product.code]
        earliest = history[-1].given_on + dt.timedelta(days=vaccine.booster_interval_days or 0)
        latest = today - dt.timedelta(days=3)
        if earliest > latest:
            continue
        day = earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))
        verdict = eligibility.assess(birth_date=person.birth_date, vaccine=vaccine, on=day, doses=history)
        if not verdict.eligible:
            continue
        place = "青岛市市南区八大关街道社区卫生服务中心" if account is not None else rng.choice(ELSEWHERE)
        lot = f"{product.lot_prefix}{day - dt.timedelta(days=rng.randint(30, 200)):%Y%m}{rng.randint(1, 40):03d}"
        doses.self_report_submit(
            actor=account,
            person=person,
            vaccine=vaccine,
            given_on=day,
            place=place,
            lot_number=lot,
            photo=certificate_photo(name=person.name, vaccine=vaccine.name, day=day, place=place, lot=lot),
            client_id=_uuid(rng),
        )
        made += 1
    return made


def _bookings(ctx: DemoContext, rng, bookers: list[tuple[Person, object]]) -> int:
    """Each person books their next dose (the product of their series) in one of the next six days at their
    own clinic; returns how many bookings were made."""
    today = _today(ctx)
    sites = _sites_by_area()
    histories = _doses_of([person.pk for person, _actor in bookers])
    tz = timezone.get_current_timezone()
    first_day = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    made = 0
    for person, actor in bookers:
        history = histories.get(person.pk, [])
        if not history:
            continue
        site_id, _name = site_for(sites, person.org_code)
        slots = list(
            Slot.objects.filter(
                site_id=site_id,
                closed=False,
                starts_at__gte=first_day,
                starts_at__lt=first_day + dt.timedelta(days=6),
            )
            .select_related("site")
            .order_by("starts_at")
        )
        slots = [slot for slot in slots if slot.free > 0]
        if not slots:
            continue
        slot = rng.choice(slots)
        vaccine = history[0].vaccine
        verdict = eligibility.assess(
            birth_date=person.birth_date,
            vaccine=vaccine,
            on=timezone.localdate(slot.starts_at),
            doses=history,
        )
        if verdict.eligible:
            bookings.booking_create(
                actor=actor, person=person, slot=slot, vaccine=vaccine, client_id=_uuid(rng)
            )
            made += 1
    return made


@demo_step("vaccination_activity")
def load_vaccination_activity(ctx: DemoContext) -> None:
    rng = ctx.rng("vaccination_activity")
    today = _today(ctx)
    vaccines = {v.code: v for v in Vaccine.objects.filter(code__in=[p.code for p in PRODUCTS])}
    adult = _birthday(today, -18)
    statuses = VaccinationStatus.objects.filter(
        disease__code=DISEASE, org_code__startswith=DISTRICT_CODE, person__birth_date__lte=adult
    ).exclude(person__account__isnull=False)  # the demo accounts' people are chosen by name below
    residents = max(1, len(ctx.person_ids()))

    def account(name: str):
        user = ctx.users.get(name)
        return user if user is not None and user.person_id else None

    # Self-reports: resident2 and a few adults with a full series and no booster recorded here.
    candidates = sorted(statuses.filter(series_complete=True, boosters=0).values_list("person_id", flat=True))
    chosen = rng.sample(candidates, min(len(candidates), max(3, min(20, residents // 400))))
    resident2 = account("resident2")
    reporters = [(resident2.person_id, resident2)] if resident2 else []
    reporters += [(pid, None) for pid in chosen]
    people = Person.objects.in_bulk([pid for pid, _a in reporters])
    reports = _self_reports(ctx, rng, vaccines, [(people[pid], a) for pid, a in reporters])

    # Bookings: resident1 books their booster in the app; the vaccinator books overdue adults (a dose or a
    # booster due for over two weeks) whom their community called.
    overdue = sorted(
        statuses.filter(next_due_on__lte=today - dt.timedelta(days=14))
        .exclude(person_id__in=chosen)
        .values_list("person_id", flat=True)
    )
    picked = rng.sample(overdue, min(len(overdue), min(60, max(8, residents // 250))))
    resident1 = account("resident1")
    bookers = [(resident1.person_id, resident1)] if resident1 else []
    bookers += [(pid, ctx.users["vaccinator"]) for pid in picked]
    people = Person.objects.in_bulk([pid for pid, _a in bookers])
    booked = _bookings(ctx, rng, [(people[pid], actor) for pid, actor in bookers])
    if ctx.progress:
        tqdm.write(f"  {reports} pending self-reports, {booked} bookings", file=sys.stderr)
