"""Hotline tickets: asking (residents only, limits, idempotence by client id, rate limit), answering (the
asker's inbox, in their language, with a link), closing, scope; the resident's and the staff's pages."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Notice
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows, zh
from epigrid.publicity.models import Category, HotlineTicket, TicketStatus
from epigrid.publicity.services import tickets as services
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def resident(users):
    return users["resident"]


@pytest.fixture
def editor(users):
    return users["publicity_editor"]


# --- asking -----------------------------------------------------------------------------------------------------


def test_a_resident_asks_and_the_ticket_belongs_to_their_area(resident, person_a):
    ticket = services.ticket_ask(actor=resident, question="  周末能做核酸吗？ ", category=Category.TESTING)
    assert (ticket.question, ticket.status, ticket.person_id) == (
        "周末能做核酸吗？",
        TicketStatus.OPEN,
        person_a.pk,
    )
    assert ticket.org_code == person_a.org_code


@pytest.mark.parametrize("role", ["publicity_editor", "grid_worker"])
def test_staff_do_not_ask(users, role):
    with pytest.raises(Forbidden):
        services.ticket_ask(actor=users[role], question="员工能提问吗？")


def test_anonymous_and_inactive_accounts_do_not_ask(resident):
    with pytest.raises(Forbidden):
        services.ticket_ask(actor=AnonymousUser(), question="匿名的问题")
    resident.is_active = False
    with pytest.raises(Forbidden):
        services.ticket_ask(actor=resident, question="停用账号的问题")
    assert not HotlineTicket.objects.exists()


@pytest.mark.parametrize(
    ("question", "category", "field"),
    [("问", "", "question"), ("问" * 1001, "", "question"), ("周末能做核酸吗？", "weather", "category")],
)
def test_bad_questions_are_refused(resident, question, category, field):
    with pytest.raises(DomainError) as refused:
        services.ticket_ask(actor=resident, question=question, category=category)
    assert refused.value.field == field
    assert not HotlineTicket.objects.exists()


def test_a_replay_returns_the_first_ticket_and_does_not_count(resident):
    client_id = uuid.uuid4()
    first = services.ticket_ask(actor=resident, question="周末能做核酸吗？", client_id=client_id)
    for _ in range(services.ASKS_PER_HOUR + 2):
        again = services.ticket_ask(actor=resident, question="周末能做核酸吗？", client_id=str(client_id))
        assert again.pk == first.pk
    assert HotlineTicket.objects.count() == 1
    services.ticket_ask(actor=resident, question="另一个问题呢？")  # the limit is still untouched


def test_another_accounts_client_id_is_a_conflict(resident, person_b):
    client_id = uuid.uuid4()
    services.ticket_ask(actor=resident, question="周末能做核酸吗？", client_id=client_id)
    with pytest.raises(Conflict):
        services.ticket_ask(actor=factories.resident_of(person_b), question="我的问题", client_id=client_id)


def test_the_hourly_limit_per_account(resident, person_b):
    for n in range(services.ASKS_PER_HOUR):
        services.ticket_ask(actor=resident, question=f"第{n}个问题")
    with pytest.raises(services.TooManyQuestions) as refused:
        services.ticket_ask(actor=resident, question="又一个问题")
    assert refused.value.status == 429
    assert HotlineTicket.objects.count() == services.ASKS_PER_HOUR
    services.ticket_ask(actor=factories.resident_of(person_b), question="别人的问题")  # per account
    # An hour later the earlier questions no longer count (time moved by hand: the limit reads created_at).
    HotlineTicket.objects.filter(asked_by=resident).update(
        created_at=timezone.now() - dt.timedelta(minutes=61)
    )
    services.ticket_ask(actor=resident, question="一小时后的问题")


# --- answering and closing --------------------------------------------------------------------------------------


def test_the_answer_reaches_the_askers_inbox_in_their_language(resident, editor):
    ticket = factories.ticket(resident)
    services.ticket_answer(actor=editor, ticket=ticket, answer="周末上午8点至12点开放。")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.answered_by_id) == (TicketStatus.ANSWERED, editor.pk)
    notice = Notice.objects.get(user=resident, kind="hotline_answer")
    assert notice.title == zh("The hotline answered your question")  # the account's language: zh-hans
    assert "周末上午8点至12点开放。" in notice.body
    assert notice.url == reverse("announcements:ticket", args=[ticket.pk])


def test_an_english_reader_gets_english(resident, editor):
    resident.language = "en"
    resident.save(update_fields=["language"])
    services.ticket_answer(actor=editor, ticket=factories.ticket(resident), answer="Saturday mornings.")
    assert Notice.objects.get(user=resident).title == "The hotline answered your question"


def test_the_same_answer_twice_sends_once_and_a_correction_again(resident, editor):
    ticket = factories.ticket(resident)
    services.ticket_answer(actor=editor, ticket=ticket, answer="周末开放。")
    services.ticket_answer(actor=editor, ticket=ticket, answer="周末开放。")
    assert Notice.objects.filter(user=resident).count() == 1
    services.ticket_answer(actor=editor, ticket=ticket, answer="更正：仅周六开放。")
    assert Notice.objects.filter(user=resident).count() == 2
    ticket.refresh_from_db()
    assert ticket.answer == "更正：仅周六开放。"


def test_answers_are_refused_when_empty_closed_or_out_of_place(jurisdiction, resident, editor, users):
    ticket = factories.ticket(resident)
    with pytest.raises(DomainError):
        services.ticket_answer(actor=editor, ticket=ticket, answer="   ")
    with pytest.raises(Forbidden):
        services.ticket_answer(actor=users["grid_worker"], ticket=ticket, answer="网格员不答")
    other_street = factories.editor(jurisdiction.street_b)
    with pytest.raises(Forbidden):
        services.ticket_answer(actor=other_street, ticket=ticket, answer="别的街道不答")
    services.ticket_close(actor=editor, ticket=ticket)
    with pytest.raises(Conflict):
        services.ticket_answer(actor=editor, ticket=ticket, answer="已关闭")
    assert not Notice.objects.filter(user=resident).exists()


def test_the_asker_or_staff_close_and_closing_twice_changes_nothing(resident, person_b, editor):
    ticket = factories.ticket(resident)
    with pytest.raises(Forbidden):
        services.ticket_close(actor=factories.resident_of(person_b), ticket=ticket)
    services.ticket_close(actor=resident, ticket=ticket)
    assert services.ticket_close(actor=editor, ticket=ticket).status == TicketStatus.CLOSED


# --- the resident's pages ---------------------------------------------------------------------------------------


def test_anonymous_visitors_get_a_sign_in_link_and_no_form(client, jurisdiction):
    html = client.get(reverse("announcements:ask")).content.decode()
    assert 'data-testid="hotline-login"' in html and 'data-testid="hotline-form"' not in html
    response = client.post(reverse("announcements:ask_hotline"), {"question": "匿名提问"})
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]
    assert not HotlineTicket.objects.exists()


def test_a_resident_asks_from_the_page_and_a_double_submit_makes_one_ticket(resident, login_client):
    client = login_client(resident)
    html = client.get(reverse("announcements:ask")).content.decode()
    assert 'data-testid="hotline-form"' in html
    form = {
        "question": "小区采样点周末开放吗？",
        "category": Category.TESTING,
        "client_id": str(uuid.uuid4()),
    }
    first = client.post(reverse("announcements:ask_hotline"), form)
    second = client.post(reverse("announcements:ask_hotline"), form)
    ticket = HotlineTicket.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"].endswith(f"#ticket-{ticket.pk}")
    page = client.get(reverse("announcements:ask")).content.decode()
    assert f'id="ticket-{ticket.pk}"' in page and "小区采样点周末开放吗？" in page


def test_a_refused_question_and_the_limit_show_on_the_page(resident, login_client):
    client = login_client(resident)
    response = client.post(reverse("announcements:ask_hotline"), {"question": "问"})
    assert response.status_code == 400
    assert shows(response.content.decode(), "Write your question (at least %(n)d characters).", n=4)
    for n in range(services.ASKS_PER_HOUR):
        factories.ticket(resident, question=f"第{n}个问题")
    response = client.post(reverse("announcements:ask_hotline"), {"question": "又一个问题"})
    assert response.status_code == 429
    assert shows(
        response.content.decode(),
        "You have asked %(n)d questions within the hour; please wait for the answers or call the hotline.",
        n=services.ASKS_PER_HOUR,
    )


def test_staff_cannot_ask_from_the_page(users, login_client):
    client = login_client(users["grid_worker"])
    assert 'data-testid="hotline-form"' not in client.get(reverse("announcements:ask")).content.decode()
    assert client.post(reverse("announcements:ask_hotline"), {"question": "员工提问"}).status_code == 403


def test_my_question_page_is_mine_only(resident, person_b, editor, login_client, users):
    ticket = factories.answered_ticket(resident, editor, answer="周六上午开放。")
    mine = login_client(resident).get(reverse("announcements:ticket", args=[ticket.pk]))
    assert mine.status_code == 200 and "周六上午开放。" in mine.content.decode()
    neighbour = login_client(factories.resident_of(person_b))
    assert neighbour.get(reverse("announcements:ticket", args=[ticket.pk])).status_code == 404
    assert neighbour.post(reverse("announcements:ticket_close", args=[ticket.pk])).status_code == 404
    assert login_client(editor).get(reverse("announcements:ticket", args=[ticket.pk])).status_code == 404
    assert login_client(resident).get(reverse("announcements:ticket", args=[10**9])).status_code == 404


def test_the_resident_closes_their_question(resident, login_client):
    ticket = factories.ticket(resident)
    response = login_client(resident).post(reverse("announcements:ticket_close", args=[ticket.pk]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED


# --- the staff's pages ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_queue_is_for_hotline_staff(role, users, login_client, resident):
    factories.ticket(resident, question="小区采样点周末开放吗？")
    response = login_client(users[role]).get(reverse("publicity:tickets"))
    if may(role, Perm.HOTLINE_ANSWER):
        assert response.status_code == 200
        assert "小区采样点周末开放吗？" in response.content.decode()
    else:
        assert response.status_code == 403


def test_the_queue_filters(resident, editor, login_client):
    open_one = factories.ticket(resident, question="采样点在哪里？", category=Category.TESTING)
    answered = factories.answered_ticket(
        resident, editor, question="加强针间隔多久？", category=Category.VACCINATION
    )
    client = login_client(editor)

    def rows(**params) -> set[int]:
        html = client.get(reverse("publicity:tickets"), params).content.decode()
        return {t.pk for t in (open_one, answered) if f'data-ticket="{t.pk}"' in html}

    assert rows() == {open_one.pk}  # open ones by default
    assert rows(status="answered") == {answered.pk}
    assert rows(status="all", category=Category.VACCINATION) == {answered.pk}
    assert rows(status="all", q="采样点") == {open_one.pk}


def test_the_editor_answers_from_the_page_and_the_resident_reads_it(resident, editor, login_client):
    ticket = factories.ticket(resident)
    client = login_client(editor)
    assert client.get(reverse("publicity:ticket", args=[ticket.pk])).status_code == 200
    response = client.post(reverse("publicity:ticket_answer", args=[ticket.pk]), {"answer": "周六上午开放。"})
    assert response.status_code == 302
    assert Notice.objects.filter(user=resident, kind="hotline_answer").count() == 1
    html = login_client(resident).get(reverse("announcements:ask")).content.decode()
    assert "周六上午开放。" in html
    empty = client.post(reverse("publicity:ticket_answer", args=[ticket.pk]), {"answer": ""})
    assert empty.status_code == 400
    client.post(reverse("publicity:ticket_close", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED


def test_a_ticket_outside_the_staff_members_area_is_a_404(jurisdiction, resident, login_client):
    ticket = factories.ticket(resident)  # grid A
    other_street = factories.editor(jurisdiction.street_b)
    client = login_client(other_street)
    assert client.get(reverse("publicity:ticket", args=[ticket.pk])).status_code == 404
    assert (
        client.post(reverse("publicity:ticket_answer", args=[ticket.pk]), {"answer": "答"}).status_code == 404
    )
    assert f'data-ticket="{ticket.pk}"' not in client.get(reverse("publicity:tickets")).content.decode()
