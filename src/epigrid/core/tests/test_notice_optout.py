"""Opt-outs: an account turns optional kinds off per channel (or every optional kind with ``*``); mandatory
kinds ignore opt-outs and cannot be turned off; the inbox always has the message; the settings page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from epigrid.core import notices, services, sms
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry, DeliveryStatus, Notice, NoticeDelivery, NoticeOptOut
from epigrid.core.testing import shows
from epigrid.core.tests.factories import PersonFactory

REMINDER = {"time": "09:30", "site": "接种点", "code": "ABCD2345"}


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def resident(jurisdiction):
    return services.resident_account_ensure(person=PersonFactory(grid=jurisdiction.grid_a))


def _sms_of(notice: Notice) -> NoticeDelivery:
    return NoticeDelivery.objects.get(notice=notice, channel="sms")


def test_an_opted_out_kind_is_skipped_on_that_channel_but_reaches_the_inbox(
    resident, django_capture_on_commit_callbacks
):
    assert notices.notice_opt_out_set(
        actor=resident, kind="vaccination_reminder", channel="sms", opted_out=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        [notice] = notices.notice_send_templated(
            actor=None, users=[resident], kind="vaccination_reminder", params=REMINDER
        )
    delivery = _sms_of(notice)
    assert delivery.status == DeliveryStatus.SKIPPED and delivery.last_error == notices.OPTED_OUT
    assert sms.outbox == []
    assert Notice.objects.filter(user=resident, kind="vaccination_reminder").count() == 1
    # Another optional kind on the same channel still comes.
    with django_capture_on_commit_callbacks(execute=True):
        [other] = notices.notice_send_templated(
            actor=None, users=[resident], kind="vaccination_closed", params={"reason": "停电"}
        )
    assert _sms_of(other).status == DeliveryStatus.SENT and len(sms.outbox) == 1


def test_every_optional_kind_off_but_mandatory_messages_still_arrive(
    resident, django_capture_on_commit_callbacks
):
    notices.notice_opt_out_set(actor=resident, kind="*", channel="sms", opted_out=True)
    with django_capture_on_commit_callbacks(execute=True):
        [reminder] = notices.notice_send_templated(
            actor=None, users=[resident], kind="vaccination_reminder", params=REMINDER
        )
        [recall] = notices.notice_send_templated(
            actor=None, users=[resident], kind="testing_recall", params={"due": timezone.now()}
        )
    assert _sms_of(reminder).status == DeliveryStatus.SKIPPED
    assert _sms_of(recall).status == DeliveryStatus.SENT
    assert [m.purpose for m in sms.outbox] == ["notice:testing_recall"]


def test_opt_outs_apply_to_kinds_sent_under_an_alias_and_to_plain_sends(jurisdiction, resident):
    notices.notice_opt_out_set(actor=resident, kind="supplies_shortage", channel="sms", opted_out=True)
    [notice] = notices.notice_send(
        actor=None, users=[resident], kind="supplies.shortage", title="N95 短缺", channels=["sms"]
    )
    assert _sms_of(notice).last_error == notices.OPTED_OUT


def test_mandatory_kinds_cannot_be_turned_off_and_bad_settings_are_refused(resident):
    with pytest.raises(DomainError, match="cannot be turned off") as refused:
        notices.notice_opt_out_set(actor=resident, kind="testing_recall", channel="sms", opted_out=True)
    assert "law" in refused.value.message
    with pytest.raises(DomainError, match="SMS or email"):
        notices.notice_opt_out_set(actor=resident, kind="announcement", channel="inbox", opted_out=True)
    with pytest.raises(DomainError, match="template"):
        notices.notice_opt_out_set(actor=resident, kind="nonsense", channel="sms", opted_out=True)
    with pytest.raises(Forbidden):
        notices.notice_opt_out_set(actor=None, kind="announcement", channel="sms", opted_out=True)
    assert not NoticeOptOut.objects.exists()


def test_setting_is_idempotent_audited_and_reversible(resident):
    assert notices.notice_opt_out_set(actor=resident, kind="announcement", channel="email", opted_out=True)
    assert not notices.notice_opt_out_set(
        actor=resident, kind="announcement", channel="email", opted_out=True
    )
    assert NoticeOptOut.objects.filter(user=resident).count() == 1
    assert notices.notice_opt_out_set(actor=resident, kind="announcement", channel="email", opted_out=False)
    assert not NoticeOptOut.objects.exists()
    actions = list(
        AuditEntry.objects.filter(action__startswith="notice.opt").values_list("action", flat=True)
    )
    assert sorted(actions) == ["notice.opt_in", "notice.opt_out"]


def test_the_settings_read_locks_mandatory_kinds_and_shows_the_accounts_kinds(resident, users):
    notices.notice_opt_out_set(actor=resident, kind="announcement", channel="sms", opted_out=True)
    rows = {row.kind: row for row in notices.notice_settings(user=resident)}
    assert "*" in rows and "testing_recall" in rows and "waste.alarm" not in rows
    recall = rows["testing_recall"]
    assert recall.mandatory and all(c.locked and c.receiving for c in recall.channels)
    announcement = {c.channel: c.receiving for c in rows["announcement"].channels}
    assert announcement == {"email": True, "sms": False}
    staff_kinds = {row.kind for row in notices.notice_settings(user=users["waste_officer"])}
    assert "waste.alarm" in staff_kinds and "testing_recall" not in staff_kinds


def test_the_settings_page_shows_locked_kinds_and_saves_changes(resident, login_client):
    client = login_client(resident)
    inbox = client.get("/notices/").content.decode()
    assert 'href="/notices/settings/"' in inbox
    page = client.get("/notices/settings/")
    html = page.content.decode()
    assert page.status_code == 200
    assert shows(html, "The epidemic prevention law requires that you receive it.")
    assert 'name="on:testing_recall:sms" value="1" data-channel="sms" checked disabled' in html
    # Everything stays on except announcements by email.
    form = {
        f"on:{row.kind}:{c.channel}": "1"
        for row in notices.notice_settings(user=resident)
        for c in row.channels
        if not (row.kind == "announcement" and c.channel == "email")
    }
    saved = client.post("/notices/settings/", form)
    assert saved.status_code == 302
    assert list(NoticeOptOut.objects.filter(user=resident).values_list("kind", "channel")) == [
        ("announcement", "email")
    ]
    again = client.get("/notices/settings/").content.decode()
    assert 'name="on:announcement:email" value="1" data-channel="email">' in again
    # A forged box for a mandatory kind changes nothing.
    client.post("/notices/settings/", {k: v for k, v in form.items() if k != "on:testing_recall:sms"})
    assert not NoticeOptOut.objects.filter(kind="testing_recall").exists()
    assert client.get("/notices/settings/", follow=False).status_code == 200


def test_the_settings_page_needs_a_login(client):
    response = client.get("/notices/settings/")
    assert response.status_code == 302 and "/login/" in response["Location"]
