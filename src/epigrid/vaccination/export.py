"""Coverage and overdue lists as rows for the pages, the API and Excel workbooks.

The coverage selector answers per unit and age band; the table adds each unit's total over its bands and the
overall total, with the shares a reader compares (first dose, full series, booster of the population).

Personal data in the overdue workbook is masked exactly as on screen (``张*三``, ``370602********123X``): no
clear name, ID number or phone leaves in a file. Names are typed by people, and a cell starting with ``=``,
``+``, ``-`` or ``@`` would run as a formula in a spreadsheet, so those cells get a leading quote.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from epigrid.core import selectors as core_selectors
from epigrid.core.models import DiseaseProfile, OrgLevel, User
from epigrid.core.spreadsheets import cell_safe
from epigrid.vaccination import selectors
from epigrid.vaccination.models import VaccinationStatus
from epigrid.vaccination.selectors import UNKNOWN_AGE, CoverageRow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

BAND = "band"  # one unit, one age band
UNIT = "unit"  # one unit, all ages
TOTAL = "total"  # every unit shown, all ages


@dataclass
class CoverageLine:
    kind: str  # BAND, UNIT or TOTAL
    unit_code: str
    unit_name: str
    band: str  # the age band; "" for a unit's total and the overall total
    population: int = 0
    first_dose: int = 0
    full_series: int = 0
    booster: int = 0

    @property
    def band_label(self) -> str:
        if self.kind != BAND:
            return _("All ages")
        return _("Age unknown") if self.band == UNKNOWN_AGE else self.band

    @property
    def first_dose_pct(self) -> float:
        return CoverageRow.share(self.first_dose, self.population)

    @property
    def full_series_pct(self) -> float:
        return CoverageRow.share(self.full_series, self.population)

    @property
    def booster_pct(self) -> float:
        return CoverageRow.share(self.booster, self.population)

    def add(self, row: CoverageRow | CoverageLine) -> None:
        self.population += row.population
        self.first_dose += row.first_dose
        self.full_series += row.full_series
        self.booster += row.booster

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "band": self.band,
            "population": self.population,
            "first_dose": self.first_dose,
            "full_series": self.full_series,
            "booster": self.booster,
            "first_dose_pct": self.first_dose_pct,
            "full_series_pct": self.full_series_pct,
            "booster_pct": self.booster_pct,
        }


@dataclass
class CoverageTable:
    units: list[tuple[CoverageLine, list[CoverageLine]]]  # each unit's total and its bands
    total: CoverageLine

    def lines(self) -> list[CoverageLine]:
        """Every line in reading order: a unit's bands, then its total; the overall total last."""
        out: list[CoverageLine] = []
        for unit_total, bands in self.units:
            out.extend(bands)
            out.append(unit_total)
        out.append(self.total)
        return out


def coverage_table(rows: Iterable[CoverageRow], names: dict[str, str]) -> CoverageTable:
    """The selector's rows (sorted by unit, then band) grouped per unit with totals; ``names`` maps unit
    codes to their names."""
    units: dict[str, tuple[CoverageLine, list[CoverageLine]]] = {}
    total = CoverageLine(TOTAL, "", _("Total"), "")
    for row in rows:
        name = names.get(row.unit_code, row.unit_code)
        if row.unit_code not in units:
            units[row.unit_code] = (CoverageLine(UNIT, row.unit_code, name, ""), [])
        unit_total, bands = units[row.unit_code]
        line = CoverageLine(BAND, row.unit_code, name, row.band)
        line.add(row)
        bands.append(line)
        unit_total.add(row)
        total.add(row)
    return CoverageTable(list(units.values()), total)


def unit_names(actor: User, codes: set[str]) -> dict[str, str]:
    return dict(core_selectors.orgunit_list(actor=actor).filter(code__in=codes).values_list("code", "name"))


def coverage_report(
    *, actor: User, disease: DiseaseProfile, level: str, within: str = "", today: dt.date | None = None
) -> CoverageTable:
    """The coverage selector's rows in the actor's scope as a table with the units' names and totals."""
    rows = selectors.coverage(
        actor=actor, disease_id=disease.pk, level=level, within=within, today=today or timezone.localdate()
    )
    return coverage_table(rows, unit_names(actor, {r.unit_code for r in rows}))


# --- choosers shared by the pages, their files and the API ----------------------------------------------------

LEVELS = (OrgLevel.GRID, OrgLevel.COMMUNITY, OrgLevel.STREET)


def disease_label(disease: DiseaseProfile) -> str:
    """A disease's name in the reader's language."""
    return disease.name_zh if (get_language() or "").startswith("zh") else disease.name_en


def diseases() -> list[DiseaseProfile]:
    """The diseases a coverage or overdue list can be about (not the platform's general rules)."""
    return list(core_selectors.disease_list().exclude(code=core_selectors.GENERAL))


def disease_chosen(code: str, choices: list[DiseaseProfile] | None = None) -> DiseaseProfile:
    """The disease named by ``code``; without one, the ``default_disease`` general rule's. An unknown code
    is 404 (a list about a disease that does not exist)."""
    choices = diseases() if choices is None else choices
    by_code = {d.code: d for d in choices}
    chosen = by_code.get(code or str(core_selectors.general_rule("default_disease", "covid19")))
    if chosen is None:
        if code or not choices:
            raise Http404
        chosen = choices[0]
    return chosen


# --- workbooks ------------------------------------------------------------------------------------------------


def _workbook(title: str, header: list[str], rows: Iterable[list[Any]], widths: Iterable[int]) -> Workbook:
    """A write-only workbook (rows stream to the file instead of living as cell objects), bold header."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])  # Excel's limit for sheet names
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        sheet.append(row)
    return book


def _bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def coverage_xlsx(table: CoverageTable, *, disease: str, level: str, today: dt.date) -> bytes:
    """One row per unit and age band, each unit's total after its bands, the overall total last. Shares are
    fractions formatted as percentages, so that Excel can compute with them."""
    header = [
        _("Unit code"),
        _("Unit"),
        _("Age band"),
        _("Population"),
        _("First dose"),
        _("First dose %"),
        _("Full series"),
        _("Full series %"),
        _("Booster"),
        _("Booster %"),
    ]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=f"{disease} {today:%Y-%m-%d}"[:31])
    for index, width in enumerate((17, 20, 12, 11, 11, 12, 11, 12, 11, 11), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def cells(values: list[Any], *, strong: bool = False) -> list[WriteOnlyCell]:
        out = []
        for index, value in enumerate(values):
            cell = WriteOnlyCell(sheet, value=value)
            if index in (5, 7, 9):
                cell.number_format = "0.0%"
            if strong:
                cell.font = bold
            out.append(cell)
        return out

    sheet.append(cells(header, strong=True))
    for line in table.lines():
        population = line.population

        def fraction(part: int, whole: int = population) -> float:
            return round(part / whole, 4) if whole else 0.0

        sheet.append(
            cells(
                [
                    line.unit_code,
                    cell_safe(str(line.unit_name)),
                    str(line.band_label),
                    population,
                    line.first_dose,
                    fraction(line.first_dose),
                    line.full_series,
                    fraction(line.full_series),
                    line.booster,
                    fraction(line.booster),
                ],
                strong=line.kind != BAND,
            )
        )
    sheet.append([])
    sheet.append([_("Disease"), disease, _("Level"), level, _("As of"), today.isoformat()])
    return _bytes(book)


def overdue_header() -> list[str]:
    return [
        _("Name"),
        _("ID number"),
        _("Grid code"),
        _("Grid"),
        _("Doses"),
        _("Last dose"),
        _("Due since"),
        _("Due"),
        _("Days overdue"),
    ]


def overdue_rows(statuses: Iterable[VaccinationStatus], *, today: dt.date) -> Iterable[list[Any]]:
    """One row per overdue person: masked name and ID number only (see the module)."""
    kinds = dict(VaccinationStatus._meta.get_field("next_due_kind").choices)
    for status in statuses:
        person = status.person
        grid = person.grid
        yield [
            cell_safe(person.name_masked),
            person.id_number_masked,
            grid.code if grid else "",
            cell_safe(grid.name) if grid else "",
            status.doses,
            status.last_dose_on,
            status.next_due_on,
            str(kinds.get(status.next_due_kind, status.next_due_kind)),
            (today - status.next_due_on).days if status.next_due_on else "",
        ]


def overdue_xlsx(statuses: Iterable[VaccinationStatus], *, disease: str, today: dt.date) -> bytes:
    book = _workbook(
        f"{disease} {today:%Y-%m-%d}",
        overdue_header(),
        overdue_rows(statuses, today=today),
        (12, 22, 17, 16, 7, 12, 12, 16, 12),
    )
    return _bytes(book)
