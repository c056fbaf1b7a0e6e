"""Excel workbooks of stock on hand and of a point's ledger. Every text cell goes through ``cell_safe`` (a
name or a reason typed as ``=...`` would otherwise run as a formula)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from epigrid.core.spreadsheets import cell_safe
from epigrid.supplies.models import Movement, Stock

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    head = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        sheet.append([cell_safe(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stock_rows(stock: Iterable[Stock]) -> Iterable[list[Any]]:
    for s in stock:
        yield [
            s.point.name,
            s.point.org_code,
            s.item.code,
            s.item.name,
            s.batch.lot_number,
            s.batch.expires_on,
            s.quantity,
            s.item.unit,
        ]


def stock_workbook(stock: Iterable[Stock]) -> bytes:
    header = [
        _("Holding point"),
        _("Area code"),
        _("Code"),
        _("Item"),
        _("Lot number"),
        _("Expires on"),
        _("On hand"),
        _("Unit"),
    ]
    return _workbook(_("Stock on hand"), header, stock_rows(stock))


def ledger_rows(lines: Iterable[Movement]) -> Iterable[list[Any]]:
    for m in lines:
        yield [
            timezone.localtime(m.at).replace(tzinfo=None),
            m.get_kind_display(),
            m.item.code,
            m.item.name,
            m.batch.lot_number,
            m.quantity,
            m.balance_after,
            m.reason,
            m.actor.username if m.actor else "",
            m.transfer_id or "",
        ]


def ledger_workbook(lines: Iterable[Movement]) -> bytes:
    header = [
        _("Time"),
        _("Kind"),
        _("Code"),
        _("Item"),
        _("Lot number"),
        _("Quantity"),
        _("Balance after"),
        _("Reason"),
        _("By"),
        _("Transfer"),
    ]
    return _workbook(_("Ledger"), header, ledger_rows(lines))


def download(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
