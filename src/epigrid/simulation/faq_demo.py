"""Demo step ``faq`` (after the announcements): the policy consultation's FAQ, a few hotline questions and the
search passages of every published announcement.

The FAQ is what a district's hotline is asked most in a testing and quarantine period — how often to test,
how a yellow code turns green, close vs secondary contacts, leaving the flat in home quarantine, the booster
interval, reporting an arrival in Yantai, a positive antigen self-test, who should not be vaccinated — in
the words of the 9th edition of the national prevention and control plan. Entries go in through
``faq_create`` as the ``publicity`` account. Then residents ask the hotline (``ticket_ask``): resident1's
question is answered by the publicity editor (the answer is in resident1's inbox), resident2's waits. Last,
``passages_rebuild_for`` for every announcement, so the search answers from what the announcements step
published (its handlers are not called for announcements made before this step's handlers existed).
"""

from __future__ import annotations

import uuid

from epigrid.publicity.models import Announcement, Category
from epigrid.publicity.search import passages_rebuild_for
from epigrid.publicity.services import faq as faq_services
from epigrid.publicity.services import tickets
from epigrid.simulation import publicity_demo  # noqa: F401 - the announcements step runs first
from epigrid.simulation.district import DemoContext, demo_step

# (category, question, answer) — paragraphs separated by blank lines.
FAQ: tuple[tuple[str, str, str], ...] = (
    (
        Category.TESTING,
        "核酸检测多久做一次？",
        "常态化防控期间，医务人员、隔离场所和口岸工作人员、快递外卖等重点人群按行业要求每天或每周两次核酸检测；"
        "其他居民按社区通知参加区域核酸检测，无需天天检测。\n\n"
        "进入医院、养老机构等场所需查验48小时核酸检测阴性证明；出现发热、咳嗽等症状时请及时到发热门诊就诊并检测。",
    ),
    (
        Category.TESTING,
        "在哪里做核酸检测？费用是多少？",
        "各街道均设有常态化核酸采样点，开放时间和位置见“公告”中的检测通知。"
        "区域核酸检测免费；个人自愿检测的，单人单管每人次16元，混检每人次3.5元。",
    ),
    (
        Category.TESTING,
        "核酸检测结果多久能查到？",
        "一般在采样后12至24小时内出结果。登录后在“我的检测结果”中查询；结果回传后健康码同步更新。"
        "超过24小时仍未出结果的，请联系采样点或拨打热线。",
    ),
    (
        Category.TESTING,
        "什么是混检？混管阳性怎么办？",
        "混检是将10个人的样本放入同一采样管（十混一）检测，节约时间和试剂。\n\n"
        "混管结果阳性不等于本人阳性。工作人员会通知同管人员原地等待、做好防护，并上门进行单管复核；"
        "复核结果出来之前请不要外出。",
    ),
    (
        Category.TESTING,
        "抗原自测阳性怎么办？",
        "抗原检测阳性时请不要外出，立即向所在社区或热线报告，由社区安排工作人员上门进行单管核酸检测。"
        "等待结果期间佩戴口罩，与家人分室居住，不要自行前往医院或乘坐公共交通工具。",
    ),
    (
        Category.TESTING,
        "做核酸需要带什么？",
        "请携带身份证（老人和儿童可由家人携带户口本），排队时保持1米间距、全程佩戴口罩。"
        "在采样点出示个人健康码即可登记，无需重复填写信息。",
    ),
    (
        Category.POLICY,
        "黄码怎么转绿码？",
        "健康码转为黄码，通常是因为超过规定时间未做核酸检测、近期来自中风险地区，或与风险人员存在时空交集。\n\n"
        "按要求完成核酸检测且结果为阴性后，黄码会在结果回传后自动转为绿码；来自风险地区的，"
        "完成规定天数的健康监测和核酸检测后转绿。对赋码有异议的，可在“我的健康码”页面提出申诉。",
    ),
    (
        Category.POLICY,
        "红码是什么意思？变成红码怎么办？",
        "红码表示确诊病例、无症状感染者、密切接触者或来自高风险地区的人员。"
        "变成红码请立即原地等待，不要进入公共场所，配合社区开展核酸检测和隔离管控；"
        "管控期满、核酸检测均为阴性后转码。",
    ),
    (
        Category.POLICY,
        "密接和次密接有什么区别？",
        "密切接触者（密接）是病例或无症状感染者发病前2天（或首次核酸阳性采样前2天）起，"
        "与其有近距离接触但未采取有效防护的人员。\n\n"
        "次密切接触者（次密接）是密接与病例最后一次接触后，与密接有近距离接触的人员。"
        "两者管理措施不同：密接集中隔离，次密接居家隔离。",
    ),
    (
        Category.POLICY,
        "被判定为密接要隔离几天？",
        "按照第九版防控方案，密切接触者实行“7天集中隔离医学观察+3天居家健康监测”，"
        "集中隔离第1、2、3、5、7天各做一次核酸检测，居家健康监测第3天再做一次。\n\n"
        "次密切接触者实行7天居家隔离医学观察，第1、4、7天各做一次核酸检测。",
    ),
    (
        Category.POLICY,
        "居家隔离期间能否外出？",
        "居家隔离医学观察期间不得外出，也不得接待访客。社区会在门口安装门磁或张贴封条，"
        "生活物资由社区工作人员代购配送，垃圾由专人上门收集。\n\n"
        "确需外出就医的，请先向社区报告，由社区安排专车闭环转运，不得自行前往。",
    ),
    (
        Category.POLICY,
        "居家健康监测和居家隔离有什么不同？",
        "居家健康监测期间可以在家中正常生活，每天早晚各测一次体温，非必要不外出；"
        "确需外出的，不乘坐公共交通工具、不去人员密集场所，全程佩戴口罩。居家隔离期间则不得外出。",
    ),
    (
        Category.POLICY,
        "隔离期满后如何解除隔离？",
        "隔离期满且期间核酸检测结果均为阴性的，由隔离点或社区出具解除隔离告知书，健康码随之转为绿码。"
        "隔离期间出现发热、咳嗽等症状的，由医务人员评估后另行处置。",
    ),
    (
        Category.RISK_AREAS,
        "外地来烟需要报备吗？",
        "需要。所有外地来烟返烟人员请提前3天通过“报告行程”向目的地社区报备，"
        "抵达后24小时内完成一次核酸检测（落地检），3天内完成两次核酸检测。\n\n"
        "来自中高风险地区的人员，还需按风险等级落实居家隔离或健康监测措施。",
    ),
    (
        Category.RISK_AREAS,
        "从中风险地区回来要怎么做？",
        "从中风险地区返回的人员，抵达后立即向社区报备，实行7天居家隔离医学观察，第1、4、7天各做一次核酸检测。"
        "高风险地区返回人员实行7天集中隔离医学观察。",
    ),
    (
        Category.RISK_AREAS,
        "在哪里查询风险地区名单？",
        "风险地区名单以国务院客户端“疫情风险等级查询”公布为准；本平台“公告”的风险地区栏目每日更新本区提示。",
    ),
    (
        Category.VACCINATION,
        "加强针和第二针间隔多久？",
        "18岁以上、完成新冠疫苗全程接种满3个月（90天）的人员，可以接种一剂加强针。\n\n"
        "加强针可以选择同源加强（原疫苗），也可以选择序贯加强（不同技术路线的疫苗），按接种点现场提供的疫苗接种。",
    ),
    (
        Category.VACCINATION,
        "新冠疫苗接种禁忌有哪些？",
        "对疫苗成分过敏、以前接种同类疫苗出现严重过敏反应的人不能接种；"
        "患未控制的癫痫等严重神经系统疾病的人不能接种。\n\n"
        "正在发热、患急性疾病或慢性病急性发作期的人以及妊娠期妇女应暂缓接种。"
        "慢性病病情稳定的可以接种，接种前请如实告知医生健康状况。",
    ),
    (
        Category.VACCINATION,
        "怎么预约接种新冠疫苗？",
        "登录后在“我的接种”中选择“预约接种”，依次选择疫苗、接种点和时段；预约成功后会显示预约码。"
        "接种当天请携带身份证，提前10分钟到达，凭预约码登记。",
    ),
    (
        Category.VACCINATION,
        "在外地接种的疫苗怎么登记？",
        "在“我的接种”中选择“报告在外地接种”，填写接种日期、疫苗和接种单位，并上传接种凭证照片。"
        "工作人员审核通过后计入本人接种记录。",
    ),
    (
        Category.VACCINATION,
        "接种疫苗后出现不良反应怎么办？",
        "接种后请在接种点留观30分钟。接种部位红肿、低热一般在两三天内自行消退；"
        "体温超过38.5℃或症状持续的，请及时就医并告知接种点。",
    ),
    (
        Category.GUIDANCE,
        "出现发热症状怎么办？",
        "出现发热、干咳、乏力等症状时，请佩戴N95口罩及时到就近的发热门诊就诊，途中避免乘坐公共交通工具，"
        "不要自行服用退烧药后隐瞒症状。",
    ),
    (
        Category.GUIDANCE,
        "进入超市、商场要扫码吗？",
        "需要。进入超市、商场、餐馆等公共场所时，请用手机扫描门口张贴的场所码登记，"
        "没有智能手机的老人可由工作人员代为登记。",
    ),
    (
        Category.GUIDANCE,
        "集中隔离的费用由谁承担？",
        "密切接触者等需要集中隔离医学观察的人员，隔离期间的食宿和核酸检测费用由政府承担。"
        "因个人原因申请到指定酒店隔离的，按酒店标准自行承担费用。",
    ),
    (
        Category.GUIDANCE,
        "怎样正确佩戴口罩？",
        "佩戴前洗手，分清口罩内外和上下，金属条在上，完全罩住口鼻和下巴后按压鼻夹。"
        "口罩潮湿、污染或连续佩戴4小时后请及时更换。",
    ),
)

# (resident username, question, category, answer or "")
TICKETS = (
    (
        "resident1",
        "我父母在外地，下周来烟台住一个月，他们需要提前报备吗？落地检在哪里做？",
        Category.RISK_AREAS,
        "您好！需要提前3天在平台“报告行程”中报备，抵达后24小时内到任一常态化采样点做落地检，"
        "3天内再做一次。老人没有智能手机的，可由您代为报备。",
    ),
    ("resident2", "我已经打过三针了，现在还能打第四针吗？", Category.VACCINATION, ""),
    ("resident3", "小区里的核酸采样点周末开放吗？", Category.TESTING, ""),
)


@demo_step("faq")
def load_faq(ctx: DemoContext) -> None:
    editor = ctx.users.get("publicity")
    for category, question, answer in FAQ:
        faq_services.faq_create(actor=editor, question=question, answer=answer, category=category)
    for username, question, category, answer in TICKETS:
        asker = ctx.users.get(username)
        if asker is None or not asker.person_id:
            continue
        ticket = tickets.ticket_ask(
            actor=asker,
            question=question,
            category=category,
            client_id=str(uuid.UUID(int=ctx.rng(f"faq:{username}").getrandbits(128))),
        )
        if answer and editor is not None:
            tickets.ticket_answer(actor=editor, ticket=ticket, answer=answer)
    for announcement in Announcement.objects.all().iterator():
        passages_rebuild_for(announcement)  # only approved ones keep passages
