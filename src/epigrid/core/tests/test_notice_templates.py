"""Templated notices: each recipient reads the kind's template in their own language, with the template's link
and default channels; persons are reached through their resident account, made on first need."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core import notice_templates, notices, services
from epigrid.core.errors import DomainError
from epigrid.core.models import AuditEntry, DeliveryStatus, Notice, NoticeDelivery, User
from epigrid.core.testing import zh
from epigrid.core.tests.factories import PersonFactory

REMINDER = "Reminder: vaccination tomorrow at %(time)s, %(site)s. Booking code %(code)s."
PARAMS = {"time": "09:30", "site": "幸福路接种点", "code": "K7PQ2M4X"}


def _resident(grid, *, language: str = "zh-hans", email: str = "") -> User:
    person = PersonFactory(grid=grid)
    user = services.resident_account_ensure(person=person)
    if language != user.language:
        notices.notice_language_set(actor=user, language=language)
    if email:
        # No service sets an account's email yet (the portal will); the channel only reads it.
        User.objects.filter(pk=user.pk).update(email=email)
        user.email = email
    return user


def test_each_recipient_reads_the_message_in_their_own_language(jurisdiction):
    chinese = _resident(jurisdiction.grid_a)
    english = _resident(jurisdiction.grid_a, language="en")
    made = notices.notice_send_templated(
        actor=None, users=[chinese, english], kind="vaccination_reminder", params=PARAMS
    )
    by_user = {n.user_id: n for n in made}
    assert by_user[english.pk].title == REMINDER % PARAMS
    assert by_user[chinese.pk].title == zh(REMINDER) % PARAMS
    assert by_user[chinese.pk].title != by_user[english.pk].title  # the catalogue really has it
    # The template's page is the link when the sender gives none.
    assert {n.url for n in made} == {"/vaccination/my/"}


def test_the_language_for_messages_is_one_of_the_sites_languages(jurisdiction):
    user = _resident(jurisdiction.grid_a)
    with pytest.raises(DomainError, match="languages offered"):
        notices.notice_language_set(actor=user, language="fr")
    notices.notice_language_set(actor=user, language="en")
    user.refresh_from_db()
    assert user.language == "en"
    assert AuditEntry.objects.filter(action="notice.language", object_id=str(user.pk)).count() == 1


def test_rendering_forgives_missing_parameters_and_formats_values_for_people(jurisdiction):
    template = notice_templates.get("supplies.shortage")  # an alias of supplies_shortage
    assert template is not None and template.kind == "supplies_shortage"
    # A numeric placeholder without its value, an extra value: the message still renders.
    text = notice_templates.render(template, {"item": "N95", "point": "A点", "extra": 1}, "en")
    assert text.title.startswith("N95 is short at A点: ") and "%" not in text.title
    recall = notice_templates.get("testing_recall")
    due = dt.datetime(2024, 5, 1, 4, 30, tzinfo=dt.UTC)  # 12:30 in Shanghai
    body = notice_templates.render(recall, {"due": due}, "en").body
    assert "2024-05-01 12:30" in body
    long = notice_templates.render(notice_templates.get("announcement"), {"title": "长" * 300}, "en")
    assert len(long.title) == notice_templates.TITLE_LIMIT and long.title.endswith("…")


def test_unknown_kinds_and_bad_links_are_refused_before_anything_is_written(jurisdiction):
    user = _resident(jurisdiction.grid_a)
    with pytest.raises(DomainError, match="template"):
        notices.notice_send_templated(actor=None, users=[user], kind="nonsense", params={})
    with pytest.raises(DomainError, match="link"):
        notices.notice_send_templated(
            actor=None, users=[user], kind="announcement", params={"title": "t"}, url="javascript:alert(1)"
        )
    with pytest.raises(DomainError, match="channel"):
        notices.notice_send_templated(
            actor=None, users=[user], kind="announcement", params={"title": "t"}, channels=["pigeon"]
        )
    assert not Notice.objects.exists()


def test_default_channels_sms_for_mandatory_and_reminders_email_only_with_an_address(jurisdiction):
    plain = _resident(jurisdiction.grid_a)
    mailed = _resident(jurisdiction.grid_a, email="li.si@example.org")
    reminder = notices.notice_send_templated(
        actor=None, users=[plain, mailed], kind="vaccination_reminder", params=PARAMS
    )
    channels = {(d.notice.user_id, d.channel): d for d in NoticeDelivery.objects.filter(notice__in=reminder)}
    assert set(channels) == {(plain.pk, "sms"), (mailed.pk, "sms"), (mailed.pk, "email")}
    assert channels[(mailed.pk, "email")].address_masked == "l***@example.org"
    assert all(d.status == DeliveryStatus.QUEUED for d in channels.values())
    # An announcement goes to the inbox (and email where there is one), not by SMS.
    news = notices.notice_send_templated(
        actor=None, users=[plain, mailed], kind="announcement", params={"title": "新规", "summary": "摘要"}
    )
    assert list(NoticeDelivery.objects.filter(notice__in=news).values_list("channel", flat=True)) == ["email"]
    # Channels named by the sender replace the defaults.
    asked = notices.notice_send_templated(
        actor=None, users=[plain], kind="announcement", params={"title": "t"}, channels=["sms"]
    )
    assert list(NoticeDelivery.objects.filter(notice__in=asked).values_list("channel", flat=True)) == ["sms"]


def test_person_notify_reaches_persons_through_their_account_made_once(jurisdiction):
    newcomer = PersonFactory(grid=jurisdiction.grid_b)
    known = _resident(jurisdiction.grid_a)
    due = timezone.now() + dt.timedelta(hours=12)
    made = notices.person_notify(
        actor=None,
        persons=[newcomer, known.person, newcomer],
        kind="testing_recall",
        params=lambda person: {"due": due},
    )
    assert len(made) == 2
    account = User.objects.get(person=newcomer)
    assert {n.user_id for n in made} == {account.pk, known.pk}
    notice = Notice.objects.get(user=account)
    assert notice.kind == "testing_recall" and notice.org_code == jurisdiction.grid_b.code
    assert notice.url == "/testing/my-results/"
    recall_body = (
        "Your pooled sample needs a re-test in a single tube. Please go to a sampling point before %(due)s and "
        "bring your ID card."
    )
    assert zh(recall_body).split("%(")[0] in notice.body  # the account made for the person reads Chinese
    # Again: the same account, no second one.
    notices.person_notify(actor=None, persons=[newcomer], kind="testing_recall", params={"due": due})
    assert User.objects.filter(person=newcomer).count() == 1
    assert Notice.objects.filter(user=account).count() == 2


def test_per_person_parameters_and_links(jurisdiction):
    first, second = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_a)
    places = {first.pk: "一号隔离点", second.pk: "居家"}
    made = notices.person_notify(
        actor=None,
        persons=[first, second],
        kind="quarantine_notice",
        params=lambda person: {"place": places[person.pk], "start": "2024-05-01", "end": "2024-05-08"},
        url=lambda person: f"/q/token-{person.pk}",
    )
    got = {n.user.person_id: n for n in made}
    assert "一号隔离点" in got[first.pk].title and got[first.pk].url == f"/q/token-{first.pk}"
    assert "居家" in got[second.pk].title and got[second.pk].url == f"/q/token-{second.pk}"


def test_a_staff_sender_still_reaches_only_their_jurisdiction(jurisdiction, users):
    outside = _resident(jurisdiction.grid_b)
    with pytest.raises(Exception, match="outside your jurisdiction"):
        notices.notice_send_templated(
            actor=users["grid_leader"], users=[outside], kind="announcement", params={"title": "t"}
        )
    assert not Notice.objects.exists()


def test_the_kinds_every_module_uses_have_templates():
    for kind in (
        "testing_recall",
        "quarantine_notice",
        "vaccination_reminder",
        "vaccination_closed",
        "vaccination_self_report",
        "announcement",
        "hotline_answer",
        "supplies_shortage",
        "waste.alarm",
        "consultation",
    ):
        assert notice_templates.get(kind) is not None, kind
    assert notice_templates.is_mandatory("testing_recall") and notice_templates.is_mandatory(
        "quarantine_notice"
    )
    assert not notice_templates.is_mandatory("announcement")


def test_a_large_batch_makes_the_missing_accounts_at_once_with_one_audit_entry(jurisdiction, users, person_a):
    newcomers = [PersonFactory(grid=jurisdiction.grid_b) for _ in range(notices.BULK_ACCOUNTS + 5)]
    made = notices.person_notify(
        actor=None, persons=[person_a, *newcomers], kind="testing_recall", params={"due": timezone.now()}
    )
    assert len(made) == len(newcomers) + 1 and all(n.pk for n in made)
    accounts = User.objects.filter(person__in=newcomers)
    assert accounts.count() == len(newcomers)
    for account in accounts:
        assert account.username == f"person-{account.person_id}" and account.role == "resident"
        assert not account.has_usable_password() and account.is_active and account.language == "zh-hans"
    [entry] = AuditEntry.objects.filter(action="user.create_many")
    assert sorted(entry.detail["person_ids"]) == sorted(p.pk for p in newcomers)
    assert Notice.objects.get(user=users["resident"]).kind == "testing_recall"  # the existing account
    # Every notice has its SMS delivery row, with the right notice behind it.
    rows = NoticeDelivery.objects.filter(notice__in=made)
    assert sorted(d.notice_id for d in rows) == sorted(n.pk for n in made)
    assert {d.notice.user.person_id for d in rows} == {person_a.pk, *(p.pk for p in newcomers)}
    # Again: no account is made twice.
    notices.person_notify(actor=None, persons=newcomers, kind="testing_recall", params={})
    assert User.objects.filter(person__in=newcomers).count() == len(newcomers)
    assert AuditEntry.objects.filter(action="user.create_many").count() == 1
