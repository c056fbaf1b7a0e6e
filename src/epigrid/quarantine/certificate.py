"""The release certificate (解除隔离证明) of one released placement as an A4 PDF in Chinese, whatever the page
language: the person shows it to an employer or a residential compound. Person masked (name, ID number),
where and how long, every scheduled test with its date and result, the release time in the display time zone
(Asia/Shanghai by default).

``gather`` reads through the quarantine selectors (scope applies) and refuses anything not released;
``certificate_pdf`` only draws.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from epigrid.core import selectors as core_selectors
from epigrid.core.models import OrgLevel, User
from epigrid.core.pdf import cjk_font, draw_text, markup
from epigrid.quarantine import selectors
from epigrid.quarantine.models import Placement, PlacementStatus, ScheduledTest, SiteKind

TIME = "%Y-%m-%d %H:%M"
RESULTS = {"negative": "阴性", "positive": "阳性", "due": "未检测", "missed": "未检测"}
PHASES = {"centralised": "集中隔离", "home": "居家"}
TIERS = {"close": "密切接触者", "secondary": "密接的密接", "traveller": "入境/返乡人员", "other": "其他"}


@dataclass
class CertificateData:
    placement: Placement
    disease: str
    tests: list[ScheduledTest]
    issuer: str
    generated_at: dt.datetime = field(default_factory=timezone.now)


def gather(*, actor: User, placement: Placement, now: dt.datetime | None = None) -> CertificateData:
    placement = selectors.placement_get(actor=actor, pk=placement.pk)
    if placement.status != PlacementStatus.RELEASED or placement.person is None:
        raise Http404  # only a released, not yet de-identified quarantine has a certificate
    profile = core_selectors.disease_list().filter(code=placement.disease_code).first()
    district = core_selectors.orgunit_list(actor=actor, level=OrgLevel.DISTRICT).first()
    return CertificateData(
        placement=placement,
        disease=profile.name_zh if profile else placement.disease_code,
        tests=list(placement.tests.order_by("due_date", "pk")),
        issuer=f"{district.name}疫情防控指挥部" if district else "疫情防控指挥部",
        generated_at=now or timezone.now(),
    )


def _t(value: dt.datetime | None) -> str:
    return value.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).strftime(TIME) if value else "—"


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(markup(str(text)), style)


def _styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17)
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=22, leading=30, alignment=1, spaceAfter=6),
        "subtitle": ParagraphStyle("subtitle", fontName=font, fontSize=10, leading=14, alignment=1),
        "heading": ParagraphStyle("heading", fontName=font, fontSize=12.5, leading=18, spaceBefore=10),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=9.5, leading=13),
        "right": ParagraphStyle("right", parent=body, alignment=2),
        "muted": ParagraphStyle("muted", parent=body, fontSize=9, textColor=colors.HexColor("#555555")),
    }


def _table(rows: list[list[Any]], widths: list[float], cell: ParagraphStyle, *, header: bool) -> Table:
    table = Table(
        [[_p(v, cell) for v in row] for row in rows], colWidths=widths, repeatRows=1 if header else 0
    )
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef3")))
    else:
        commands += [
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
        ]
    table.setStyle(TableStyle(commands))
    return table


def _where(placement: Placement) -> str:
    # A home site's name is the household's address: not printed on a paper the person hands around.
    if placement.site.kind == SiteKind.HOME:
        return "居家"
    room = f" {placement.room.number} 房间" if placement.room else ""
    return f"{placement.site.name}{room}"


def _facts(data: CertificateData, cell: ParagraphStyle) -> Table:
    p, person = data.placement, data.placement.person
    plan = p.plan or {}
    central, home_days = int(plan.get("centralised_days", 0)), int(plan.get("home_days", 0))
    if central:
        period = f"集中隔离 {central} 天（{_t(p.start)} 至 {_t(p.centralised_until)}）"
        if home_days:
            period += f"，居家健康监测 {home_days} 天（至 {_t(p.end)}）"
    else:
        period = f"居家隔离 {home_days} 天（{_t(p.start)} 至 {_t(p.end)}）"
    rows = [
        ["姓名", person.name_masked, "证件号码", person.id_number_masked],
        ["管控原因", TIERS.get(p.tier, p.tier), "疾病", data.disease],
        ["隔离地点", _where(p), "证明编号", f"Q{p.pk:08d}"],
        ["隔离期限", period, "", ""],
        ["解除时间", f"{_t(p.released_at)}（{settings.TIME_ZONE}）", "", ""],
    ]
    table = _table(rows, [24 * mm, 61 * mm, 24 * mm, 61 * mm], cell, header=False)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (2, 0), (2, 2), colors.HexColor("#f2f2f2")),
                ("SPAN", (1, 3), (3, 3)),
                ("SPAN", (1, 4), (3, 4)),
            ]
        )
    )
    return table


def _tests(data: CertificateData, cell: ParagraphStyle) -> Table:
    rows = [["序号", "隔离阶段", "隔离第几天", "应检日期", "采样时间", "检测结果"]]
    for number, test in enumerate(data.tests, start=1):
        rows.append(
            [
                number,
                PHASES.get(test.phase, test.phase),
                f"第 {test.day} 天",
                test.due_date.isoformat(),
                _t(test.sampled_at),
                RESULTS.get(test.status, test.status),
            ]
        )
    return _table(rows, [12 * mm, 26 * mm, 24 * mm, 30 * mm, 40 * mm, 38 * mm], cell, header=True)


def certificate_pdf(data: CertificateData) -> bytes:
    styles = _styles()
    p = data.placement
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=22 * mm,
        bottomMargin=18 * mm,
        title=f"解除隔离证明 Q{p.pk:08d}",
        author="EpiGrid",
    )
    generated = f"生成时间：{_t(data.generated_at)}（{settings.TIME_ZONE}）"

    def footer(canvas: Any, _document: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#666666"))
        draw_text(canvas, 20 * mm, 10 * mm, f"EpiGrid · 证明编号 Q{p.pk:08d} · {generated}", 8)
        canvas.restoreState()

    negatives = sum(1 for t in data.tests if t.status == "negative")
    statement = (
        f"兹证明 {p.person.name_masked}（证件号码 {p.person.id_number_masked}）已按现行防控方案完成隔离管控，"
        f"期间按规定完成核酸检测 {len(data.tests)} 次，其中阴性 {negatives} 次，"
        f"经评估符合解除条件，于 {_t(p.released_at)} 解除隔离。"
    )
    story: list[Any] = [
        _p("解除隔离证明", styles["title"]),
        _p(f"证明编号 Q{p.pk:08d}", styles["subtitle"]),
        Spacer(1, 6 * mm),
        _p(statement, styles["body"]),
        _p("一、基本信息", styles["heading"]),
        _facts(data, styles["cell"]),
        _p("二、核酸检测记录", styles["heading"]),
        _tests(data, styles["cell"]) if data.tests else _p("本次隔离无核酸检测安排。", styles["body"]),
        Spacer(1, 12 * mm),
        _p(data.issuer, styles["right"]),
        _p(_t(p.released_at)[:10], styles["right"]),
        Spacer(1, 8 * mm),
        _p("本证明中的个人信息已脱敏显示；如需核验，请联系出具单位。", styles["muted"]),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
