"""Reading an uploaded list: CSV (UTF-8 with or without BOM, UTF-16 with BOM, GBK/GB 18030; comma, tab,
semicolon or bar separated) or an Excel workbook (.xlsx, its active sheet) into a header and rows of cell
texts keyed by header, with the rows' numbers as in the file.

- **The header row** need not be row 1: of the first rows, the one that names the most known fields (see
  ``normalise.SYNONYMS``), then the one with the most distinct text cells, is the header; title rows above it
  are not data. Empty header cells are named by their column (``[F]``), repeated names get ``(2)``.
- **Merged cells**: the value of a merged range applies to every cell it covers (a 来源地 merged down five
  rows belongs to each of them). The workbook is read in openpyxl's read-only mode, which streams rows in
  constant memory but does not expose merged ranges, so the ranges are read from the sheet's XML directly
  (``<mergeCell ref="A3:A7"/>``): the normal mode would hold every cell object in memory (about 4 KB a row
  measured: a 200,000-row list would need gigabytes).
- **Blank rows** are skipped; the other rows keep their numbers in the file, so a report's "row 17" is row 17
  in the spreadsheet, and the blank rows' numbers are reported.
- **Cell types** become text: dates ``2022-03-05``, date-times ``2022-03-05 14:30``, integers as digits,
  a whole-number float below 10^15 as digits (a phone stored as a number), any other float as Python writes
  it — so a long ID number Excel kept as a float shows as ``3.70602199001011E+17``, and the normaliser
  reports it as damaged instead of a rounded number passing for an ID.
- **Limits**: 20 MB, 200,000 data rows, 200 columns; a file that is none of the above (an old .xls, a
  picture, random bytes) is a DomainError saying what to upload instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

# openpyxl's own parser for its sheets: defusedxml's when installed, as openpyxl reads the cells with it.
from openpyxl.xml.functions import iterparse

from epigrid.comparison.normalise import header_field
from epigrid.core.errors import DomainError

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 200
HEADER_SCAN_ROWS = 30
_MAX_MERGED_CELLS = 5_000_000
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass
class Sheet:
    header: list[str]
    header_row: int  # the header's row number in the file (1-based)
    rows: list[tuple[int, dict[str, str]]]  # (row number in the file, header -> cell text); non-empty cells
    blank_rows: list[int] = field(default_factory=list)  # blank rows after the header, skipped
    sheet_name: str = ""


# --- cells --------------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """A cell's value as the text a list row keeps (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):  # NaN, inf
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).upper() if "e" in repr(value) else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    return str(value).strip()


# --- the grid of cells --------------------------------------------------------------------------------


def _too_many_rows() -> DomainError:
    return DomainError(
        _("The list has more than %(n)s rows; split it into smaller files.") % {"n": f"{MAX_ROWS:,}"},
        field="file",
    )


def _merged_ranges(sheet) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of each merged range, streamed from the sheet's XML."""
    ranges = []
    sheet_data = None
    with sheet._get_source() as source:  # the read-only sheet's XML part in the workbook archive
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == f"{_SHEET_NS}sheetData":
                    sheet_data = element
                continue
            if element.tag == f"{_SHEET_NS}row" and sheet_data is not None:
                sheet_data.clear()  # the rows were read already: keep memory flat while passing them
            elif element.tag == f"{_SHEET_NS}mergeCell" and element.get("ref"):
                try:
                    ranges.append(range_boundaries(element.get("ref")))
                except ValueError:
                    continue
    return ranges


def _xlsx_grid(content: bytes) -> tuple[list[list[str]], str]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as err:
        raise DomainError(
            _("The file is not a readable Excel workbook (.xlsx): %(e)s") % {"e": type(err).__name__},
            field="file",
        ) from None
    try:
        sheet = book.active
        if sheet is None or not hasattr(sheet, "_get_source"):
            raise DomainError(_("The workbook has no worksheet."), field="file")
        sheet.reset_dimensions()  # some writers state wrong dimensions; read what is there
        grid: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True):
            if len(grid) > MAX_ROWS + HEADER_SCAN_ROWS:
                raise _too_many_rows()
            grid.append([cell_text(v) for v in values])
        for min_col, min_row, max_col, max_row in _merged_ranges(sheet):
            if (max_col - min_col + 1) * (max_row - min_row + 1) > _MAX_MERGED_CELLS:
                continue
            if min_row > len(grid):
                continue
            top = grid[min_row - 1]
            value = top[min_col - 1] if min_col - 1 < len(top) else ""
            for r in range(min_row - 1, min(max_row, len(grid))):
                row = grid[r]
                if len(row) < max_col:
                    row.extend([""] * (max_col - len(row)))
                for c in range(min_col - 1, max_col):
                    row[c] = value
        return grid, sheet.title
    finally:
        book.close()


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in content:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return content.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise DomainError(
        _("The file is neither an Excel workbook (.xlsx) nor a text file in UTF-8 or GBK."), field="file"
    )


def _csv_grid(content: bytes) -> list[list[str]]:
    text = _decode(content)
    controls = sum(1 for ch in text[:100_000] if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > max(3, len(text[:100_000]) // 200):
        raise DomainError(_("The file is not a readable list (CSV or .xlsx)."), field="file")
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    grid = []
    try:
        for values in csv.reader(io.StringIO(text, newline=""), dialect):
            if len(grid) > MAX_ROWS + HEADER_SCAN_ROWS:
                raise _too_many_rows()
            grid.append([v.strip() for v in values])
    except csv.Error as err:
        raise DomainError(
            _("The CSV file cannot be read: %(e)s") % {"e": str(err)[:100]}, field="file"
        ) from None
    return grid


# --- header and rows ----------------------------------------------------------------------------------


def _label_like(text: str) -> bool:
    """Text a header could be: has a letter, and is not mostly digits (a phone, a date, an ID number)."""
    if not text or not any(ch.isalpha() for ch in text):
        return False
    return sum(ch.isdigit() for ch in text) * 2 < len(text)


def header_row_index(grid: list[list[str]]) -> int:
    """The 0-based index of the header row among the first rows (see the module docstring)."""
    best, best_score = -1, (0, 0)
    for i, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        texts = {cell for cell in row if _label_like(cell)}
        score = (sum(1 for cell in texts if header_field(cell)), len(texts))
        if score > best_score:
            best, best_score = i, score
    if best < 0:
        raise DomainError(_("The file has no header row (a row naming the columns)."), field="file")
    return best


def _names(header_cells: list[str]) -> list[str]:
    names, seen = [], set()
    for i, cell in enumerate(header_cells):
        name = " ".join(cell.split())[:100] or f"[{get_column_letter(i + 1)}]"
        base, n = name, 2
        while name in seen:
            name, n = f"{base} ({n})", n + 1
        seen.add(name)
        names.append(name)
    return names


def sheet_from_grid(grid: list[list[str]], sheet_name: str = "") -> Sheet:
    if not any(any(cell for cell in row) for row in grid):
        raise DomainError(_("The file is empty."), field="file")
    h = header_row_index(grid)
    width = max((max((i + 1 for i, c in enumerate(row) if c), default=0) for row in grid[h:]), default=0)
    if width > MAX_COLUMNS:
        raise DomainError(
            _("The list has more than %(n)d columns; is it the right file?") % {"n": MAX_COLUMNS},
            field="file",
        )
    header = _names((grid[h] + [""] * width)[:width])
    rows, blank = [], []
    for number, values in enumerate(grid[h + 1 :], start=h + 2):
        cells = {header[i]: v for i, v in enumerate(values[:width]) if v}
        if not cells:
            blank.append(number)
            continue
        rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            raise _too_many_rows()
    # Blank rows at the very end are the sheet's tail, not gaps in the list.
    last = rows[-1][0] if rows else h + 1
    blank = [n for n in blank if n < last]
    if not rows:
        raise DomainError(_("The list has a header row but no rows under it."), field="file")
    return Sheet(header=header, header_row=h + 1, rows=rows, blank_rows=blank, sheet_name=sheet_name)


def read_list(*, file_name: str, content: bytes) -> Sheet:
    """The header and rows of an uploaded list; DomainError (field "file") when it cannot be read."""
    if len(content) > MAX_BYTES:
        raise DomainError(
            _("The file is larger than %(n)d MB; split it into smaller files.") % {"n": MAX_BYTES // 2**20},
            field="file",
        )
    if not content:
        raise DomainError(_("The file is empty."), field="file")
    name = (file_name or "").lower()
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise DomainError(
            _("This is an old Excel file (.xls): open it in Excel or WPS and save it as .xlsx."), field="file"
        )
    if content.startswith(b"PK\x03\x04"):
        grid, sheet_name = _xlsx_grid(content)
        return sheet_from_grid(grid, sheet_name)
    if name.endswith((".xlsx", ".xlsm")):
        raise DomainError(_("The file is not a readable Excel workbook (.xlsx)."), field="file")
    return sheet_from_grid(_csv_grid(content))
