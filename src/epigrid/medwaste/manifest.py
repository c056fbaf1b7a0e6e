"""The transfer manifest of a collection trip (医疗废物转移联单): A4 PDF, Chinese text, and the same rows for
the trip's page.

Header (manifest number, company and licence, vehicle plate, driver, plant), the bags per institution and
producer with their weights at every step, totals by category, and the handover confirmations (who gave,
who took, when) per institution and at the plant. A drill instance marks every page (``core.pdf``).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone, translation
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from epigrid.core.pdf import draw_text
from epigrid.medwaste import selectors
from epigrid.medwaste.models import (
    STAGE_ORDER,
    Bag,
    CustodyRecord,
    HandoverStatus,
    Stage,
    Trip,
    WasteCategory,
)

MARGIN = 15 * mm
ROW = 6 * mm
STAGE_SHORT = {
    Stage.LABELLED: "产生",
    Stage.STORED: "暂存",
    Stage.COLLECTED: "收运",
    Stage.DELIVERED: "到厂",
    Stage.INCINERATED: "焚烧",
}


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _kg(grams: int | None) -> str:
    return f"{grams / 1000:.2f}" if grams else "—"


def _user(user) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or "").strip() or user.username


def category_zh(category: str) -> str:
    with translation.override("zh-hans"):
        return str(WasteCategory(category).label)


@dataclass
class BagRow:
    bag: Bag
    weights: dict[str, int]  # stage -> grams

    def weight_at(self, stage: str) -> int | None:
        return self.weights.get(stage)

    @property
    def steps(self) -> list[int | None]:
        return [self.weights.get(s) for s in STAGE_ORDER]


@dataclass
class Confirmation:
    giver: str
    given_by: str
    receiver: str
    taken_by: str
    at: object
    bags: int


@dataclass
class Manifest:
    trip: Trip
    groups: list[tuple[str, list[BagRow]]] = field(default_factory=list)  # institution name -> rows
    totals: list[tuple[str, int, int]] = field(default_factory=list)  # category, bags, grams at collection
    confirmations: list[Confirmation] = field(default_factory=list)


def manifest_rows(trip: Trip) -> Manifest:
    bags = selectors.trip_bags(trip)
    weights: dict[int, dict[str, int]] = defaultdict(dict)
    for bag_id, stage, grams in CustodyRecord.objects.filter(bag__in=bags).values_list(
        "bag_id", "stage", "weight_g"
    ):
        weights[bag_id][stage] = grams
    collected_from = dict(
        CustodyRecord.objects.filter(bag__in=bags, stage=Stage.COLLECTED).values_list(
            "bag_id", "from_party__name"
        )
    )
    groups: dict[str, list[BagRow]] = defaultdict(list)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for bag in bags:
        institution = collected_from.get(bag.pk) or (
            bag.producer.parent.name if bag.producer.parent_id else "—"
        )
        groups[institution].append(BagRow(bag, weights[bag.pk]))
        total = totals[bag.category]
        total[0] += 1
        total[1] += weights[bag.pk].get(Stage.COLLECTED) or bag.weight_g
    confirmations = [
        Confirmation(
            giver=h.from_party.name,
            given_by=_user(h.offered_by) or "—",
            receiver=h.to_party.name,
            taken_by=_user(h.accepted_by) or "—",
            at=h.accepted_at,
            bags=h.bags.count(),
        )
        for h in trip.handovers.filter(status=HandoverStatus.ACCEPTED)
        .select_related("from_party", "to_party", "offered_by", "accepted_by")
        .order_by("accepted_at", "pk")
    ]
    return Manifest(
        trip=trip,
        groups=sorted(groups.items()),
        totals=[(c, n, g) for c, (n, g) in sorted(totals.items())],
        confirmations=confirmations,
    )


def manifest_pdf(trip: Trip) -> bytes:
    data = manifest_rows(trip)
    width, height = A4
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"医疗废物转移联单 {trip.number}")
    state = {"y": 0.0}

    def header() -> None:
        draw_text(pdf, width / 2, height - MARGIN - 6 * mm, "医疗废物转移联单", 18, align="centre")
        draw_text(
            pdf, width / 2, height - MARGIN - 12 * mm, "Medical waste transfer manifest", 9, align="centre"
        )
        state["y"] = height - MARGIN - 20 * mm

    def line(text: str, size: float = 10, x: float = MARGIN, gap: float = ROW) -> None:
        if state["y"] - gap < MARGIN:
            pdf.showPage()
            header()
        draw_text(pdf, x, state["y"], text, size)
        state["y"] -= gap

    header()
    company = trip.company
    facts = (
        ("联单编号", trip.number),
        ("处置单位", company.name),
        ("经营许可证号", company.licence_number or "—"),
        ("运输车辆", trip.vehicle.plate),
        ("驾驶员", _user(trip.driver) or "—"),
        ("接收处置厂", trip.plant.name if trip.plant_id else "—"),
        ("出车时间", _when(trip.started_at)),
        ("到厂时间", _when(trip.delivered_at) or "—"),
    )
    for label, value in facts:
        line(f"{label}：{value}", 11)
    state["y"] -= 2 * mm
    columns = (
        "标签编码 · 类别 · 产生单位 · 重量 kg（" + " / ".join(STAGE_SHORT[s] for s in STAGE_ORDER) + "）"
    )
    for institution, rows in data.groups:
        line(f"暂存点：{institution}（{len(rows)} 袋）", 12, gap=7 * mm)
        line(columns, 8)
        for row in rows:
            steps = " / ".join(_kg(w) for w in row.steps)
            line(
                f"{row.bag.code}  {category_zh(row.bag.category)}  {row.bag.producer.name}  {steps}",
                9,
                x=MARGIN + 3 * mm,
            )
        state["y"] -= 2 * mm
    line("按类别合计（收运时重量）", 12, gap=7 * mm)
    for category, count, grams in data.totals:
        line(f"{category_zh(category)}：{count} 袋，{_kg(grams)} kg", 10, x=MARGIN + 3 * mm)
    state["y"] -= 2 * mm
    line("交接确认", 12, gap=7 * mm)
    for c in data.confirmations:
        line(
            f"{c.giver} 交出人：{c.given_by} → {c.receiver} 接收人：{c.taken_by}  {_when(c.at)}（{c.bags} 袋）",
            9,
            x=MARGIN + 3 * mm,
        )
    line("本联单由系统依据扫码交接记录生成，记录保存不少于三年。", 8, gap=5 * mm)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
