"""Excel workbooks of the oversight pages: open bags, alarms, an institution's ledger, a month's totals.

Write-only workbooks (rows stream into the file). Every text cell goes through ``core.spreadsheets.cell_safe``:
party and handler names are typed by people. Times are local and timezone-free (Excel has no zones).
Weights are in kilograms with three decimals, as the paper ledgers keep them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from epigrid.core.spreadsheets import cell_safe
from epigrid.medwaste.models import Bag, WasteAlarm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_MAX_ROWS = 100_000  # beyond this a file holds the first rows (the page's order) and says so


def kg(grams: int | None) -> float:
    return round((grams or 0) / 1000, 3)


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def _workbook(title: str, header: list[str], rows: Iterable[list[Any]], widths: Iterable[int]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for written, row in enumerate(rows):
        if written == EXPORT_MAX_ROWS:
            sheet.append([_("Only the first %(n)d rows are in this file.") % {"n": EXPORT_MAX_ROWS}])
            break
        sheet.append([cell_safe(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def response(content: bytes, stem: str) -> HttpResponse:
    answer = HttpResponse(content, content_type=XLSX)
    answer["Content-Disposition"] = f'attachment; filename="{stem}-{timezone.localdate():%Y%m%d}.xlsx"'
    answer["Cache-Control"] = "no-store"
    return answer


def open_bags_xlsx(bags: QuerySet[Bag], *, now: dt.datetime) -> bytes:
    header = [
        _("Label"),
        _("Producer"),
        _("Category"),
        _("Weight (kg)"),
        _("Labelled at"),
        _("Age (hours)"),
        _("Stage"),
        _("Since"),
        _("Held by"),
    ]
    rows = (
        [
            bag.code,
            bag.producer.name,
            bag.get_category_display(),
            kg(bag.weight_g),
            _local(bag.labelled_at),
            round((now - bag.labelled_at).total_seconds() / 3600, 1),
            bag.get_stage_display(),
            _local(bag.stage_at),
            bag.holder.name,
        ]
        for bag in bags.iterator(chunk_size=2000)
    )
    return _workbook(_("Open bags"), header, rows, (18, 28, 14, 12, 20, 12, 22, 20, 28))


def alarms_xlsx(alarms: QuerySet[WasteAlarm]) -> bytes:
    header = [
        _("Raised at"),
        _("Kind"),
        _("Level"),
        _("Bag"),
        _("Party"),
        _("State"),
        _("Last seen"),
        _("Acknowledged by"),
        _("Closed or cleared at"),
        _("Closed by"),
        _("Handling note"),
    ]
    rows = (
        [
            _local(a.opened_at),
            a.get_kind_display(),
            a.get_level_display(),
            a.bag.code if a.bag_id else "",
            a.party.name if a.party_id else "",
            a.get_state_display(),
            _local(a.last_seen_at),
            a.acknowledged_by.username if a.acknowledged_by_id else "",
            _local(a.closed_at),
            a.closed_by.username if a.closed_by_id else "",
            a.note,
        ]
        for a in alarms.iterator(chunk_size=2000)
    )
    return _workbook(_("Alarms"), header, rows, (20, 28, 10, 18, 28, 14, 20, 16, 20, 16, 40))


def ledger_xlsx(days: list[dict[str, Any]], bags: QuerySet[Bag]) -> bytes:
    """Two sheets: the days (produced, stored, collected with weights), then every bag of the period."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], widths: tuple[int, ...]):
        ws = book.create_sheet(title=title[:31])
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        cells = []
        for text in header:
            cell = WriteOnlyCell(ws, value=text)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        return ws

    days_sheet = sheet(
        _("Ledger"),
        [
            _("Day"),
            _("Bags produced"),
            _("Produced (kg)"),
            _("Bags stored"),
            _("Stored (kg)"),
            _("Bags collected"),
            _("Collected (kg)"),
        ],
        (12, 14, 14, 14, 14, 14, 14),
    )
    for d in days:
        days_sheet.append(
            [
                d["day"],
                d["produced_n"],
                kg(d["produced_g"]),
                d["stored_n"],
                kg(d["stored_g"]),
                d["collected_n"],
                kg(d["collected_g"]),
            ]
        )
    bags_sheet = sheet(
        _("Bags"),
        [
            _("Label"),
            _("Producer"),
            _("Category"),
            _("Weight (kg)"),
            _("Labelled at"),
            _("Stage"),
            _("Held by"),
        ],
        (18, 28, 14, 12, 20, 22, 28),
    )
    for n, bag in enumerate(bags.iterator(chunk_size=2000)):
        if n == EXPORT_MAX_ROWS:
            bags_sheet.append([_("Only the first %(n)d rows are in this file.") % {"n": EXPORT_MAX_ROWS}])
            break
        bags_sheet.append(
            [
                cell_safe(bag.code),
                cell_safe(bag.producer.name),
                bag.get_category_display(),
                kg(bag.weight_g),
                _local(bag.labelled_at),
                bag.get_stage_display(),
                cell_safe(bag.holder.name),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def monthly_xlsx(rows: list[dict[str, Any]], totals: list[dict[str, Any]]) -> bytes:
    header = [
        _("Producer"),
        _("Category"),
        _("Bags labelled"),
        _("Weight at labelling (kg)"),
        _("Bags incinerated"),
        _("Weight at incineration (kg)"),
    ]
    lines = [
        [
            r["producer"],
            r["category_label"],
            r["labelled_n"],
            kg(r["labelled_g"]),
            r["burnt_n"],
            kg(r["burnt_g"]),
        ]
        for r in rows
    ]
    lines += [
        [
            _("All producers"),
            t["category_label"],
            t["labelled_n"],
            kg(t["labelled_g"]),
            t["burnt_n"],
            kg(t["burnt_g"]),
        ]
        for t in totals
    ]
    return _workbook(_("Monthly totals"), header, lines, (28, 14, 14, 20, 16, 22))
