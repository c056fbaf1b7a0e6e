"""The monthly assessment as rows for the page and as an Excel workbook.

Workers' names are masked as everywhere else (``张*三``); the account name says who it is to the office that
runs the accounts. Names are typed by people: a cell starting with ``=``, ``+``, ``-`` or ``@`` would run as
a formula in a spreadsheet, so those cells get a leading quote.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from epigrid.core.masking import mask_name
from epigrid.core.spreadsheets import cell_safe
from epigrid.grids.selectors import Score


@dataclass(frozen=True)
class Row:
    rank: int
    key: str
    name: str  # masked for workers, the grid's name for grids
    score: Score


def ranked(scores: list[Score], *, by: str) -> list[Row]:
    """Scores in the selector's order (done on time, then done, then fewest overdue), numbered; ties share a
    rank."""
    rows: list[Row] = []
    previous: tuple[int, int, int] | None = None
    rank = 0
    for position, score in enumerate(scores, start=1):
        standing = (score.on_time, score.done, score.overdue_open)
        if standing != previous:
            rank, previous = position, standing
        name = mask_name(score.name) if by == "worker" else score.name
        rows.append(Row(rank, score.key, name, score))
    return rows


def _header(by: str) -> list[str]:
    who = [_("Account"), _("Name")] if by == "worker" else [_("Grid code"), _("Grid")]
    return [
        _("Rank"),
        *who,
        _("Done"),
        _("On time"),
        _("On-time rate"),
        _("Overdue, still open"),
        _("Cannot do"),
        _("Average response (minutes)"),
        _("Patrols done"),
    ]


def assessment_xlsx(rows: list[Row], *, by: str, month: dt.date) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = month.strftime("%Y-%m")
    sheet.append(_header(by))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        s = row.score
        sheet.append(
            [
                row.rank,
                cell_safe(row.key),
                cell_safe(row.name),
                s.done,
                s.on_time,
                round(s.on_time_rate, 3),
                s.overdue_open,
                s.cannot,
                s.avg_response_minutes if s.avg_response_minutes is not None else "",
                s.patrols_done,
            ]
        )
    sheet.freeze_panes = "A2"
    for index, width in enumerate((6, 18, 16, 8, 8, 10, 12, 10, 14, 10), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for cell in sheet["F"][1:]:
        cell.number_format = "0.0%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
