"""``epigrid bench linkage``: record linkage of a list of arrivals against the district's persons, scored
against the generator's truth, and the exact-ID comparison at a million rows.

Setup, inside a transaction that is rolled back at the end (nothing is left: no persons, rows, audit entries
or the trained model's file), under district :data:`BENCH_DISTRICT` (one street, one community, four grids):

- N persons (default 1,000,000), bulk-inserted with their encrypted document number and phone and both
  blind indexes computed in bulk (``COPY`` on PostgreSQL, one prepared ``INSERT`` through ``executemany`` on
  SQLite): surnames drawn by their frequency in China, one- or two-character given names from 320 common
  characters with a long tail (so 张伟 is common and most names are shared by a few people), birth dates
  1983-2020 (the bench's own address code), 90 % with a mobile number, an address in one of 240 compounds.
- A list of N / 10 arrivals: 90 % persons of the register, 10 % people it does not know; 30 % without
  document number (70 % with one, a third of those born before 2000 written as the old 15-digit number);
  names with a wrong character (7 %) or two characters swapped (4 %); phones missing (20 %), one digit wrong
  (4 %), two digits swapped (2 %) or another number (3 %); rows without a document give their birth date
  in 60 % of cases (3 % of those with a digit wrong) and their sex in half; 70 % stay at home (written in
  full, without the province-to-street prefix, or as "compound 3-2-501"), the others elsewhere. The rows
  are stored as the import stores them (normalised, encrypted, indexed, PENDING), and the generator keeps
  which person each row is.

Measured: ``services.linkage.link_rows`` over the list in chunks of :data:`CHUNK` rows (as the import
calls it), starting without a model for the district, so the first chunk trains it. Then links are
compared with the truth: precision and recall of the rows linked to a person (exact, probabilistic),
F1, and the same for the rows the exact step could not link; rows left for review count as not linked
(and are reported). Comparisons per second per core: the pairs Splink scored over the time of blocking and
scoring, divided by DuckDB's threads (Splink's published DuckDB figure is ~128,000 per vCPU). And the exact
step alone on 1,000,000 document indexes (the N persons' own and the rest unknown; target < 10 s) with a
baseline in the same run: one query per document, as a naive lookup would do, on a sample.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from epigrid.comparison import matching
from epigrid.comparison.models import ImportStatus, ListImport, ListRow, ListSource, RowStatus, SourceKind
from epigrid.comparison.services import linkage
from epigrid.core import crypto
from epigrid.core import services as core_services
from epigrid.core.identity import IdType, compose_resident_id, parse_resident_id
from epigrid.core.masking import mask_document, mask_phone
from epigrid.core.models import OrgUnit, Person
from epigrid.simulation import names
from epigrid.simulation.benchkit import bench_jurisdiction, bulk_load

BENCH_DISTRICT = "370688"
DEFAULT_PERSONS = 1_000_000
EXACT_ROWS = 1_000_000
BASELINE_SAMPLE = 5_000
GRIDS = 4
FIRST_BIRTH = dt.date(1983, 1, 1)  # the bench address code is valid for births 1983-2020
BIRTH_DAYS = (dt.date(2020, 12, 31) - FIRST_BIRTH).days + 1
PERSON_SEQ = 300  # sequence numbers of registered persons start here; unknown people's at UNKNOWN_SEQ
UNKNOWN_SEQ = 700
EXACT_UNKNOWN_SEQ = 900  # the unknown documents of the exact-ID comparison (not the list's new people)

Metric = dict[str, Any]

# 320 characters common in given names, most frequent first (a Zipf-like weight follows the order).
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲燕飞鑫波斌宇浩凯健俊帆帅旭宁龙林"
    "欢阳建亮成佳颖梅琳晶倩婷雪莉慧淑瑞晨博文峰海东志国新云春琴丹荣珍凤彬金海蕾雷岩冬利楠晓梦雨婉欣"
    "怡悦嘉子思涵梓轩浩然一诺若依语桐紫萱可馨雅琪宇航睿泽昊天俊杰子豪皓轩梓豪铭宸博文奕辰瑾萱诗雨"
    "家乐永福贵生德祥顺兴发荣光耀振华庆春秋元青松柏竹兵卫民安泰和平忠孝仁义礼智信良善美丽贤惠淑贞"
    "桂芝凤英翠花玉珍秀兰素梅兰菊莲荷芬芝蓉艺璐瑶琼璇瑜璟璞钰铭锋锐镇钢铁江河湖波涛浪洪涵泉源洁清"
    "沛澄露霖霏雯雪霄晴晖晗晟景智慧聪颖敏捷勤劳朴实谦逊宏伟壮志远航达通畅顺利昌盛旺财富裕丰满茂盛"
)

ROADS = names.ROADS
STREETS = ("福莱山街道", "古现街道", "八角街道", "黄务街道", "衙前街道", "银河街道")
PREFIX = "山东省烟台市基准区"


@dataclass
class People:
    """Columns of generated people (numpy arrays or lists of the same length)."""

    id_number: list[str]
    name: list[str]
    sex: list[str]
    birth: list[dt.date]
    phone: list[str]  # "" when none
    compound: np.ndarray  # index into the compounds
    flat: list[str]  # "3号楼2单元501室"
    flat_short: list[str]  # "3-2-501"


def _name_pools() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    from faker.providers.person.zh_CN import Provider

    surnames = list(Provider.last_names)
    weights = np.array([Provider.last_names[s] for s in surnames], dtype=float)
    given = list(dict.fromkeys(GIVEN_CHARS))
    given_weights = 1.0 / np.arange(1, len(given) + 1) ** 0.8
    return surnames, weights / weights.sum(), given, given_weights / given_weights.sum()


def _compounds(rng: np.random.Generator) -> list[str]:
    """240 compounds: street, road and number, name."""
    out = []
    for k in range(240):
        street = STREETS[k % len(STREETS)]
        road = ROADS[int(rng.integers(len(ROADS)))]
        stem = names.COMMUNITY_STEMS[k % len(names.COMMUNITY_STEMS)]
        suffix = names.COMPOUND_SUFFIXES[(k // len(names.COMMUNITY_STEMS)) % len(names.COMPOUND_SUFFIXES)]
        out.append(f"{street}|{road}{int(rng.integers(1, 321))}号|{stem}{suffix}")
    return out


def _phones(count: int, rng: np.random.Generator, taken: set[str] | None = None) -> list[str]:
    prefixes = np.array(names.PHONE_PREFIXES)
    out: list[str] = []
    seen = set(taken or ())
    while len(out) < count:
        need = count - len(out)
        heads = prefixes[rng.integers(len(prefixes), size=need + 16)]
        tails = rng.integers(0, 100_000_000, size=need + 16)
        for head, tail in zip(heads.tolist(), tails.tolist(), strict=True):
            number = f"{head}{tail:08d}"
            if number not in seen:
                seen.add(number)
                out.append(number)
                if len(out) == count:
                    break
    return out


def generate_people(count: int, rng: np.random.Generator, *, seq_base: int, first: int = 0) -> People:
    """``count`` distinct people with valid resident IDs (the bench's address code)."""
    surnames, s_weights, given, g_weights = _name_pools()
    # Each (birth day, sequence number) once: a shuffled numbering spread over the days.
    code = rng.permutation(np.arange(first, first + count))
    day, seq = code % BIRTH_DAYS, seq_base + code // BIRTH_DAYS
    births = [FIRST_BIRTH + dt.timedelta(days=int(d)) for d in day.tolist()]
    id_numbers = [
        compose_resident_id(names.BENCH_ADDRESS_CODE, b, int(s))
        for b, s in zip(births, seq.tolist(), strict=True)
    ]
    sexes = ["M" if int(s) % 2 else "F" for s in seq.tolist()]
    sur = np.array(surnames)[rng.choice(len(surnames), size=count, p=s_weights)]
    chars = np.array(given)[rng.choice(len(given), size=(count, 2), p=g_weights)]
    single = rng.random(count) < 0.2
    name_list = [
        s + (c[0] if one else c[0] + c[1])
        for s, c, one in zip(sur.tolist(), chars.tolist(), single.tolist(), strict=True)
    ]
    phones = _phones(count, rng)
    no_phone = rng.random(count) < 0.10
    phones = ["" if missing else p for p, missing in zip(phones, no_phone.tolist(), strict=True)]
    compound = rng.integers(0, 240, size=count)
    building = rng.integers(1, 31, size=count)
    unit = rng.integers(1, 5, size=count)
    floor = rng.integers(1, 19, size=count)
    room = rng.integers(1, 3, size=count)
    flat, flat_short = [], []
    for b, u, f, r in zip(building.tolist(), unit.tolist(), floor.tolist(), room.tolist(), strict=True):
        flat.append(f"{b}号楼{u}单元{f}{r:02d}室")
        flat_short.append(f"{b}-{u}-{f}{r:02d}")
    return People(id_numbers, name_list, sexes, births, phones, compound, flat, flat_short)


def full_address(compounds: list[str], compound: int, flat: str) -> str:
    street, road, name = compounds[compound].split("|")
    return f"{PREFIX}{street}{road}{name}{flat}"


@dataclass
class Arrival:
    truth: int  # index of the person in the register, -1 for someone it does not know
    id_number: str  # as written on the list: 18 or 15 characters, or ""
    name: str
    birth: dt.date | None
    sex: str
    phone: str
    address: str


def _typo_name(name: str, rng: np.random.Generator, given: list[str]) -> str:
    i = int(rng.integers(len(name)))
    choice = given[int(rng.integers(len(given)))]
    while choice == name[i]:
        choice = given[int(rng.integers(len(given)))]
    return name[:i] + choice + name[i + 1 :]


def _swap_name(name: str) -> str:
    if len(name) >= 3:  # the given name's two characters
        return name[0] + name[2] + name[1] + name[3:]
    return name[::-1]


def _typo_digit(text: str, rng: np.random.Generator, start: int = 2) -> str:
    i = int(rng.integers(start, len(text)))
    d = str((int(text[i]) + int(rng.integers(1, 10))) % 10)
    return text[:i] + d + text[i + 1 :]


def _swap_digits(text: str, rng: np.random.Generator, start: int = 2) -> str:
    for _ in range(20):
        i = int(rng.integers(start, len(text) - 1))
        if text[i] != text[i + 1]:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


def generate_arrivals(
    people: People, compounds: list[str], count: int, rng: np.random.Generator
) -> list[Arrival]:
    """``count`` list rows: 90 % people of the register (each at most once), 10 % unknown; errors as above."""
    _s, _w, given, _gw = _name_pools()
    known = min(round(count * 0.9), len(people.name))
    unknown = count - known
    picks = rng.choice(len(people.name), size=known, replace=False)
    strangers = generate_people(unknown, rng, seq_base=UNKNOWN_SEQ)
    rows: list[Arrival] = []
    order = rng.permutation(count)
    for k in order.tolist():
        if k < known:
            src, i, truth = people, int(picks[k]), int(picks[k])
        else:
            src, i, truth = strangers, k - known, -1
        name = src.name[i]
        u = rng.random()
        if u < 0.07:
            name = _typo_name(name, rng, given)
        elif u < 0.11:
            name = _swap_name(name)
        has_id = rng.random() < 0.70
        id_number, birth, sex = "", None, ""
        if has_id:
            id_number = src.id_number[i]
            if src.birth[i].year < 2000 and rng.random() < 1 / 3:
                id_number = id_number[:6] + id_number[8:17]  # the old 15-digit number
            birth, sex = src.birth[i], src.sex[i]
        else:
            if rng.random() < 0.60:
                birth = src.birth[i]
                if rng.random() < 0.03:
                    text = _typo_digit(f"{birth:%Y%m%d}", rng, start=4)
                    with contextlib.suppress(ValueError):  # not a date: the true one stays
                        birth = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            if rng.random() < 0.5:
                sex = src.sex[i]
        phone = src.phone[i]
        u = rng.random()
        if u < 0.20 or not phone:
            phone = ""
        elif u < 0.24:
            phone = _typo_digit(phone, rng)
        elif u < 0.26:
            phone = _swap_digits(phone, rng)
        elif u < 0.29:
            phone = _phones(1, rng)[0]
        u = rng.random()
        compound = int(src.compound[i])
        if u < 0.35:
            address = full_address(compounds, compound, src.flat[i])
        elif u < 0.60:
            _street, road, cname = compounds[compound].split("|")
            address = f"{road}{cname}{src.flat[i]}"
        elif u < 0.70:
            address = f"{compounds[compound].split('|')[2]}{src.flat_short[i]}"
        else:
            other = int(rng.integers(len(compounds)))
            address = full_address(
                compounds, other, f"{int(rng.integers(1, 31))}号楼1单元{int(rng.integers(1, 19))}01室"
            )
        rows.append(Arrival(truth, id_number, name, birth, sex, phone, address))
    return rows


# --- loading --------------------------------------------------------------------------------------------------


def _now_text() -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if connection.vendor == "postgresql":
        return now.isoformat()
    return now.strftime("%Y-%m-%d %H:%M:%S")


PERSON_FIELDS = (
    "id_type", "id_number", "id_number_index", "id_number_masked", "name", "sex", "birth_date", "phone",
    "phone_index", "phone_masked", "address", "grid", "org_code", "created_at", "updated_at",
)  # fmt: skip


def load_persons(people: People, compounds: list[str], grids: list[OrgUnit]) -> np.ndarray:
    """Insert the people as persons in ``grids`` (in turn); returns their primary keys in order."""
    now = _now_text()
    before = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def rows() -> Iterable[tuple]:
        for i, number in enumerate(people.id_number):
            grid = grids[i % len(grids)]
            phone = people.phone[i]
            yield (
                IdType.RESIDENT.value,
                crypto.encrypt(number),
                core_services.person_document_index(IdType.RESIDENT, number),
                mask_document(number),
                people.name[i],
                people.sex[i],
                people.birth[i].isoformat(),
                crypto.encrypt(phone) if phone else "",
                core_services.phone_index(phone),
                mask_phone(phone),
                full_address(compounds, int(people.compound[i]), people.flat[i]),
                grid.pk,
                grid.code,
                now,
                now,
            )

    bulk_load(Person, PERSON_FIELDS, rows())
    pks = Person.objects.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True)
    return np.fromiter(pks, dtype=np.int64, count=len(people.name))


ROW_FIELDS = (
    "list_import", "row_number", "org_code", "raw", "name", "id_type", "id_number", "id_number_index",
    "id_number_masked", "phone", "phone_index", "phone_masked", "birth_date", "sex", "address", "grid",
    "origin", "origin_region_code", "travel_mode", "arrived_at", "status", "errors", "link_method",
    "candidates",
)  # fmt: skip


def load_rows(arrivals: list[Arrival], list_import: ListImport, grid: OrgUnit) -> None:
    """Insert the arrivals as the import stores validated rows: normalised, encrypted, indexed, PENDING."""
    arrived = _now_text()

    def rows() -> Iterable[tuple]:
        for n, a in enumerate(arrivals, start=2):
            number = parse_resident_id(a.id_number).number if a.id_number else ""
            yield (
                list_import.pk,
                n,
                grid.code,
                "",  # raw cells: none (encrypted JSON; empty reads as {})
                a.name,
                IdType.RESIDENT.value if number else "",
                crypto.encrypt(number) if number else "",
                core_services.person_document_index(IdType.RESIDENT, number) if number else "",
                mask_document(number),
                crypto.encrypt(a.phone) if a.phone else "",
                core_services.phone_index(a.phone),
                mask_phone(a.phone),
                a.birth.isoformat() if a.birth else None,
                a.sex,
                a.address,
                grid.pk,
                "基准风险地区",
                "",
                "",
                arrived,
                RowStatus.PENDING.value,
                "[]",
                "",
                "[]",
            )

    bulk_load(ListRow, ROW_FIELDS, rows())


# --- the bench ------------------------------------------------------------------------------------------------


def _evaluate(arrivals: list[Arrival], pks: np.ndarray, outcome: dict[int, tuple]) -> dict[str, Any]:
    """Precision, recall and F1 of the rows linked to a person, all rows and the rows not linked exactly.
    ``outcome``: row number -> (person id, status, link method)."""
    counts = {"all": [0, 0, 0], "probabilistic": [0, 0, 0]}  # true pos, false pos, false neg
    review = review_truth_listed = provisional = provisional_wrong = 0
    methods: dict[str, int] = {}
    candidates_of: dict[int, list] = outcome.pop("_candidates", {})  # type: ignore[arg-type]
    for number, arrival in enumerate(arrivals, start=2):
        person_id, status, method = outcome[number]
        truth = int(pks[arrival.truth]) if arrival.truth >= 0 else None
        methods[method or status] = methods.get(method or status, 0) + 1
        groups = ["all"] if method == "exact_id" else ["all", "probabilistic"]
        for group in groups:
            c = counts[group]
            if status == RowStatus.LINKED:
                if person_id == truth:
                    c[0] += 1
                else:
                    c[1] += 1
                    c[2] += truth is not None
            elif truth is not None:
                c[2] += 1
        if status == RowStatus.REVIEW:
            review += 1
            review_truth_listed += truth is not None and any(
                pid == truth for pid, _p in candidates_of.get(number, [])
            )
        if status == RowStatus.PROVISIONAL:
            provisional += 1
            provisional_wrong += truth is not None
    out: dict[str, Any] = {"methods": methods, "review": review, "review_truth_listed": review_truth_listed,
                           "provisional": provisional, "provisional_known": provisional_wrong}  # fmt: skip
    for group, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[group] = {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}
    return out


def _document_keys(people: People, count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``count`` document keys as a list gives them: 90 % of the register's persons, 10 % unknown."""
    known = min(len(people.id_number), round(count * 0.9))
    picks = rng.choice(len(people.id_number), size=known, replace=False)
    strangers = generate_people(count - known, rng, seq_base=EXACT_UNKNOWN_SEQ)
    numbers = [people.id_number[int(i)] for i in picks] + strangers.id_number
    resident = IdType.RESIDENT.value
    return [(resident, core_services.person_document_index(resident, n)) for n in numbers]


def _naive_lookup(keys: list[tuple[str, str]]) -> float:
    """Baseline: one query per document, seconds for ``keys``."""
    started = time.perf_counter()
    for id_type, index in keys:
        Person.objects.filter(id_type=id_type, id_number_index=index).values_list("pk", flat=True).first()
    return time.perf_counter() - started


def bench_linkage(*, scale: int | None) -> list[Metric]:
    """Record linkage of N/10 arrivals against N persons: precision, recall, F1 vs the generator's truth (target F1 >= 0.97), wall time (target < 5 min), Splink comparisons/s per core; exact ID comparison of N rows (target < 10 s at 1,000,000) vs one query per row (N=1000000)."""
    from epigrid.comparison.services.imports import CHUNK as IMPORT_CHUNK
    from epigrid.simulation.bench import _metric, _rolled_back

    n = scale or DEFAULT_PERSONS
    rows_n = max(n // 10, 20)
    chunk = min(IMPORT_CHUNK, rows_n)
    rng = np.random.default_rng(11)
    context = {"n": n, "database": connection.vendor}
    matching.delete_model(BENCH_DISTRICT)  # left by a run that died: the bench trains its own
    matching.forget_snapshots()
    try:
        with _rolled_back():
            started = time.perf_counter()
            _district, grids = bench_jurisdiction(
                BENCH_DISTRICT, "链接基准区", lat=31.0, lng=115.0, grids=GRIDS
            )
            people = generate_people(n, rng, seq_base=PERSON_SEQ)
            compounds = _compounds(rng)
            arrivals = generate_arrivals(people, compounds, rows_n, rng)
            generated_s = time.perf_counter() - started
            pks = load_persons(people, compounds, grids)
            source = ListSource.objects.create(
                name="基准名单", kind=SourceKind.TRANSPORT, org_code=BENCH_DISTRICT
            )
            list_import = ListImport.objects.create(
                source=source,
                org_code=BENCH_DISTRICT,
                file_name="bench.xlsx",
                file_sha256="0" * 64,
                status=ImportStatus.RUNNING,
                total_rows=rows_n,
            )
            load_rows(arrivals, list_import, grids[0])
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(Person._meta.db_table)}")
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(ListRow._meta.db_table)}")
            setup_s = time.perf_counter() - started

            rows = list(ListRow.objects.filter(list_import=list_import).order_by("row_number"))
            started, cpu = time.perf_counter(), time.process_time()
            results = [
                linkage.link_rows(actor=None, rows=rows[i : i + chunk]) for i in range(0, rows_n, chunk)
            ]
            link_s, link_cpu = time.perf_counter() - started, time.process_time() - cpu

            outcome: dict[Any, Any] = {
                number: (person_id, status, method)
                for number, person_id, status, method in ListRow.objects.filter(
                    list_import=list_import
                ).values_list("row_number", "person_id", "status", "link_method")
            }
            outcome["_candidates"] = dict(
                ListRow.objects.filter(list_import=list_import, status=RowStatus.REVIEW).values_list(
                    "row_number", "candidates"
                )
            )
            quality = _evaluate(arrivals, pks, outcome)
            model = matching.load_model(BENCH_DISTRICT)

            keys = _document_keys(people, n, rng)
            started = time.perf_counter()
            found = linkage.exact_links(keys)
            exact_s = time.perf_counter() - started
            sample = keys[:: max(1, len(keys) // BASELINE_SAMPLE)][:BASELINE_SAMPLE]
            naive_s = _naive_lookup(sample) * len(keys) / len(sample)
    finally:
        matching.delete_model(BENCH_DISTRICT)
        matching.forget_snapshots()

    scored = [s for r in results for s in r.scored]
    pairs = sum(s.pairs for s in scored)
    steps: dict[str, float] = {}
    for s in scored:
        for step, seconds in s.seconds.items():
            steps[step] = steps.get(step, 0.0) + seconds
    threads = max((s.threads for s in scored), default=1)
    splink_s = steps.get("blocking", 0.0) + steps.get("scoring", 0.0)
    meta = model.meta if model else {}
    every, prob = quality["all"], quality["probabilistic"]
    rounded = {k: round(v, 2) for k, v in steps.items()}
    return [
        _metric(
            "f1",
            every["f1"],
            "ratio",
            precision=round(every["precision"], 5),
            recall=round(every["recall"], 5),
            target=0.97,
            rows=rows_n,
            methods=quality["methods"],
            review=quality["review"],
            review_truth_listed=quality["review_truth_listed"],
            provisional_known=quality["provisional_known"],
            **context,
        ),
        _metric(
            "probabilistic_f1",
            prob["f1"],
            "ratio",
            precision=round(prob["precision"], 5),
            recall=round(prob["recall"], 5),
            rows=prob["tp"] + prob["fp"] + prob["fn"],
            **context,
        ),
        _metric(
            "linkage_wall",
            link_s,
            "s",
            target=300,
            cpu_s=round(link_cpu, 2),
            rows=rows_n,
            chunk=chunk,
            chunks=len(results),
            steps=rounded,
            training_s=meta.get("seconds"),
            m_source=meta.get("m_source"),
            rows_per_s=round(rows_n / link_s, 1),
            **context,
        ),
        _metric(
            "comparisons_per_s_per_core",
            pairs / splink_s / threads if splink_s else 0.0,
            "pairs/s",
            pairs=pairs,
            seconds=round(splink_s, 2),
            scoring_only=round(pairs / steps["scoring"] / threads) if steps.get("scoring") else None,
            threads=threads,
            published_per_vcpu=128_000,
            **context,
        ),
        _metric(
            "exact_id",
            exact_s,
            "s",
            baseline=naive_s,
            rows=len(keys),
            found=len(found),
            baseline_sample=len(sample),
            target=10,
            **context,
        ),
        _metric("setup", setup_s, "s", generated_s=round(generated_s, 2), persons=n, rows=rows_n, **context),
    ]
