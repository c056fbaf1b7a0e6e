"""Comparison test data, made through the services like every other writer.

Lists: sources, uploaded files (CSV and .xlsx bytes built here), imports mapped and processed. Other
concerns of comparison add their helpers below their own section header.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

from epigrid.comparison.models import ListImport, ListSource, SourceKind
from epigrid.comparison.services import imports
from epigrid.core.models import OrgUnit

_numbers = itertools.count(1)

# --- lists ------------------------------------------------------------------------------------------------

ARRIVAL_HEADER = ["姓名", "身份证号", "手机", "出发地", "交通方式", "到达时间", "住址"]


def csv_bytes(
    rows: Iterable[Sequence[object]], *, encoding: str = "utf-8-sig", delimiter: str = ","
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Iterable[Sequence[object]], *, merges: Iterable[str] = (), title: str = "名单") -> bytes:
    """A workbook whose active sheet holds ``rows`` as given (None: an empty cell; [] a blank row), with the
    ``merges`` ranges merged (e.g. "D4:D6")."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    for ref in merges:
        sheet.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def source(
    area: OrgUnit | str, *, kind: str = SourceKind.TRANSPORT, name: str = "", actor=None
) -> ListSource:
    code = area if isinstance(area, str) else area.code
    return imports.source_create(
        actor=actor, name=name or f"测试来源{next(_numbers)}", kind=kind, org_code="" if actor else code
    )


def upload(src: ListSource, content: bytes, *, file_name: str = "list.csv", actor=None) -> ListImport:
    return imports.import_upload(actor=actor, source=src, file_name=file_name, content=content)


def process(
    list_import: ListImport, *, mapping: dict[str, str] | None = None, actor=None, **kwargs
) -> ListImport:
    """Confirm the mapping (the guess when None) and process the rows here and now (whatever the task
    backend does with the queued task)."""
    list_import.refresh_from_db()
    imports.import_set_mapping(
        actor=actor, list_import=list_import, mapping=mapping if mapping is not None else list_import.mapping
    )
    return imports.import_process(list_import_id=list_import.pk, **kwargs)


def arrival_list(
    area: OrgUnit, rows: Iterable[Sequence[object]], *, header: Sequence[str] = ARRIVAL_HEADER, **kwargs
) -> ListImport:
    """A processed CSV list of arrivals in ``area`` (header :data:`ARRIVAL_HEADER` unless given)."""
    content = csv_bytes([header, *rows])
    return process(upload(source(area), content, file_name=f"arrivals-{next(_numbers)}.csv"), **kwargs)


def arrival_row(person, *, hours_ago: int = 6, origin: str = "上海市浦东新区 310115") -> list[str]:
    """A list row for a registered person: their name and ID number, arrived ``hours_ago``."""
    from django.utils import timezone

    at = timezone.localtime() - dt.timedelta(hours=hours_ago)
    return [
        person.name,
        person.id_number,
        person.phone,
        origin,
        "火车 G123",
        at.strftime("%Y-%m-%d %H:%M"),
        "",
    ]


MESSY_HEADER = [
    "序号",
    "姓名",
    "身份证号",
    "手机",
    "出生日期",
    "性别",
    "出发地",
    "交通方式",
    "到达时间",
    "住址",
]
# What each data row of :func:`messy_list` is (file row -> what it tests), and the rows it rejects.
MESSY_ROWS = {
    4: "good, origin merged over rows 4-6",
    5: "the registered person, ID and phone in full-width digits, arrival without a year",
    6: "an old 15-digit ID",
    8: "an ID stored as a float (damaged), no phone: rejected",
    9: "a bad check character, but name and phone",
    10: "a bad check character and nothing else: rejected",
    11: "a number where the arrival time should be: rejected",
    12: "a duplicate of row 4",
    13: "name and phone, no ID",
    14: "name, landline and birth date (an Excel date), no ID",
    15: "sex and birth date differing from the ID",
}
MESSY_REJECTED = {8, 10, 11}


def _full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "0" <= ch <= "9" or "A" <= ch <= "Z" else ch for ch in text)


def messy_list(registered) -> bytes:
    """The acceptance file of issue #10: a title merged across the sheet above the header, merged cells,
    full-width digits, a 15-digit ID, blank rows (inside and at the end), wrong types (an ID number as a
    float, a number where a date should be), bad check characters, a duplicate row, rows without an ID.
    ``registered``: a Person whose row must link to them exactly."""
    from django.utils import timezone

    from epigrid.core.identity import compose_resident_id

    now = timezone.localtime().replace(tzinfo=None, second=0, microsecond=0)
    arrived = now - dt.timedelta(hours=6)
    two_days = now - dt.timedelta(days=2)
    good = compose_resident_id("310115", dt.date(1985, 6, 1), 11)
    bad_check = compose_resident_id("310115", dt.date(1979, 2, 3), 21)
    bad_check = bad_check[:-1] + ("0" if bad_check[-1] != "0" else "1")
    other = compose_resident_id("310115", dt.date(1992, 7, 8), 31)
    woman = compose_resident_id("310115", dt.date(1970, 1, 2), 42)  # even sequence: female
    rows = [
        ["2022年到达本区人员名单（火车站）"],
        ["填报单位：火车站", None, None, None, None, None, None, None, "填报时间：今天"],
        MESSY_HEADER,
        [1, "王小明", good, "13800000001", None, None, "上海市浦东新区 310115", "火车 G123", arrived, None],
        [
            2,
            registered.name,
            _full_width(registered.id_number),
            "+86 " + _full_width(registered.phone),
            None,
            None,
            None,
            "火车 G123",
            two_days.strftime("%m月%d日 %H:%M"),
            None,
        ],
        [3, "张 三", "310115850601123", "138-0000-0003", None, None, None, "火车 G123", arrived, None],
        [],
        [4, "李四", 3.70602199001011e17, None, None, None, "北京", "飞机 CA1501", arrived, None],
        [5, "赵六", bad_check, "13800000005", None, None, "北京", "飞机 CA1501", arrived, None],
        [6, "钱七", bad_check, None, None, None, "北京", "飞机 CA1501", arrived, None],
        [7, "孙八", other, "13800000007", None, None, "北京", "飞机 CA1501", 12345, None],
        [8, "王小明", good, "13800000001", None, None, "上海市浦东新区 310115", "火车 G123", arrived, None],
        [9, "周九", None, "13800000009", None, None, "广州", "汽车", arrived, None],
        [10, "吴十", "无", "0535-6612345", dt.datetime(1980, 5, 6), "女", "广州", "汽车", arrived, None],
        [11, "郑十一", woman, "13800000011", "1971/2/3", "男", "广州", "汽车", arrived, None],
        [],
        [],
    ]
    return xlsx_bytes(rows, merges=["A1:J1", "G4:G6"])
