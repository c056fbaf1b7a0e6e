"""The policy search: Chinese segmentation, passages, BM25 ranking over the demo FAQ and two policies, what
may never be answered (expired, withdrawn, scheduled, targeted elsewhere), snippets and empty queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.publicity import search
from epigrid.publicity.models import Category, SearchPassage
from epigrid.publicity.services import announcements as announcement_services
from epigrid.publicity.services import faq as faq_services
from epigrid.publicity.tests import factories
from epigrid.simulation.faq_demo import FAQ

pytestmark = pytest.mark.django_db

POLICY_TITLE = "关于进一步做好常态化疫情防控工作的通告"
POLICY_BODY = (
    "<p>为巩固疫情防控成果，根据《新型冠状病毒肺炎防控方案（第九版）》，现将我区常态化疫情防控有关事项通告如下。</p>"
    "<h2>一、常态化核酸检测</h2>"
    "<p>全区设置常态化核酸采样点42处，每日8:00至20:00开放。医务人员、隔离场所工作人员、快递外卖人员等重点人群"
    "每天开展一次核酸检测，其他居民按社区通知参加区域核酸检测。进入医疗机构、养老机构须查验48小时核酸检测阴性证明。</p>"
    "<h2>二、密切接触者和次密切接触者管理</h2>"
    "<p>密切接触者实行7天集中隔离医学观察加3天居家健康监测，集中隔离期间第1、2、3、5、7天各开展一次核酸检测；"
    "次密切接触者实行7天居家隔离医学观察，第1、4、7天各开展一次核酸检测。</p>"
    "<p>隔离期满且核酸检测阴性的，由隔离点出具解除隔离告知书。</p>"
    "<h2>三、来烟返烟人员管理</h2>"
    "<p>外地来烟返烟人员须提前3天通过“报告行程”向目的地社区报备，抵达后24小时内在任一常态化采样点完成落地检，"
    "3天内完成两次核酸检测。来自中风险地区的实行7天居家隔离医学观察，来自高风险地区的实行7天集中隔离医学观察。</p>"
    "<h2>四、疫苗接种</h2>"
    "<p>倡导符合条件的居民应接尽接。完成全程接种满3个月的18岁以上人员可接种一剂加强针，60岁以上老年人优先接种。</p>"
)
VACCINE_TITLE = "新冠病毒疫苗加强免疫接种工作安排"
VACCINE_BODY = (
    "<p>为进一步提高人群免疫水平，我区自即日起在各社区卫生服务中心开展新冠病毒疫苗加强免疫接种。</p>"
    "<h3>接种对象和间隔</h3>"
    "<p>18岁以上、完成新冠病毒疫苗全程接种满3个月（90天）的人员可接种一剂加强针。"
    "加强免疫可选择同源加强，也可选择序贯加强。</p>"
    "<h3>接种地点和时间</h3>"
    "<p>各社区卫生服务中心接种门诊，周一至周五8:00-11:30、13:30-17:00，周六上午。"
    "请通过“我的接种”预约后前往，携带身份证。</p>"
    "<h3>注意事项</h3>"
    "<p>接种后留观30分钟。正在发热、患急性疾病或处于慢性病急性发作期的人员暂缓接种。</p>"
)


@pytest.fixture
def policies(jurisdiction, django_capture_on_commit_callbacks):
    """The two policies, approved and public (their passages built by the handlers, as in production)."""
    with django_capture_on_commit_callbacks(execute=True):
        policy = factories.approved(
            None, None, title=POLICY_TITLE, category=Category.POLICY, body=POLICY_BODY
        )
        vaccine = factories.approved(
            None, None, title=VACCINE_TITLE, category=Category.VACCINATION, body=VACCINE_BODY
        )
    return policy, vaccine


@pytest.fixture
def faqs(jurisdiction):
    """The demo's FAQ, by question."""
    return {
        question: faq_services.faq_create(actor=None, question=question, answer=answer, category=category)
        for category, question, answer in FAQ
    }


def first(query: str, **kwargs) -> search.Hit:
    result = search.search(query, **kwargs)
    assert result.hits, f"nothing for {query!r}: {result.message}"
    return result.hits[0]


# --- words ------------------------------------------------------------------------------------------------------

DOMAIN = ["核酸检测", "加强针", "密接", "次密接", "居家隔离", "集中隔离", "健康码", "黄码", "红码", "行程卡"]
DOMAIN += ["风险地区", "抗原检测", "混检", "单管", "医学观察"]


@pytest.mark.parametrize("term", DOMAIN)
def test_segmentation_keeps_domain_terms_whole(term):
    assert term in search.tokens(f"请问关于{term}的规定是什么")


def test_a_secondary_contact_is_one_word_and_still_finds_close_contacts():
    words = search.tokens("次密接要居家隔离吗")
    assert "次密接" in words and "居家隔离" in words
    assert "次" not in words  # not cut into 次 + 密接
    assert "密接" in words  # search mode: the known part too


def test_text_is_normalised_and_function_words_and_punctuation_dropped():
    words = search.tokens("ＣＯＶＩＤ－１９核酸检测，１４天！")
    assert {"covid", "19", "14", "核酸检测"} <= set(words)
    assert not {"，", "！", "－"} & set(words)
    assert search.tokens("的了吗？！。……") == []
    assert search.tokens("   ") == []


def test_an_announcement_is_cut_into_passages_under_their_headings():
    passages = search.split_passages(POLICY_TITLE, POLICY_BODY)
    headings = [heading for heading, _text in passages]
    assert headings == [
        POLICY_TITLE,
        "一、常态化核酸检测",
        "二、密切接触者和次密切接触者管理",
        "三、来烟返烟人员管理",
        "四、疫苗接种",
    ]
    contacts = dict(passages)["二、密切接触者和次密切接触者管理"]
    assert "解除隔离告知书" in contacts  # a short paragraph joins the one before it under the same heading
    assert all(len(text) <= search.PASSAGE_MAX for _h, text in passages)


def test_a_long_paragraph_is_cut_after_sentences():
    sentence = "居家隔离期间每天早晚各测量一次体温并如实报告社区工作人员。"  # 30 characters
    passages = search.split_passages("标题", f"<p>{sentence * 25}</p>")
    assert len(passages) >= 3
    assert all(len(text) <= search.PASSAGE_MAX for _h, text in passages)
    assert all(text.endswith("。") for _h, text in passages)
    assert "".join(text for _h, text in passages) == sentence * 25


# --- ranking ----------------------------------------------------------------------------------------------------

FAQ_ANSWERS = [
    ("加强针间隔多久", "加强针和第二针间隔多久？"),
    ("黄码怎么变绿码", "黄码怎么转绿码？"),
    ("密接要隔离几天", "被判定为密接要隔离几天？"),
    ("抗原自测阳性了怎么办", "抗原自测阳性怎么办？"),
    ("从外地来烟台要不要报备", "外地来烟需要报备吗？"),
    ("居家隔离的时候能出门买菜吗", "居家隔离期间能否外出？"),
    ("哪些人不能打新冠疫苗", "新冠疫苗接种禁忌有哪些？"),
    ("混管阳性是不是我感染了", "什么是混检？混管阳性怎么办？"),
    ("密接和次密接区别", "密接和次密接有什么区别？"),
    ("核酸结果什么时候出来", "核酸检测结果多久能查到？"),
]


@pytest.mark.parametrize(("question", "expected"), FAQ_ANSWERS)
def test_the_right_faq_entry_answers_first(faqs, policies, question, expected):
    hit = first(question)
    assert (hit.source, hit.title) == ("faq", expected)
    assert hit.source_id == faqs[expected].pk
    assert hit.url.endswith(f"#faq-{faqs[expected].pk}")


POLICY_ANSWERS = [
    ("密接要隔离几天", POLICY_TITLE, "二、密切接触者和次密切接触者管理"),
    ("加强针间隔多久", VACCINE_TITLE, "接种对象和间隔"),
    ("落地检在哪里做", POLICY_TITLE, "三、来烟返烟人员管理"),
    ("疫苗接种点周六开门吗", VACCINE_TITLE, "接种地点和时间"),
    ("养老院探视要核酸证明吗", POLICY_TITLE, "一、常态化核酸检测"),
]


@pytest.mark.parametrize(("question", "title", "heading"), POLICY_ANSWERS)
def test_the_right_policy_passage_answers_first(policies, question, title, heading):
    hit = first(question)
    assert (hit.source, hit.title, hit.heading) == ("announcement", title, heading)


def test_scores_fall_and_a_faq_question_match_is_boosted(faqs, policies):
    hits = search.search("加强针间隔多久", limit=5).hits
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert len(hits) >= 2
    # The policy's passage on the same interval follows the FAQ entry, below it only because of the boost.
    vaccine_passage = next(h for h in hits if h.heading == "接种对象和间隔")
    assert hits[0].source == "faq" and vaccine_passage.score < hits[0].score


def test_limit_caps_the_answers(faqs, policies):
    assert len(search.search("核酸检测", limit=3).hits) == 3
    assert len(search.search("核酸检测", limit=5).hits) == 5


# --- what may never be answered -----------------------------------------------------------------------------


UNIQUE_BODY = "<p>海鲜市场临时封闭期间，商户须完成全员核酸检测，市场内冷链食品一律暂停销售。</p>"


def test_an_expired_announcement_is_never_answered(jurisdiction, django_capture_on_commit_callbacks):
    past = timezone.now() - dt.timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        expired = factories.approved(
            None,
            None,
            title="海鲜市场临时封闭",
            body=UNIQUE_BODY,
            now=past,
            expires_at=past + dt.timedelta(days=9),
        )
    assert SearchPassage.objects.filter(announcement=expired).exists()  # filtered at query time, not by a job
    result = search.search("海鲜市场冷链食品")
    assert result.hits == []
    assert result.message


def test_a_withdrawn_announcement_is_never_answered(jurisdiction, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        made = factories.approved(None, None, title="海鲜市场临时封闭", body=UNIQUE_BODY)
    assert first("海鲜市场冷链食品").source_id == made.pk
    with django_capture_on_commit_callbacks(execute=True):
        announcement_services.announcement_withdraw(actor=None, announcement=made)
    assert not SearchPassage.objects.filter(announcement=made).exists()
    assert search.search("海鲜市场冷链食品").hits == []


def test_an_edited_announcement_leaves_the_search_until_approved_again(
    jurisdiction, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        made = factories.approved(None, None, title="海鲜市场临时封闭", body=UNIQUE_BODY)
    assert first("海鲜市场冷链食品").source_id == made.pk
    with django_capture_on_commit_callbacks(execute=True):
        data = announcement_services.AnnouncementInput(
            title="水产市场临时封闭",
            category=made.category,
            body_html=UNIQUE_BODY.replace("海鲜市场", "水产市场"),
        )
        announcement_services.announcement_update(actor=None, announcement=made, data=data)
    assert search.search("水产市场冷链食品").hits == []  # back to draft: not public
    with django_capture_on_commit_callbacks(execute=True):
        announcement_services.announcement_submit(actor=None, announcement=made)
        announcement_services.announcement_approve(actor=None, announcement=made)
    assert first("水产市场冷链食品").source_id == made.pk
    assert search.search("海鲜").hits == []  # the old wording is gone from the index


def test_a_scheduled_announcement_is_answered_only_from_its_publication_time(
    jurisdiction, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        factories.approved(
            None,
            None,
            title="海鲜市场临时封闭",
            body=UNIQUE_BODY,
            publish_at=timezone.now() + dt.timedelta(hours=2),
        )
    assert search.search("海鲜市场冷链食品").hits == []


def test_a_targeted_announcement_is_answered_only_to_its_audience(
    jurisdiction, users, person_b, django_capture_on_commit_callbacks
):
    from epigrid.core.tests.factories import UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        made = factories.approved(
            None, None, title="海鲜市场临时封闭", body=UNIQUE_BODY, audience=[jurisdiction.grid_a]
        )
    assert search.search("海鲜市场冷链食品").hits == []  # the public
    assert first("海鲜市场冷链食品", viewer=users["resident"]).source_id == made.pk  # lives in grid A
    neighbour = UserFactory(role="resident", person=person_b)  # lives in grid B
    assert search.search("海鲜市场冷链食品", viewer=neighbour).hits == []


def test_an_unpublished_faq_entry_is_not_answered_and_an_edit_is_seen_at_once(faqs):
    entry = faqs["黄码怎么转绿码？"]
    assert first("黄码怎么变绿码").source_id == entry.pk
    faq_services.faq_unpublish(actor=None, faq=entry)
    assert all(hit.source_id != entry.pk for hit in search.search("黄码怎么变绿码").hits)
    faq_services.faq_publish(actor=None, faq=entry)
    faq_services.faq_update(
        actor=None,
        faq=entry,
        question="黄码怎么转绿码？",
        answer="请到发热门诊旁的便民采样亭复检。",
        category=entry.category,
    )
    hit = first("便民采样亭")
    assert hit.source_id == entry.pk and "便民采样亭" in hit.snippet


# --- queries that cannot be answered ------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "？？！！", "的了吗", "xyzzy plugh 98765"])
def test_empty_or_garbage_queries_answer_nothing_with_a_message(faqs, policies, query):
    result = search.search(query)
    assert result.hits == []
    assert str(result.message)


def test_a_query_sharing_only_a_common_word_is_not_answered(faqs, policies):
    # "检测" alone is a small part of this question's weight: no passage is about the rest of it.
    assert search.search("汽车尾气检测站周末上班吗").hits == []


# --- snippets ---------------------------------------------------------------------------------------------------


def test_snippets_mark_the_matched_words_and_escape_the_text(jurisdiction):
    faq_services.faq_create(
        actor=None,
        question="发烧能打加强针吗？",
        answer="<p>体温 &lt;37.3℃ 且无急性症状的，可以接种加强针。<b>onclick</b></p>",
        category=Category.VACCINATION,
    )
    hit = first("发烧能打加强针吗")
    assert "<mark>加强针</mark>" in hit.snippet_html
    assert "&lt;37.3℃" in hit.snippet_html and "<37" not in hit.snippet_html
    assert "<b>" not in hit.snippet_html and "<mark>" not in hit.snippet
    assert "<mark>加强针</mark>" in hit.heading_html


def test_a_long_passage_shows_the_stretch_with_the_matched_words():
    text = "前文" * 100 + "接种加强针需要满三个月" + "后文" * 100
    marked, plain = search.highlight(text, ["加强针"])
    assert "<mark>加强针</mark>" in marked
    assert plain.startswith("…") and plain.endswith("…")
    assert len(plain) <= search.SNIPPET_CHARS + 2


def test_an_alias_finds_and_marks_the_policy_spelling(policies):
    # Residents say 密接; the policy writes 密切接触者: both are one token, and the snippet marks the spelling.
    hit = first("密接要隔离几天")
    assert "<mark>密切接触者</mark>" in hit.snippet_html
    assert search.tokens("密切接触者")[0] == search.tokens("密接")[0] == "密接"
