"""Demo step ``publicity``: a fortnight of the district's epidemic announcements, through the services.

Fifteen announcements in the five categories, written by the ``publicity`` account and approved by ``admin``
(four eyes), placed in time with the services' ``now``: today's regional testing notice (pinned, pushed to
the residents' inboxes, with the sampling points as an Excel attachment) and today's risk-area update
(pinned), earlier policies, vaccination arrangements and guidance; one for the residents of one street only;
tomorrow's testing round, approved and scheduled for 08:00; a holiday reminder that has expired; a list of
booster sites waiting for review; and a draft.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from django.utils import timezone

from epigrid.core.models import OrgLevel, OrgUnit
from epigrid.publicity.models import Category
from epigrid.publicity.services import announcements as service
from epigrid.publicity.services.announcements import AnnouncementInput
from epigrid.simulation import medwaste_demo, supplies_demo  # noqa: F401 - the earlier steps run first
from epigrid.simulation.district import DemoContext, demo_step
from epigrid.simulation.names import DISTRICT_NAME
from epigrid.testing.models import SamplingPoint

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@dataclass
class Item:
    title: str
    category: str
    summary: str
    body: str
    ago: dt.timedelta | None = None  # published this long before the load's anchor; None: not approved
    pinned: bool = False
    push: bool = False
    street: bool = False  # for the residents of the first street only
    state: str = "public"  # public | scheduled | expired | review | draft
    files: list[str] = field(default_factory=list)


def _p(*paragraphs: str) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _ul(*items: str) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


ITEMS: tuple[Item, ...] = (
    Item(
        "关于开展区域核酸检测的通告",
        Category.TESTING,
        "今日8:00至18:00全区开展一轮区域核酸检测，请居民携带身份证就近采样。",
        "<h2>一、检测范围</h2>"
        + _p(
            f"{DISTRICT_NAME}辖区内所有居民及来区人员（3岁以下婴幼儿、长期卧床等特殊人群由社区安排上门采样）。"
        )
        + "<h2>二、检测时间</h2>"
        + _p("今日8:00至18:00，各采样点开放时间见附件《核酸采样点名单》。")
        + "<h2>三、注意事项</h2>"
        + _ul(
            "请携带身份证或出示健康码，全程佩戴口罩，保持一米间距；",
            "采样前30分钟内请勿进食、吸烟、饮酒；",
            "行动不便的老人请联系所在网格员预约上门采样。",
        )
        + _p("咨询电话：12345（24小时）。"),
        ago=2 * H,
        pinned=True,
        push=True,
        files=["sampling_points"],
    ),
    Item(
        "中高风险地区调整公告",
        Category.RISK_AREAS,
        "根据疫情形势研判，调整本区中高风险地区，其余地区为低风险地区。",
        _p("经区疫情防控指挥部研判，自今日起对本区风险区域作如下调整：")
        + _ul("新增中风险地区：无。", "解除中风险地区：开发区某小区3号楼。", "其余地区均为低风险地区。")
        + _p("请来自中高风险地区所在县（市、区）的人员主动向所在社区报备，并按要求落实核酸检测。"),
        ago=1 * H,
        pinned=True,
    ),
    Item(
        "新冠疫苗加强免疫接种安排",
        Category.VACCINATION,
        "完成全程接种满6个月的18岁以上人群可接种加强针，请通过居民门户预约。",
        "<h2>接种对象</h2>"
        + _p("已完成新冠病毒疫苗全程接种满6个月的18岁及以上人群。")
        + "<h2>预约方式</h2>"
        + _p("登录居民门户“我的接种”选择接种点和时段；预约后凭预约码和身份证到场接种。")
        + "<h2>温馨提示</h2>"
        + _ul("接种前如实告知健康状况；", "接种后留观30分钟；", "接种当天保持接种部位清洁干燥。"),
        ago=26 * H,
    ),
    Item(
        "60岁以上老年人疫苗接种专场安排",
        Category.VACCINATION,
        "各社区卫生服务中心每周二、周四上午开设老年人接种绿色通道。",
        _p("为方便老年人接种，各社区卫生服务中心每周二、周四上午开设老年人专场，无需预约，现场优先接种。")
        + _p("行动不便的老年人可联系社区，由家庭医生上门评估后安排接种。"),
        ago=2 * D + 3 * H,
    ),
    Item(
        "核酸检测采样点开放时间调整",
        Category.TESTING,
        "自本周起，常态化核酸采样点开放时间调整为每日7:30至19:30。",
        _p("为方便上班族检测，自本周一起，全区常态化核酸采样点开放时间调整为每日7:30至19:30，午间不休息。")
        + _p("夜间检测需求请前往区人民医院发热门诊。"),
        ago=2 * D + 6 * H,
    ),
    Item(
        "居家隔离医学观察须知",
        Category.GUIDANCE,
        "居家隔离期间不外出、不接待来访，每日两次测量体温并在门户上报。",
        "<h2>一、基本要求</h2>"
        + _ul(
            "隔离期间单人单间居住，不得外出，不接待来访；",
            "每日早晚各测量一次体温，通过居民门户或隔离点链接如实上报；",
            "按通知在家门口配合完成核酸采样。",
        )
        + "<h2>二、出现以下情况请立即报告</h2>"
        + _p("发热（≥37.3℃）、干咳、乏力、咽痛、嗅（味）觉减退、腹泻等症状，请立即联系社区或拨打120。")
        + "<h2>三、生活垃圾</h2>"
        + _p("生活垃圾装袋密封，放在门口由社区工作人员统一收运。"),
        ago=3 * D,
    ),
    Item(
        "来（返）本区人员健康管理须知",
        Category.POLICY,
        "来（返）本区人员请提前通过“到达报备”页面报备，抵达后24小时内完成一次核酸检测。",
        _p("所有来（返）本区人员请于抵达前通过“到达报备”页面如实报备行程。")
        + _ul(
            "来自低风险地区的，抵达后24小时内完成一次核酸检测；",
            "来自中风险地区所在县（市、区）的，抵达后三天两检，期间减少流动；",
            "来自高风险地区的，按规定落实7天集中隔离医学观察。",
        ),
        ago=4 * D,
    ),
    Item(
        "第九版防控方案解读",
        Category.POLICY,
        "密切接触者隔离管理调整为“7天集中隔离+3天居家健康监测”，入境人员隔离期同步调整。",
        "<h2>主要变化</h2>"
        + "<table><thead><tr><th>人群</th><th>第八版</th><th>第九版</th></tr></thead><tbody>"
        + "<tr><td>密切接触者</td><td>14天集中隔离+7天居家健康监测</td><td>7天集中隔离+3天居家健康监测</td></tr>"
        + "<tr><td>密接的密接</td><td>7天集中隔离</td><td>7天居家隔离</td></tr>"
        + "<tr><td>入境人员</td><td>14天集中隔离+7天居家健康监测</td><td>7天集中隔离+3天居家健康监测</td></tr>"
        + "</tbody></table>"
        + _p("风险区域划分为高、中、低三类，高风险区连续7天无新增感染者降为中风险区。")
        + _p('<a href="http://www.nhc.gov.cn/">国家卫生健康委员会网站</a>可查阅方案全文。'),
        ago=5 * D,
    ),
    Item(
        "关于进一步优化疫情防控措施的通知",
        Category.POLICY,
        "进一步优化核酸检测、隔离管控和重点场所查验措施，保障群众正常生产生活。",
        _p("为科学精准做好疫情防控工作，现将有关措施通知如下：")
        + "<ol><li>不再按行政区域开展全员核酸检测，按需检测；</li>"
        + "<li>进入养老院、福利院、医疗机构等特殊场所查验核酸阴性证明；</li>"
        + "<li>其他公共场所不再查验核酸阴性证明和健康码。</li></ol>",
        ago=6 * D,
    ),
    Item(
        "抗原自测操作指引",
        Category.GUIDANCE,
        "抗原自测阳性请及时上报社区并进行核酸检测复核。",
        "<h2>操作步骤</h2>"
        + "<ol><li>洗手后拆开试剂盒，检查有效期；</li><li>用鼻拭子在两侧鼻腔各旋转采样至少4圈；</li>"
        + "<li>将拭子浸入采样管，挤压旋转10次以上；</li><li>滴加3滴于检测卡加样孔，15至20分钟读取结果。</li></ol>"
        + _p("<strong>结果阳性：</strong>请立即报告所在社区，由社区安排核酸检测复核。"),
        ago=8 * D,
    ),
    Item(
        "秋冬季疫情防控健康提示",
        Category.GUIDANCE,
        "坚持戴口罩、勤洗手、常通风、少聚集，出现发热等症状及时就医。",
        _ul(
            "在密闭场所和人员密集场所规范佩戴口罩；",
            "勤洗手、常通风，保持一米以上社交距离；",
            "出现发热、咳嗽等症状，及时到发热门诊就诊，就医途中全程佩戴口罩；",
            "符合条件的居民尽快接种疫苗和加强针。",
        ),
        ago=10 * D,
    ),
    Item(
        "关于暂停部分公共场所营业的公告",
        Category.POLICY,
        "本街道部分室内公共场所暂停营业，恢复时间另行通知。",
        _p(
            "根据疫情防控需要，即日起本街道辖区内的棋牌室、网吧、KTV、室内健身场所暂停营业，恢复时间另行通知。"
        )
        + _p("超市、农贸市场、药店正常营业，进入时请扫场所码、佩戴口罩。"),
        ago=20 * H,
        street=True,
    ),
    Item(
        "明日开展第二轮区域核酸检测的预告",
        Category.TESTING,
        "明日8:00起开展第二轮区域核酸检测，请居民合理安排时间。",
        _p("为巩固防控成效，明日8:00至18:00开展第二轮区域核酸检测，采样点设置与今日相同。")
        + _p("请居民错峰前往，避免聚集。"),
        state="scheduled",
    ),
    Item(
        "国庆假期疫情防控提示",
        Category.GUIDANCE,
        "假期出行请关注目的地疫情形势，返程后主动报备。",
        _p(
            "国庆假期将至，请广大居民非必要不前往中高风险地区所在县（市、区），返程后主动向社区报备并完成核酸检测。"
        ),
        ago=20 * D,
        state="expired",
    ),
    Item(
        "第三剂次加强针接种点名单更新",
        Category.VACCINATION,
        "新增两个加强针接种点，开放时间为每日8:30至16:30。",
        _p("新增接种点：区人民医院门诊楼一楼、开发区社区卫生服务中心。开放时间为每日8:30至16:30。"),
        state="review",
    ),
    Item(
        "关于冬季流感与新冠叠加流行的防控建议",
        Category.GUIDANCE,
        "",
        _p("（草稿）冬季流感高发，建议老年人和慢性病患者同时接种流感疫苗和新冠疫苗加强针。"),
        state="draft",
    ),
)


def _sampling_points_xlsx() -> bytes:
    """The district's sampling points as a spreadsheet, the way the testing office would attach them."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "采样点"
    sheet.append(["采样点", "地址", "开放时间"])
    for point in SamplingPoint.objects.filter(active=True).order_by("name")[:200]:
        sheet.append([point.name, point.address, point.opening_hours or "8:00-18:00"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _tomorrow_at_eight(anchor: dt.datetime) -> dt.datetime:
    day = timezone.localdate(anchor) + D
    return timezone.make_aware(dt.datetime.combine(day, dt.time(8, 0)))


@demo_step("publicity")
def load_announcements(ctx: DemoContext) -> None:
    editor, admin = ctx.users["publicity"], ctx.users["admin"]
    anchor = ctx.anchor
    streets = sorted((u for u in ctx.units.values() if u.level == OrgLevel.STREET), key=lambda u: u.code)
    first_street: list[OrgUnit] = streets[:1]
    for item in ITEMS:
        written = anchor - (item.ago or dt.timedelta()) - 2 * H
        data = AnnouncementInput(
            title=item.title,
            category=item.category,
            body_html=item.body,
            summary=item.summary,
            audience=first_street if item.street else [],
            pinned=item.pinned,
            push=item.push,
        )
        if item.state == "scheduled":
            data.publish_at = _tomorrow_at_eight(anchor)
        if item.state == "expired":
            data.expires_at = anchor - 10 * D
        made = service.announcement_create(actor=editor, data=data, now=written)
        if "sampling_points" in item.files:
            service.attachment_add(
                actor=editor, announcement=made, name="核酸采样点名单.xlsx", data=_sampling_points_xlsx()
            )
        if item.state == "draft":
            continue
        service.announcement_submit(actor=editor, announcement=made, now=written + H)
        if item.state == "review":
            continue
        at = anchor - item.ago if item.ago is not None else anchor
        service.announcement_approve(actor=admin, announcement=made, now=at)
