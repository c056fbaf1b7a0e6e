"""PDF building blocks with an embedded CJK font (posters, notices, reports)."""

from __future__ import annotations

import functools
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_PATH = Path(__file__).resolve().parent / "fonts" / "DroidSansFallbackFull.ttf"
CJK_FONT = "EpiGridCJK"


@functools.cache
def cjk_font() -> str:
    """Register the embedded CJK font once per process and return its name for ``setFont``."""
    pdfmetrics.registerFont(TTFont(CJK_FONT, str(FONT_PATH)))
    return CJK_FONT
