"""Printable venue posters (A4 PDF, Chinese text, the QR code) for one venue or a whole community."""

from __future__ import annotations

import io
from collections.abc import Iterable

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from epigrid.core.pdf import draw_text
from epigrid.places.codes import venue_code_url
from epigrid.places.models import Venue

INSTRUCTIONS = (
    "请使用手机相机或微信扫描二维码登记",
    "进入场所请主动扫码、佩戴口罩、保持距离",
    "健康码为红码者禁止进入，黄码者请配合工作人员查验",
)


def _draw_qr(pdf: canvas.Canvas, text: str, *, x: float, top: float, size: float) -> None:
    """Draw the QR modules as vector squares (crisp at any print size), quiet zone included."""
    rows = [list(row) for row in segno.make(text, error="m").matrix_iter(scale=1, border=4)]
    module = size / len(rows)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.rect(x, top - size, size, size, fill=1, stroke=0)
    pdf.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(rows):
        y = top - (r + 1) * module
        for c, dark in enumerate(row):
            if dark:
                # a hair wider than the module so adjacent squares leave no white seams when printed
                pdf.rect(x + c * module, y, module * 1.01, module * 1.01, fill=1, stroke=0)


def _draw_poster(pdf: canvas.Canvas, venue: Venue, url: str) -> None:
    width, height = A4
    centre = width / 2
    pdf.setFillColorRGB(0.05, 0.45, 0.25)
    pdf.rect(0, height - 45 * mm, width, 45 * mm, fill=1, stroke=0)
    pdf.setFillColorRGB(1, 1, 1)
    draw_text(pdf, centre, height - 25 * mm, "场所码 · 扫码登记", 30, align="centre")
    draw_text(pdf, centre, height - 37 * mm, "Venue check-in code", 14, align="centre")

    pdf.setFillColorRGB(0, 0, 0)
    draw_text(pdf, centre, height - 62 * mm, venue.name[:24], 26, align="centre")
    draw_text(pdf, centre, height - 71 * mm, venue.address[:48], 12, align="centre")

    _draw_qr(pdf, url, x=(width - 120 * mm) / 2, top=height - 80 * mm, size=120 * mm)

    y = height - 215 * mm
    for line in INSTRUCTIONS:
        draw_text(pdf, centre, y, line, 14, align="centre")
        y -= 9 * mm
    pdf.setFillColorRGB(0.4, 0.4, 0.4)
    draw_text(
        pdf,
        centre,
        15 * mm,
        f"{venue.get_type_display()} · 编号 {venue.pk} · 第 {venue.code_version} 版",
        9,
        align="centre",
    )


def posters_pdf(venues: Iterable[Venue], *, base_url: str = "") -> bytes:
    """One page per venue that has a valid code."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle("EpiGrid 场所码")
    pages = 0
    for venue in venues:
        if not venue.has_code:
            continue
        _draw_poster(pdf, venue, venue_code_url(venue, base_url=base_url))
        pdf.showPage()
        pages += 1
    if pages == 0:
        draw_text(pdf, 20 * mm, A4[1] - 30 * mm, "没有已审批的场所 / No approved venues", 14)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
