"""A case's trajectory as CSV or Excel, with personal data masked as on screen; and the data the pages' scripts
draw (trajectory map points, chain graph, epicurve).

Place names and notes are typed by people; a cell starting with ``=``, ``+``, ``-`` or ``@`` would run as a
formula in a spreadsheet (and openpyxl stores such strings as formulas), so those cells get a leading quote.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from epigrid.core.spreadsheets import cell_safe
from epigrid.investigation.models import Case, Classification, LinkKind, TrajectoryEntry

TIME_FORMAT = "%Y-%m-%d %H:%M"


def _header() -> list[str]:
    return [
        _("Case"),
        _("Name"),
        _("ID number"),
        _("Source"),
        _("Place"),
        _("Venue number"),
        _("Start time"),
        _("End time"),
        _("Minutes"),
        _("Latitude"),
        _("Longitude"),
        _("Note"),
    ]


def trajectory_rows(case: Case, entries: Iterable[TrajectoryEntry]) -> list[list[Any]]:
    """Header and one row per entry in time order; times in the display time zone."""
    rows: list[list[Any]] = [_header()]
    person = case.person
    for entry in entries:
        minutes = round((entry.end - entry.start).total_seconds() / 60)
        rows.append(
            [
                case.pk,
                person.name_masked,
                person.id_number_masked,
                entry.get_source_display(),
                cell_safe(entry.place),
                entry.venue_id or "",
                timezone.localtime(entry.start).strftime(TIME_FORMAT),
                timezone.localtime(entry.end).strftime(TIME_FORMAT),
                minutes,
                entry.lat if entry.lat is not None else "",
                entry.lng if entry.lng is not None else "",
                cell_safe(entry.note),
            ]
        )
    return rows


def to_csv(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    # The byte-order mark makes Excel read the file as UTF-8 (Chinese place names) instead of GBK.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[Any]], *, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for sheet names
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    for index, width in enumerate((8, 10, 22, 10, 30, 10, 17, 17, 8, 10, 10, 30), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- data for the page scripts (Leaflet map, ECharts graph and epicurve), embedded with json_script ---------

GRAPH_CHAINS = 40  # the chains page draws the largest ones; a chosen chain is drawn alone
CLASS_COLOURS = {
    Classification.CONFIRMED: "#a4262c",
    Classification.ASYMPTOMATIC: "#d97706",
    Classification.SUSPECTED: "#6b7280",
    Classification.EXCLUDED: "#c8c8c8",
}


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO time from a contact's evidence (stored as JSON) as an aware datetime."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime(TIME_FORMAT)


def trajectory_points(entries: Iterable[TrajectoryEntry]) -> list[dict[str, Any]]:
    """Entries with coordinates, numbered in time order (the number is the entry's place in the timeline)."""
    points = []
    for number, entry in enumerate(entries, start=1):
        if entry.lat is None or entry.lng is None:
            continue
        points.append(
            {
                "n": number,
                "lat": entry.lat,
                "lng": entry.lng,
                "place": entry.place,
                "source": str(entry.get_source_display()),
                "source_code": entry.source,
                "start": _local(entry.start),
                "end": _local(entry.end),
            }
        )
    return points


def chain_graph(chains: Iterable[Any], *, highlight: int | None = None) -> dict[str, Any]:
    """Nodes (cases, one category per classification) and directed links (with their kind) of chains."""
    order = list(Classification.values)
    kinds = dict(LinkKind.choices)
    nodes, links = [], []
    for chain in chains:
        for case in chain.cases:
            nodes.append(
                {
                    "id": str(case.pk),
                    "name": f"#{case.pk} {case.person.name_masked}",
                    "category": order.index(case.classification),
                    "generation": chain.depth.get(case.pk, 1),
                    "chain": chain.id,
                    "url": reverse("investigation:case_detail", args=[case.pk]),
                    "current": case.pk == highlight,
                }
            )
        for link in chain.links:
            links.append(
                {"source": str(link.source_id), "target": str(link.target_id), "kind": str(kinds[link.kind])}
            )
    categories = [
        {"name": str(label), "itemStyle": {"color": CLASS_COLOURS[value]}}
        for value, label in Classification.choices
    ]
    return {
        "nodes": nodes,
        "links": links,
        "categories": categories,
        "labels": {"generation": _("Generation"), "link": _("Link")},
    }


def epicurve(days: Iterable[Any]) -> dict[str, Any]:
    """Two stacked bars per day: by classification, and by whether the source is known."""
    rows = list(days)
    return {
        "days": [row.day.strftime("%m-%d") for row in rows],
        "series": [
            {
                "name": _("Confirmed"),
                "stack": "class",
                "color": "#a4262c",
                "data": [r.confirmed for r in rows],
            },
            {
                "name": _("Asymptomatic"),
                "stack": "class",
                "color": "#d97706",
                "data": [r.asymptomatic for r in rows],
            },
            {
                "name": _("Known source"),
                "stack": "source",
                "color": "#0b6e99",
                "data": [r.known_source for r in rows],
            },
            {
                "name": _("Unknown source"),
                "stack": "source",
                "color": "#7a4fa3",
                "data": [r.unknown_source for r in rows],
            },
        ],
    }
