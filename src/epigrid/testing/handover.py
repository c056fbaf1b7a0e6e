"""The printable transport handover sheet of a box (核酸样本转运交接单): A4 PDF, Chinese text.

The sheet travels with the box: who packed it and when, the courier, how many tubes and swabs, every tube's
barcode, and lines for the three signatures (sampler, courier, receiving lab). The lab's receipt scan
(``services.box_receive``) is the electronic half of the same record.
"""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from epigrid.core.pdf import draw_text
from epigrid.testing.models import Box, Specimen

COLUMNS = 3  # tube barcodes per table row
ROW_HEIGHT = 7 * mm
MARGIN = 18 * mm


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _person(user) -> str:
    if user is None:
        return ""
    name = (user.get_full_name() or "").strip()
    return f"{name}（{user.username}）" if name else user.username


def handover_sheet_pdf(box: Box) -> bytes:
    """The handover sheet of ``box`` (its tubes in barcode order; more pages as needed)."""
    tubes = list(box.tubes.order_by("barcode").values_list("barcode", "pool_size"))
    swabs = Specimen.objects.filter(tube__box=box).count()
    width, height = A4
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"核酸样本转运交接单 {box.code}")

    def header() -> float:
        draw_text(pdf, width / 2, height - MARGIN - 4 * mm, "核酸样本转运交接单", 20, align="centre")
        draw_text(
            pdf,
            width / 2,
            height - MARGIN - 10 * mm,
            "Nucleic-acid specimen transport handover sheet",
            10,
            align="centre",
        )
        return height - MARGIN - 20 * mm

    y = header()
    facts = (
        ("箱号", box.code),
        ("交接时间", _when(box.handed_over_at or box.packed_at)),
        ("交出人（采样人员）", _person(box.packed_by)),
        ("转运人", box.courier or "—"),
        ("试管数量", f"{len(tubes)} 管"),
        ("样本数量（人份）", f"{swabs} 份"),
    )
    for label, value in facts:
        draw_text(pdf, MARGIN, y, f"{label}：", 12)
        draw_text(pdf, MARGIN + 48 * mm, y, value, 12)
        y -= 8 * mm

    y -= 2 * mm
    draw_text(pdf, MARGIN, y, "试管条码（混采数）", 12)
    y -= 3 * mm
    cell = (width - 2 * MARGIN) / COLUMNS
    for start in range(0, len(tubes), COLUMNS):
        if y - ROW_HEIGHT < MARGIN + 45 * mm:  # keep room for the signatures on the last page
            pdf.showPage()
            y = header()
        for column, (barcode, pool_size) in enumerate(tubes[start : start + COLUMNS]):
            x = MARGIN + column * cell
            pdf.rect(x, y - ROW_HEIGHT, cell, ROW_HEIGHT, stroke=1, fill=0)
            draw_text(
                pdf,
                x + 2 * mm,
                y - ROW_HEIGHT + 2.2 * mm,
                f"{start + column + 1}. {barcode}（{pool_size}）",
                10,
            )
        y -= ROW_HEIGHT

    y -= 12 * mm
    for label in ("交出人签字", "转运人签字", "接收实验室签字"):
        draw_text(pdf, MARGIN, y, f"{label}：", 12)
        pdf.line(MARGIN + 36 * mm, y - 1 * mm, MARGIN + 90 * mm, y - 1 * mm)
        draw_text(pdf, MARGIN + 98 * mm, y, "时间：", 12)
        pdf.line(MARGIN + 112 * mm, y - 1 * mm, width - MARGIN, y - 1 * mm)
        y -= 11 * mm
    draw_text(
        pdf, MARGIN, MARGIN, "接收时请逐管扫码核对；缺失或多出的试管在系统中标记（实验室 · 接收样本箱）。", 9
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
