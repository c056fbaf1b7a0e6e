"""PDF building blocks with an embedded CJK font (posters, notices, reports, certificates).

The embedded CJK font (Droid Sans Fallback) has no Latin letters, digits or ASCII punctuation: text is cut into
runs, and the runs the CJK font cannot draw are set in Helvetica (one of the PDF standard fonts every reader
has), so numbers, masked IDs (``*``), times and English show and can be searched. Draw every piece of text
through :func:`draw_text` (canvas) or :func:`markup` (platypus ``Paragraph``), never ``drawString`` with the
CJK font alone.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_PATH = Path(__file__).resolve().parent / "fonts" / "DroidSansFallbackFull.ttf"
CJK_FONT = "EpiGridCJK"
LATIN_FONT = "Helvetica"


@functools.cache
def cjk_font() -> str:
    """Register the embedded CJK font once per process and return its name for ``setFont``."""
    pdfmetrics.registerFont(TTFont(CJK_FONT, str(FONT_PATH)))
    return CJK_FONT


@functools.cache
def _cjk_chars() -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(cjk_font()).face.charToGlyph)


def text_runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (run, font name) pieces: the CJK font where it has the glyph, Helvetica elsewhere.
    A space joins the run before it (both fonts have one)."""
    chars = _cjk_chars()
    cjk, latin = cjk_font(), LATIN_FONT
    runs: list[tuple[str, str]] = []
    for ch in text:
        font = cjk if ord(ch) in chars else latin
        if runs and (runs[-1][1] == font or ch == " "):
            runs[-1] = (runs[-1][0] + ch, runs[-1][1])
        else:
            runs.append((ch, font))
    return runs


def text_width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for run, font in text_runs(text))


def markup(text: str) -> str:
    """Paragraph markup of ``text`` with the Latin runs in their font (the style's font is the CJK one)."""
    return "".join(
        escape(run) if font == CJK_FONT else f'<font name="{font}">{escape(run)}</font>'
        for run, font in text_runs(text)
    )


def draw_text(canvas: Any, x: float, y: float, text: str, size: float, *, align: str = "left") -> None:
    """Draw one line in the two fonts. ``align``: ``x`` is the line's start, ``"centre"`` or ``"right"`` end."""
    runs = text_runs(text)
    if align != "left":
        width = sum(pdfmetrics.stringWidth(run, font, size) for run, font in runs)
        x -= width / 2 if align == "centre" else width
    for run, font in runs:
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size)


# --- drill mark -------------------------------------------------------------------------------------------
# On a drill instance (settings.DRILL, see core.drill) every page of every PDF says so: a band at the top and a
# large diagonal mark. Every PDF here is drawn on a reportlab Canvas (directly or through platypus), so one
# wrapper of Canvas.showPage, installed when this module is imported, marks them all; it checks the setting
# per page and changes nothing when the instance is not a drill.

DRILL_MARK = "演练 DRILL"


def draw_drill_mark(pdf: Any) -> None:
    from reportlab.lib.units import mm

    width, height = pdf._pagesize
    pdf.saveState()
    pdf.setFillColorRGB(0.75, 0.05, 0.05)
    pdf.rect(0, height - 9 * mm, width, 9 * mm, fill=1, stroke=0)
    pdf.setFillColorRGB(1, 1, 1)
    draw_text(
        pdf,
        width / 2,
        height - 6.5 * mm,
        f"{DRILL_MARK} · 演练数据，非真实情况 · DRILL DATA",
        10,
        align="centre",
    )
    pdf.setFillColorRGB(0.75, 0.05, 0.05)
    pdf.setFillAlpha(0.12)
    pdf.translate(width / 2, height / 2)
    pdf.rotate(35)
    draw_text(pdf, 0, 0, DRILL_MARK, min(width, height) / 6, align="centre")
    pdf.restoreState()


def _install_drill_mark() -> None:
    from django.conf import settings
    from reportlab.pdfgen.canvas import Canvas

    if getattr(Canvas.showPage, "_epigrid_drill", False):
        return
    show_page = Canvas.showPage

    def showPage(self: Canvas) -> None:  # reportlab's name
        if getattr(settings, "DRILL", False):
            draw_drill_mark(self)
        show_page(self)

    showPage._epigrid_drill = True  # type: ignore[attr-defined]
    Canvas.showPage = showPage  # type: ignore[method-assign]


_install_drill_mark()
