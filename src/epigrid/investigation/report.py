"""The investigation report of one case (流行病学调查报告) as an A4 PDF in Chinese, whatever the page language:
it is filed with the disease-control office. Case facts, infectious window, trajectory, contacts by tier,
transmission links and the actions taken, with every person masked (name, ID number, phone).

``gather`` reads everything through the investigation selectors (so scope applies) plus the case's own audit
entries; ``case_report_pdf`` only draws. Times are shown in the display time zone (Asia/Shanghai by default).
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils import timezone, translation
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from epigrid.core import selectors as core_selectors
from epigrid.core.models import AuditEntry, User
from epigrid.core.pdf import cjk_font, draw_text, markup
from epigrid.investigation import selectors, services, tracing
from epigrid.investigation.models import Case, CaseLink, Contact, ContactStatus, Tier, TrajectoryEntry

TIME = "%Y-%m-%d %H:%M"
CONTACTS_PER_TIER = 300  # a longer list belongs in the contact export, not in a filed report
# What each audited action of a case means in the report (the audit log stores English action names).
ACTIONS = {
    "case.create": "建立病例",
    "case.positive_added": "补充阳性结果",
    "case.update": "修改病例信息",
    "case.trace": "计算密切接触者",
    "case.contacts_notify": "推送密接信息（健康码转码）",
    "case.contacts_dispatch": "移交隔离管控 / 网格任务",
    "case.trajectory_add": "补充流调轨迹",
    "case.trajectory_remove": "删除流调轨迹",
    "case.merge": "合并病例",
    "case.link": "关联传染来源",
    "case.unlink": "取消传染来源关联",
}


@dataclass
class ReportData:
    case: Case
    window: tuple[dt.datetime, dt.datetime]
    days_before: int
    disease: str
    grid: str
    entries: list[TrajectoryEntry]
    contacts: list[Contact]
    links_in: list[CaseLink] = field(default_factory=list)
    links_out: list[CaseLink] = field(default_factory=list)
    chain_size: int = 0
    chain_generations: int = 0
    audit: list[AuditEntry] = field(default_factory=list)
    generated_at: dt.datetime = field(default_factory=timezone.now)


def gather(*, actor: User, case: Case, now: dt.datetime | None = None) -> ReportData:
    case = selectors.case_get(actor=actor, pk=case.pk)
    window = (case.window_start, case.window_end)
    if window[0] is None or window[1] is None:
        window = services.case_window(case, now=now)
    profile = core_selectors.disease_list().filter(code=case.disease_code).first()
    grid = case.person.grid
    data = ReportData(
        case=case,
        window=window,
        days_before=tracing.Rules.for_disease(case.disease_code).infectious_days_before_onset,
        disease=profile.name_zh if profile else case.disease_code,
        grid=grid.name if grid else case.org_code,
        entries=list(selectors.case_trajectory(actor=actor, case=case)),
        contacts=list(selectors.case_contacts(actor=actor, case=case)),
        audit=list(selectors.case_history(actor=actor, case=case)[:500]),
        generated_at=now or timezone.now(),
    )
    try:
        chain = selectors.chain_of_case(actor=actor, case=case)
    except Http404:  # merged or excluded: no chain
        return data
    data.links_in = [link for link in chain.links if link.target_id == case.pk]
    data.links_out = [link for link in chain.links if link.source_id == case.pk]
    data.chain_size, data.chain_generations = chain.size, chain.generations
    return data


# --- drawing ------------------------------------------------------------------------------------------


class _Styles:
    def __init__(self) -> None:
        font = cjk_font()
        self.title = ParagraphStyle(
            "title", fontName=font, fontSize=18, leading=24, alignment=1, spaceAfter=4
        )
        self.subtitle = ParagraphStyle("subtitle", fontName=font, fontSize=10, leading=14, alignment=1)
        self.heading = ParagraphStyle(
            "heading", fontName=font, fontSize=12.5, leading=18, spaceBefore=10, spaceAfter=4
        )
        self.body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13.5, wordWrap="CJK")
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10.5, wordWrap="CJK")
        self.muted = ParagraphStyle("muted", parent=self.body, textColor=colors.HexColor("#555555"))


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _t(value: dt.datetime | None) -> str:
    return value.astimezone(_zone()).strftime(TIME) if value else "—"


def _d(value: dt.date | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _draw(canvas: Any, x: float, y: float, text: str, size: float, *, right: bool = False) -> None:
    draw_text(canvas, x, y, text, size, align="right" if right else "left")


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(markup(str(text)), style)


def _table(rows: list[list[Any]], widths: list[float], styles: _Styles, *, header: bool = True) -> Table:
    cells = [[_p(value, styles.cell) for value in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef3")))
    else:
        commands.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")))
    table.setStyle(TableStyle(commands))
    return table


def _facts(data: ReportData, styles: _Styles) -> Table:
    case, person = data.case, data.case.person
    investigator = (
        case.investigator.get_full_name() or case.investigator.username if case.investigator else "—"
    )
    rows = [
        ["病例编号", f"#{case.pk}", "疾病", data.disease],
        ["姓名", person.name_masked, "证件号码", person.id_number_masked],
        ["联系电话", person.phone_masked or "—", "所属网格", data.grid],
        ["病例分类", case.get_classification_display(), "病例来源", case.get_origin_display()],
        ["发病日期", _d(case.onset_date), "首次阳性采样", _t(case.first_positive_at)],
        ["隔离时间", _t(case.isolated_at), "转归", case.get_outcome_display()],
        ["调查状态", case.get_status_display(), "调查人", investigator],
        ["建档时间", _t(case.created_at), "最近计算", _t(case.traced_at)],
    ]
    table = _table(rows, [24 * mm, 61 * mm, 24 * mm, 61 * mm], styles, header=False)
    table.setStyle(TableStyle([("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#f2f2f2"))]))
    return table


def _window(data: ReportData, styles: _Styles) -> list[Any]:
    reference = "发病日期" if data.case.onset_date else "首次阳性采样时间"
    return [
        _p(f"{_t(data.window[0])} 至 {_t(data.window[1])}", styles.body),
        _p(
            f"依据现行防控方案：自{reference}前 {data.days_before} 天起，至隔离管控时止"
            f"{'' if data.case.isolated_at else '（尚未隔离，截至报告生成时）'}。",
            styles.muted,
        ),
    ]


def _trajectory(data: ReportData, styles: _Styles) -> list[Any]:
    if not data.entries:
        return [_p("传染期内无扫码记录，亦未补充流调地点。", styles.body)]
    rows = [["序号", "来源", "地点", "开始", "结束", "停留（分钟）", "备注"]]
    for number, entry in enumerate(data.entries, start=1):
        minutes = round((entry.end - entry.start).total_seconds() / 60)
        source = "扫码" if entry.source == "checkin" else "流调补充"
        rows.append([number, source, entry.place, _t(entry.start), _t(entry.end), minutes, entry.note])
    return [_table(rows, [10 * mm, 16 * mm, 42 * mm, 26 * mm, 26 * mm, 16 * mm, 34 * mm], styles)]


def _contacts(data: ReportData, styles: _Styles) -> list[Any]:
    if not data.contacts:
        return [_p("未发现密切接触者。", styles.body)]
    labels = {pk: "本病例" for pk in data.case.person_ids}
    labels.update({c.person_id: c.person.name_masked for c in data.contacts})
    flow: list[Any] = []
    for tier, label in Tier.choices:
        members = [c for c in data.contacts if c.tier == tier]
        if not members:
            continue
        flow.append(_p(f"{label}（{len(members)} 人）", styles.body))
        rows = [
            [
                "序号",
                "姓名",
                "证件号码",
                "判定依据",
                "场所 / 经由",
                "重叠（分钟）",
                "首次暴露",
                "末次暴露",
                "状态",
            ]
        ]
        for number, c in enumerate(members[:CONTACTS_PER_TIER], start=1):
            where = c.venue.name if c.venue else ""
            if c.via_id and c.via:
                where = f"{where} 经 {labels.get(c.via.person_id, '')}".strip()
            rows.append(
                [
                    number,
                    c.person.name_masked,
                    c.person.id_number_masked,
                    c.get_rule_display(),
                    where or "—",
                    c.overlap_minutes,
                    _t(c.first_exposure_at),
                    _t(c.last_exposure_at),
                    c.get_status_display(),
                ]
            )
        widths = [8 * mm, 13 * mm, 29 * mm, 20 * mm, 26 * mm, 12 * mm, 20 * mm, 20 * mm, 22 * mm]
        flow.append(_table(rows, widths, styles))
        if len(members) > CONTACTS_PER_TIER:
            flow.append(_p(f"仅列出前 {CONTACTS_PER_TIER} 人，完整名单请在系统中导出。", styles.muted))
        flow.append(Spacer(1, 3 * mm))
    return flow


def _links(data: ReportData, styles: _Styles) -> list[Any]:
    if not data.chain_size:
        return [_p("本病例不在任何传播链中（已合并或已排除）。", styles.body)]
    flow = [_p(f"所在传播链共 {data.chain_size} 例，{data.chain_generations} 代。", styles.body)]
    rows = [["方向", "关联病例", "关联方式"]]
    for link in data.links_in:
        rows.append(["传染来源", f"#{link.source_id}", link.get_kind_display()])
    for link in data.links_out:
        rows.append(["续发病例", f"#{link.target_id}", link.get_kind_display()])
    if len(rows) > 1:
        flow.append(_table(rows, [30 * mm, 30 * mm, 110 * mm], styles))
    else:
        flow.append(_p("尚未查明传染来源。", styles.body))
    return flow


def _actions(data: ReportData, styles: _Styles) -> list[Any]:
    counts = {status: 0 for status in ContactStatus.values}
    for contact in data.contacts:
        counts[contact.status] += 1
    notified = [c.notified_at for c in data.contacts if c.notified_at]
    actioned = [c.actioned_at for c in data.contacts if c.actioned_at]
    summary = (
        f"接触者 {len(data.contacts)} 人：已推送健康码 {counts['notified'] + counts['actioned']} 人"
        f"（首次 {_t(min(notified)) if notified else '—'}），已移交隔离 / 网格 {counts['actioned']} 人"
        f"（首次 {_t(min(actioned)) if actioned else '—'}），待处置 {counts['identified']} 人，"
        f"已解除 {counts['cleared']} 人。"
    )
    flow: list[Any] = [_p(summary, styles.body)]
    rows = [["时间", "操作", "操作人", "说明"]]
    for entry in data.audit:
        detail = entry.detail or {}
        note = ", ".join(f"{k}={v}" for k, v in detail.items() if not isinstance(v, dict | list))
        if isinstance(detail.get("changed"), dict):  # case.update: which facts changed
            note = "、".join(detail["changed"]) or note
        rows.append(
            [_t(entry.at), ACTIONS.get(entry.action, entry.action), entry.actor_username or "系统", note]
        )
    if len(rows) > 1:
        flow.append(Spacer(1, 2 * mm))
        flow.append(_table(rows, [28 * mm, 45 * mm, 25 * mm, 72 * mm], styles))
    return flow


def case_report_pdf(data: ReportData) -> bytes:
    styles = _Styles()
    generated = f"生成时间：{_t(data.generated_at)}（{settings.TIME_ZONE}）"
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"流行病学调查报告 #{data.case.pk}",
        author="EpiGrid",
    )

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#666666"))
        _draw(canvas, 20 * mm, 10 * mm, f"EpiGrid · 病例 #{data.case.pk} · {generated}", 8)
        _draw(canvas, A4[0] - 20 * mm, 10 * mm, f"第 {document.page} 页", 8, right=True)
        canvas.restoreState()

    # Choice labels (classification, rule, status…) come from the zh-Hans catalogue.
    with translation.override("zh-hans"):
        story: list[Any] = [
            _p("流行病学调查报告", styles.title),
            _p(f"病例 #{data.case.pk} · {data.case.person.name_masked} · {generated}", styles.subtitle),
            _p("一、病例基本情况", styles.heading),
            _facts(data, styles),
            _p("二、传染期", styles.heading),
            *_window(data, styles),
            _p("三、活动轨迹", styles.heading),
            *_trajectory(data, styles),
            _p("四、接触者（按判定类别）", styles.heading),
            *_contacts(data, styles),
            _p("五、传播关系", styles.heading),
            *_links(data, styles),
            _p("六、已采取的处置措施", styles.heading),
            *_actions(data, styles),
        ]
        if data.case.notes:
            story += [_p("七、备注", styles.heading), _p(data.case.notes, styles.body)]
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
