"""What every Excel export shares: a text cell that a spreadsheet would run as a formula (CSV/formula
injection: ``=HYPERLINK(...)`` typed into a name field) is written with a leading quote."""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
