"""Demo steps of information comparison (#10), after vaccination: two lists of arrivals imported through the
list pipeline, what happened since (tests, screenings), and three saved rules with their action lists.

``comparison_lists``: the district administrator uploads two lists as Excel files — a railway station's list
of arriving passengers and a telecom operator's push — and they go through the real pipeline
(``services.imports``: upload, the guessed column mapping, processing: normalisation, linkage to persons,
arrivals with the origin's risk level at arrival, health-code facts, the grids' screening tasks). Most rows
are residents of the district coming home (about 45 % from 上海市浦东新区, the demo's high-risk region, 35 %
from 深圳市南山区, medium risk, the rest from places that are no risk area), within the three days the
regions have been risk areas; about a third of the telecom rows repeat people of the station's list (the same
arrival, stored once). Everybody on the lists is a resident of the plan, linked by document number: the demo
district's persons stay exactly the plan's (the district's tests hold it to that), so no provisional person.

``comparison_followup``: about 40 % of the arrivals from risk areas were tested since, a few to 40 hours
after arriving (single tubes, negative), and about half of the screening tasks were done; then the
administrator saves three rules — not tested within 48 hours (daily), not screened (hourly), not fully
vaccinated (on demand) — and runs each once, so that their action lists are there to open.

Deterministic per seed (``ctx.rng``), times relative to the load's anchor. The first street is left out: the
testing step swabs most of it on the day of the load.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass

from django.utils import timezone
from openpyxl import Workbook

from epigrid.comparison.models import Arrival, ComparisonKind, Schedule, SourceKind
from epigrid.comparison.services import comparisons, imports
from epigrid.grids.models import OPEN_STATES, Task, TaskType
from epigrid.grids.services import task_act
from epigrid.simulation import (
    healthcode_demo,
    vaccination_demo,  # noqa: F401 - the vaccination steps run first
)
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.simulation.plan import DISTRICT_CODE
from epigrid.testing import services as testing

HEADER = ["序号", "姓名", "证件号码", "手机号码", "出发地", "交通方式", "到达时间", "目的地地址"]
# Origins as the lists write them (the region code in brackets), with how often each comes.
ORIGINS = [
    (name, code, weight)
    for (code, name, _level), weight in zip(healthcode_demo.REGIONS, (45, 35, 12, 8), strict=True)
]
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
TRAINS = ["G1234", "G208", "D6012", "G476", "K1024"]
FLIGHTS = ["MU5521", "CZ3657", "SC4712"]
TELECOM_REPEAT = 0.3
TESTED_SHARE = 0.4
SCREENED_SHARE = 0.5

RULES = [
    ("抵达48小时内未做核酸检测", ComparisonKind.NOT_TESTED, {"hours": 48}, Schedule.DAILY),
    ("来返人员未经网格摸排", ComparisonKind.NOT_SCREENED, {}, Schedule.HOURLY),
    ("来返人员未完成新冠疫苗全程接种", ComparisonKind.NOT_VACCINATED, {"need": "full"}, Schedule.MANUAL),
]


@dataclass
class _Row:
    name: str
    id_number: str
    phone: str
    origin: str
    travel: str
    arrived_at: dt.datetime
    address: str

    def cells(self, number: int) -> list[str]:
        local = timezone.localtime(self.arrived_at)
        return [
            str(number),
            self.name,
            self.id_number,
            self.phone,
            self.origin,
            self.travel,
            local.strftime("%Y-%m-%d %H:%M"),
            self.address,
        ]


def list_size(residents: int) -> int:
    """Rows of the station's list, of ``residents`` who may be on it: a few hundred (the telecom push adds
    half as many people again), a few dozen in the test suite's district."""
    return min(300, max(20, residents // 3))


def _workbook(title: str, rows: list[_Row]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(HEADER)
    for number, row in enumerate(rows, start=1):
        sheet.append(row.cells(number))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rows(ctx: DemoContext) -> tuple[list[_Row], list[_Row]]:
    """The station's rows and the telecom push's rows."""
    rng = ctx.rng("comparison_lists")
    accounts = {a.person_id_number for a in ctx.plan.accounts if a.person_id_number}
    first_street = f"{DISTRICT_CODE}001"
    residents = [
        (person, household.address)
        for household in ctx.plan.households
        if not household.grid_code.startswith(first_street)
        for person in household.members
        if person.id_number not in accounts and person.phone
    ]
    size = list_size(len(residents))
    chosen = rng.sample(residents, min(len(residents), size + size // 2))

    def origin() -> tuple[str, str]:
        name, code, _weight = rng.choices(ORIGINS, weights=[w for *_x, w in ORIGINS])[0]
        return f"{name}（{code}）", code

    def travel() -> str:
        return f"飞机 {rng.choice(FLIGHTS)}" if rng.random() < 0.2 else f"火车 {rng.choice(TRAINS)}"

    def when() -> dt.datetime:
        # Within the three days since the regions became risk areas (healthcode_demo), to the minute.
        moment = ctx.anchor - dt.timedelta(hours=rng.uniform(4, 70))
        return moment.replace(second=0, microsecond=0)

    def row(n: int, travelled: str) -> _Row:
        person, address = chosen[n]
        place, _code = origin()
        return _Row(person.name, person.id_number, person.phone, place, travelled, when(), address)

    station = [row(n, travel()) for n in range(min(size, len(chosen)))]
    telecom = [
        # The same people as the station saw them (a telecom push says nothing of trains): one arrival each.
        _Row(r.name, r.id_number, r.phone, r.origin, "", r.arrived_at, r.address)
        for r in rng.sample(station, int(len(station) * TELECOM_REPEAT))
    ]
    telecom += [row(n, "") for n in range(size, len(chosen))]
    for r in telecom:  # as operators write them: some numbers in full-width digits, some phones with +86
        if rng.random() < 0.2:
            r.id_number = r.id_number.translate(FULL_WIDTH)
        if rng.random() < 0.3:
            r.phone = f"+86 {r.phone}"
    rng.shuffle(telecom)
    return station, telecom


@demo_step("comparison_lists", own_transactions=True)
def load_lists(ctx: DemoContext) -> None:
    admin = ctx.users["admin"]
    station, telecom = _rows(ctx)
    day = timezone.localtime(ctx.anchor).strftime("%Y%m%d")
    for (source_name, kind), rows, file_name in (
        (("烟台站到站旅客名单", SourceKind.TRANSPORT), station, f"烟台站到站旅客{day}.xlsx"),
        (("通信大数据行程推送", SourceKind.TELECOM), telecom, f"通信行程推送{day}.xlsx"),
    ):
        source = imports.source_create(actor=admin, name=source_name, kind=kind)
        upload = imports.import_upload(
            actor=admin, source=source, file_name=file_name, content=_workbook(source_name[:31], rows)
        )
        mapped = imports.import_set_mapping(actor=admin, list_import=upload, mapping=upload.mapping)
        # The queued task would do this in a worker; the demo does it on the spot (a later run finds it done).
        imports.import_process(list_import_id=mapped.pk)


@demo_step("comparison_followup")
def load_followup(ctx: DemoContext) -> None:
    rng = ctx.rng("comparison_followup")
    admin, sampler, lab = ctx.users["admin"], ctx.users["sampler"], ctx.users["lab"]
    risky = list(
        Arrival.objects.filter(risk_level__in=comparisons.DEFAULT_LEVELS, arrived_at__lte=ctx.anchor)
        .select_related("person")
        .order_by("pk")
    )

    # Tested since: a single tube each, a few to 40 hours after arriving (the station stamps the swab's time
    # as it happens; the demo moves it back to when it was taken), all negative.
    tested = [a for a in risky if rng.random() < TESTED_SHARE]
    barcodes = []
    for n, arrival in enumerate(tested, start=1):
        barcode = f"LF{ctx.seed % 10000:04d}{n:05d}"
        tube = testing.tube_register(actor=sampler, barcode=barcode, pool_size=1)
        made = testing.specimen_add(
            actor=sampler,
            tube=tube,
            person=arrival.person,
            client_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        )
        taken = min(arrival.arrived_at + dt.timedelta(hours=rng.uniform(3, 40)), ctx.anchor)
        type(made.specimen).objects.filter(pk=made.specimen.pk).update(sampled_at=taken)
        barcodes.append(barcode)
    if barcodes:
        testing.results_submit(actor=lab, rows=[{"tube": b, "result": "negative"} for b in barcodes])

    # Screened: about half of the screening tasks the arrivals gave the grids are done.
    arrived = {a.person_id: a.arrived_at for a in risky}
    screenings = Task.objects.filter(
        type=TaskType.SCREEN_ARRIVAL, state__in=OPEN_STATES, subject_person_id__in=list(arrived)
    ).order_by("pk")
    for task in screenings:
        if rng.random() >= SCREENED_SHARE:
            continue
        task_act(
            actor=None,
            task=task,
            action="done",
            result={
                "residence": task.subject_text or "现住址核实无误",
                "travel": "",
                "health": "normal",
                "test_status": "none",
                "decision": "home_monitoring",
            },
            at=arrived[task.subject_person_id] + dt.timedelta(hours=rng.uniform(1, 20)),
        )

    for name, kind, params, schedule in RULES:
        rule = comparisons.rule_create(actor=admin, name=name, kind=kind, params=params, schedule=schedule)
        comparisons.rule_run(actor=admin, rule=rule, now=ctx.anchor)
