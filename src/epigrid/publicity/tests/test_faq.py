"""The FAQ: services (sanitising, validation, permissions and area, publishing, order, the search passage kept
in step) and the staff pages per role; the consultation page shows published entries only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows
from epigrid.publicity.models import Category, Faq, SearchPassage
from epigrid.publicity.services import faq as services
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(users):
    return users["publicity_editor"]


# --- services ---------------------------------------------------------------------------------------------------


def test_an_answer_is_sanitised_and_becomes_a_passage(jurisdiction, editor):
    entry = services.faq_create(
        actor=editor,
        question="  黄码怎么   转绿码？ ",
        answer='<p onclick="steal()">做核酸</p><script>alert(1)</script><a href="javascript:alert(1)">申诉</a>',
        category=Category.POLICY,
    )
    assert entry.question == "黄码怎么 转绿码？"
    assert "onclick" not in entry.answer_html and "<script" not in entry.answer_html
    assert "javascript:" not in entry.answer_html and "申诉" in entry.answer_html
    assert entry.org_code == jurisdiction.district.code
    passage = SearchPassage.objects.get(faq=entry)
    assert passage.heading == entry.question and "做核酸" in passage.text and "alert" not in passage.text
    assert AuditEntry.objects.filter(action="faq.create", object_id=str(entry.pk)).exists()


def test_plain_text_answers_become_paragraphs(jurisdiction):
    entry = services.faq_create(
        actor=None, question="问题", answer="第一段<第一行>\n第二行\n\n第二段", category=Category.GUIDANCE
    )
    assert entry.answer_html == "<p>第一段&lt;第一行&gt;<br>第二行</p><p>第二段</p>"


@pytest.mark.parametrize(
    ("question", "answer", "category", "field"),
    [
        ("   ", "答案", Category.POLICY, "question"),
        ("问" * 301, "答案", Category.POLICY, "question"),
        ("问题", "答案", "weather", "category"),
        ("问题", "<script>alert(1)</script>", Category.POLICY, "answer"),
        ("问题", "答" * 10_001, Category.POLICY, "answer"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_stored(jurisdiction, question, answer, category, field):
    with pytest.raises(DomainError) as refused:
        services.faq_create(actor=None, question=question, answer=answer, category=category)
    assert refused.value.field == field
    assert not Faq.objects.exists() and not SearchPassage.objects.exists()


def test_only_editors_of_the_entrys_unit_change_it(jurisdiction, users):
    entry = factories.faq()
    with pytest.raises(Forbidden):
        services.faq_create(actor=users["grid_worker"], question="问", answer="答", category=Category.POLICY)
    grid_editor = factories.editor(jurisdiction.grid_a)
    with pytest.raises(Forbidden):
        services.faq_unpublish(actor=grid_editor, faq=entry)  # a district entry, outside the grid
    assert Faq.objects.get(pk=entry.pk).published


def test_publishing_toggles_the_passage_and_repeats_change_nothing(jurisdiction, editor):
    entry = factories.faq()
    services.faq_unpublish(actor=editor, faq=entry)
    assert not SearchPassage.objects.filter(faq=entry).exists()
    before = AuditEntry.objects.count()
    services.faq_unpublish(actor=editor, faq=entry)
    assert AuditEntry.objects.count() == before
    services.faq_publish(actor=editor, faq=entry)
    assert SearchPassage.objects.filter(faq=entry).count() == 1


def test_an_unpublished_new_entry_has_no_passage(jurisdiction):
    entry = factories.faq(published=False)
    assert not entry.published and not SearchPassage.objects.filter(faq=entry).exists()


def test_an_edit_rewrites_the_passage_and_moving_category_puts_it_last(jurisdiction, editor):
    first = factories.faq(question="一", category=Category.POLICY)
    factories.faq(question="二", category=Category.TESTING)
    services.faq_update(
        actor=editor, faq=first, question="一改", answer="新的回答", category=Category.TESTING
    )
    assert SearchPassage.objects.get(faq=first).text == "新的回答"
    order = list(
        Faq.objects.filter(category=Category.TESTING).order_by("position").values_list("question", flat=True)
    )
    assert order == ["二", "一改"]


def test_reorder_and_move(jurisdiction, editor):
    a, b, c = (factories.faq(question=q, category=Category.VACCINATION) for q in "甲乙丙")

    def order():
        return list(
            Faq.objects.filter(category=Category.VACCINATION)
            .order_by("position")
            .values_list("pk", flat=True)
        )

    services.faq_reorder(actor=editor, category=Category.VACCINATION, faq_ids=[c.pk, a.pk])
    assert order() == [c.pk, a.pk, b.pk]
    services.faq_move(actor=editor, faq=b, up=True)
    assert order() == [c.pk, b.pk, a.pk]
    services.faq_move(actor=editor, faq=c, up=True)  # already first: stays
    assert order() == [c.pk, b.pk, a.pk]
    other = factories.faq(question="别类", category=Category.POLICY)
    with pytest.raises(DomainError):
        services.faq_reorder(actor=editor, category=Category.VACCINATION, faq_ids=[other.pk])
    assert order() == [c.pk, b.pk, a.pk]


# --- pages ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_faq_page_is_for_editors(role, users, login_client, jurisdiction):
    factories.faq(question="核酸检测多久做一次？")
    response = login_client(users[role]).get(reverse("publicity:faq"))
    if may(role, Perm.PUBLICITY_EDIT):
        assert response.status_code == 200
        assert "核酸检测多久做一次？" in response.content.decode()
    else:
        assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, jurisdiction):
    response = client.get(reverse("publicity:faq"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_new_entry_from_the_form(users, login_client, jurisdiction):
    client = login_client(users["publicity_editor"])
    assert client.get(reverse("publicity:faq_new")).status_code == 200
    response = client.post(
        reverse("publicity:faq_new"),
        {
            "question": "加强针和第二针间隔多久？",
            "category": Category.VACCINATION,
            "answer": "满3个月。",
            "published": "on",
        },
    )
    entry = Faq.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"#faq-{entry.pk}")
    assert entry.published and entry.answer_html == "<p>满3个月。</p>"


def test_a_refused_entry_shows_why(users, login_client, jurisdiction):
    client = login_client(users["publicity_editor"])
    response = client.post(
        reverse("publicity:faq_new"),
        {"question": "问题", "category": Category.VACCINATION, "answer": "<script>x()</script>"},
    )
    assert response.status_code == 400
    assert shows(response.content.decode(), "Write the answer.")
    assert not Faq.objects.exists()


def test_edit_and_the_list_buttons(users, login_client, jurisdiction):
    client = login_client(users["publicity_editor"])
    a = factories.faq(question="甲", category=Category.GUIDANCE)
    b = factories.faq(question="乙", category=Category.GUIDANCE)
    page = client.get(reverse("publicity:faq_edit", args=[a.pk]))
    assert page.status_code == 200 and 'data-testid="faq-preview"' in page.content.decode()
    client.post(
        reverse("publicity:faq_edit", args=[a.pk]),
        {"question": "甲改", "category": Category.GUIDANCE, "answer": "新答案"},  # "published" unticked
    )
    a.refresh_from_db()
    assert (a.question, a.published) == ("甲改", False)
    client.post(reverse("publicity:faq_act", args=[a.pk]), {"action": "publish"})
    client.post(reverse("publicity:faq_act", args=[b.pk]), {"action": "up"})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.published and b.position < a.position


def test_another_units_entry_is_a_404(login_client, jurisdiction):
    entry = factories.faq()
    grid_editor = factories.editor(jurisdiction.grid_a)
    client = login_client(grid_editor)
    assert client.get(reverse("publicity:faq_edit", args=[entry.pk])).status_code == 404
    assert (
        client.post(reverse("publicity:faq_act", args=[entry.pk]), {"action": "unpublish"}).status_code == 404
    )
    assert Faq.objects.get(pk=entry.pk).published


def test_the_consultation_page_shows_published_entries_by_category(client, jurisdiction):
    shown = factories.faq(question="核酸检测多久做一次？", category=Category.TESTING)
    hidden = factories.faq(question="尚未发布的问题", published=False)
    html = client.get(reverse("announcements:ask")).content.decode()
    assert f'id="faq-{shown.pk}"' in html and "核酸检测多久做一次？" in html
    assert f'id="faq-{hidden.pk}"' not in html and "尚未发布的问题" not in html
    assert shows(html, "Testing notice")
