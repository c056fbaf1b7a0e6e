"""The SMS and email channels: delivery rows (masked addresses), the background send through the configured
backend, failures recorded and retried with backoff, and the notices the other modules send to residents."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socketserver
import threading
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone, translation
from django.utils.translation import pgettext

from epigrid.core import notices, services, sms
from epigrid.core.channels import delivery as deliveries
from epigrid.core.models import DeliveryStatus, Notice, NoticeDelivery, User
from epigrid.core.testing import zh
from epigrid.core.tests.factories import PersonFactory

RECALL = {"due": dt.datetime(2024, 5, 1, 4, 30, tzinfo=dt.UTC)}


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def person(jurisdiction):
    return PersonFactory(grid=jurisdiction.grid_a, phone="13912345678")


def _recall(person, capture, **kwargs) -> Notice:
    with capture(execute=True):
        [notice] = notices.person_notify(
            actor=None, persons=[person], kind="testing_recall", params=RECALL, **kwargs
        )
    return notice


def test_the_console_backend_gets_the_real_number_the_delivery_row_only_the_masked_one(
    person, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_URL = "https://epigrid.example.org"
    notice = _recall(person, django_capture_on_commit_callbacks)
    [message] = sms.outbox
    assert message.to == "13912345678"
    assert message.purpose == "notice:testing_recall"
    # The account made for the person writes in the default language, Chinese.
    assert message.text.startswith(zh("Please come back for a nucleic-acid re-test") + " ")
    assert "2024-05-01 12:30" in message.text
    assert message.text.endswith(" https://epigrid.example.org/testing/my-results/")
    delivery = NoticeDelivery.objects.get(notice=notice, channel="sms")
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert delivery.provider_ref == message.ref
    assert delivery.address_masked == "139****5678"
    assert "13912345678" not in str(NoticeDelivery.objects.filter(pk=delivery.pk).values().get())


def test_a_bare_path_is_left_out_of_the_text_without_a_public_url(
    person, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_URL = ""
    _recall(person, django_capture_on_commit_callbacks)
    assert "/testing/my-results/" not in sms.outbox[0].text


def test_no_phone_number_is_recorded_as_not_sent(jurisdiction, django_capture_on_commit_callbacks):
    phoneless = PersonFactory(grid=jurisdiction.grid_a, phone="")
    notice = _recall(phoneless, django_capture_on_commit_callbacks)
    delivery = NoticeDelivery.objects.get(notice=notice)
    assert delivery.status == DeliveryStatus.SKIPPED and delivery.last_error == notices.NO_ADDRESS
    assert sms.outbox == [] and Notice.objects.filter(pk=notice.pk).exists()


def test_without_the_commit_nothing_is_sent(person):
    notices.person_notify(actor=None, persons=[person], kind="testing_recall", params=RECALL)
    # The test's transaction never commits: the delivery waits, queued, and no message left.
    assert sms.outbox == []
    assert NoticeDelivery.objects.get().status == DeliveryStatus.QUEUED


def test_a_delivery_is_sent_once_even_when_enqueued_twice(person, django_capture_on_commit_callbacks):
    notices.person_notify(actor=None, persons=[person], kind="testing_recall", params=RECALL)  # not committed
    delivery = NoticeDelivery.objects.get()
    first = deliveries.deliveries_send([[delivery.pk, 0]])
    second = deliveries.deliveries_send([[delivery.pk, 0]])
    assert first == {"sent": 1, "failed": 0, "taken": 0}
    assert second == {"sent": 0, "failed": 0, "taken": 1}
    assert len(sms.outbox) == 1


def test_failures_are_recorded_retried_with_backoff_and_finally_left_failed(
    person, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    def gateway_down(*, to, text, purpose):
        calls.append(to)
        raise sms.SmsError("gateway answered HTTP 503")

    monkeypatch.setattr("epigrid.core.channels.sms.sms_send", gateway_down)
    notice = _recall(person, django_capture_on_commit_callbacks)  # never raises into the sender
    delivery = NoticeDelivery.objects.get(notice=notice)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error == "gateway answered HTTP 503"

    now = delivery.updated_at
    assert deliveries.deliveries_retry_due(now=now + dt.timedelta(seconds=30)) == 0  # backoff: 1 minute
    for attempt, wait in ((2, 1), (3, 5), (4, 25)):
        assert deliveries.deliveries_retry_due(now=now + dt.timedelta(minutes=wait, seconds=1)) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, attempt)
        now = delivery.updated_at
    # Four attempts in all: the periodic job leaves it failed.
    assert deliveries.deliveries_retry_due(now=now + dt.timedelta(days=1)) == 0
    assert len(calls) == deliveries.MAX_ATTEMPTS


def test_a_retry_that_succeeds_records_the_reference(person, monkeypatch, django_capture_on_commit_callbacks):
    outcomes = iter([sms.SmsError("timeout"), "gw-42"])

    def flaky(*, to, text, purpose):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr("epigrid.core.channels.sms.sms_send", flaky)
    notice = _recall(person, django_capture_on_commit_callbacks)
    delivery = NoticeDelivery.objects.get(notice=notice)
    assert delivery.status == DeliveryStatus.FAILED
    deliveries.deliveries_retry_due(now=delivery.updated_at + dt.timedelta(minutes=2))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_ref, delivery.last_error) == (DeliveryStatus.SENT, "gw-42", "")


def test_a_queued_delivery_nobody_took_is_enqueued_again(person):
    notices.person_notify(actor=None, persons=[person], kind="testing_recall", params=RECALL)  # lost enqueue
    delivery = NoticeDelivery.objects.get()
    assert deliveries.deliveries_retry_due(now=delivery.updated_at + dt.timedelta(minutes=5)) == 0
    assert deliveries.deliveries_retry_due(now=delivery.updated_at + dt.timedelta(minutes=16)) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and len(sms.outbox) == 1


def test_the_retry_job_is_a_periodic_job():
    from epigrid.core import periodic

    assert "notice_deliveries_retry" in {job.name for job in periodic.jobs()}


def test_each_text_is_in_its_recipients_language(person, django_capture_on_commit_callbacks):
    account = services.resident_account_ensure(person=person)
    params = {"time": "09:30", "site": "接种点", "code": "ABCD2345"}
    for language in ("zh-hans", "en"):
        notices.notice_language_set(actor=account, language=language)
        with django_capture_on_commit_callbacks(execute=True):
            notices.notice_send_templated(
                actor=None, users=[account], kind="vaccination_reminder", params=params
            )
    chinese, english = (m.text for m in sms.outbox)
    assert english.startswith("Reminder: vaccination tomorrow at 09:30")
    assert chinese.startswith(
        zh("Reminder: vaccination tomorrow at %(time)s, %(site)s. Booking code %(code)s.") % params
    )
    assert chinese != english


# --- email --------------------------------------------------------------------------------------------------


def _mailed_resident(person, *, language: str = "en", email: str = "wang.wu@example.org"):
    account = services.resident_account_ensure(person=person)
    notices.notice_language_set(actor=account, language=language)
    # No service sets an account's email yet (the portal will); the channel only reads it.
    User.objects.filter(pk=account.pk).update(email=email)
    account.email = email
    return account


def test_email_goes_as_text_and_html_in_the_recipients_language(
    person, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PUBLIC_URL = "https://epigrid.example.org"
    account = _mailed_resident(person)
    with django_capture_on_commit_callbacks(execute=True):
        [notice] = notices.notice_send_templated(
            actor=None,
            users=[account],
            kind="announcement",
            params={"title": "新规", "summary": "第一行\n第二行"},
        )
    [mail] = mailoutbox
    assert mail.to == ["wang.wu@example.org"] and mail.subject == "新规"
    assert "第一行\n第二行" in mail.body
    assert "Open: https://epigrid.example.org/announcements/" in mail.body
    assert "https://epigrid.example.org/notices/settings/" in mail.body
    [(html, mime)] = mail.alternatives
    assert mime == "text/html" and 'href="https://epigrid.example.org/announcements/"' in html
    assert "Open in EpiGrid" in html and '<html lang="en">' in html
    delivery = NoticeDelivery.objects.get(notice=notice, channel="email")
    assert delivery.status == DeliveryStatus.SENT and delivery.address_masked == "w***@example.org"
    assert delivery.provider_ref == mail.extra_headers["Message-ID"]


def test_a_chinese_reader_gets_the_email_chrome_in_chinese(
    person, mailoutbox, django_capture_on_commit_callbacks
):
    account = _mailed_resident(person, language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        notices.notice_send_templated(
            actor=None, users=[account], kind="announcement", params={"title": "新规"}
        )
    [(html, _mime)] = mailoutbox[0].alternatives
    assert '<html lang="zh-hans">' in html


def test_an_email_address_removed_meanwhile_fails_the_delivery(
    person, mailoutbox, django_capture_on_commit_callbacks
):
    account = _mailed_resident(person)
    [notice] = notices.notice_send_templated(
        actor=None, users=[account], kind="announcement", params={"title": "t"}
    )  # queued, not yet committed
    User.objects.filter(pk=account.pk).update(email="")
    delivery = NoticeDelivery.objects.get(notice=notice, channel="email")
    deliveries.deliveries_send([[delivery.pk, 0]])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "no email address")
    assert mailoutbox == []


def test_the_email_url_selects_the_backend():
    from epigrid.settings import email_settings

    assert email_settings("")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    smtp = email_settings("smtp://notice%40district:p%2Fss@mail.example.org:587?tls=1")
    assert smtp == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "notice@district",
        "EMAIL_HOST_PASSWORD": "p/ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
    }
    assert email_settings("smtps://mail.example.org")["EMAIL_PORT"] == 465
    with pytest.raises(ImproperlyConfigured):
        email_settings("http://mail.example.org")


class _SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP to take messages (Python 3.12 has no smtpd and aiosmtpd is not installed)."""

    def handle(self) -> None:
        reply = self.wfile.write
        reply(b"220 sink ESMTP\r\n")
        envelope: dict = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                reply(b"250 sink\r\n")
            elif command.startswith(b"MAIL FROM"):
                envelope = {"from": line.strip()[10:].decode(), "rcpt": []}
                reply(b"250 OK\r\n")
            elif command.startswith(b"RCPT TO"):
                envelope["rcpt"].append(line.strip()[8:].decode())
                reply(b"250 OK\r\n")
            elif command == b"DATA":
                reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.server.messages.append({**envelope, "data": b"".join(data)})
                reply(b"250 OK queued as 1\r\n")
            elif command == b"QUIT":
                reply(b"221 Bye\r\n")
                return
            else:
                reply(b"250 OK\r\n")


def test_email_through_a_real_smtp_server(person, settings, django_capture_on_commit_callbacks):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSink)
    server.messages = []
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from epigrid.settings import email_settings

        for name, value in email_settings(f"smtp://127.0.0.1:{server.server_address[1]}").items():
            setattr(settings, name, value)
        account = _mailed_resident(person)
        with django_capture_on_commit_callbacks(execute=True):
            [notice] = notices.notice_send_templated(
                actor=None, users=[account], kind="hotline_answer", params={"answer": "可以正常出行。"}
            )
    finally:
        server.shutdown()
        server.server_close()
    [message] = server.messages
    assert message["rcpt"] == ["<wang.wu@example.org>"]
    parsed = email.message_from_bytes(message["data"], policy=email.policy.default)
    assert str(parsed["Subject"]) == "The hotline answered your question"
    assert "可以正常出行。" in parsed.get_body(("plain",)).get_content()
    assert NoticeDelivery.objects.get(notice=notice, channel="email").status == DeliveryStatus.SENT


# --- what the other modules send to residents ------------------------------------------------------------------


def test_a_recall_reaches_each_pool_members_inbox_and_phone(
    jurisdiction, users, person_a, django_capture_on_commit_callbacks
):
    from epigrid.testing import services as testing

    people = [person_a, *(PersonFactory(grid=jurisdiction.grid_b) for _ in range(2))]
    tube = testing.tube_register(actor=users["sampler"], barcode="RC0001", pool_size=5)
    for person in people:
        testing.specimen_add(actor=users["sampler"], tube=tube, client_id=uuid.uuid4(), person=person)
    testing.tube_seal(actor=users["sampler"], tube=tube)
    with django_capture_on_commit_callbacks(execute=True):
        testing.results_submit(actor=users["lab_technician"], rows=[{"tube": "RC0001", "result": "positive"}])
    recalls = Notice.objects.filter(kind="testing_recall")
    assert sorted(n.user.person_id for n in recalls) == sorted(p.pk for p in people)
    assert recalls.get(user=users["resident"]).url == "/testing/my-results/"
    # The two without an account got one; every phone got the text.
    assert sorted(m.to for m in sms.outbox) == sorted(p.phone for p in people)
    assert {m.purpose for m in sms.outbox} == {"notice:testing_recall"}
    sent = NoticeDelivery.objects.filter(notice__in=recalls, status=DeliveryStatus.SENT)
    assert sent.count() == 3
    # A negative pool recalls nobody and sends nothing.
    clean = testing.tube_register(actor=users["sampler"], barcode="RC0002", pool_size=5)
    testing.specimen_add(actor=users["sampler"], tube=clean, client_id=uuid.uuid4(), person=people[1])
    testing.tube_seal(actor=users["sampler"], tube=clean)
    with django_capture_on_commit_callbacks(execute=True):
        testing.results_submit(actor=users["lab_technician"], rows=[{"tube": "RC0002", "result": "negative"}])
    assert Notice.objects.filter(kind="testing_recall").count() == 3 and len(sms.outbox) == 3


def test_a_quarantine_placement_tells_the_person_where_until_when_with_their_report_link(
    jurisdiction, users, person_a, django_capture_on_commit_callbacks
):
    from epigrid.quarantine import services as quarantine
    from epigrid.quarantine.tests.factories import hotel

    hotel(jurisdiction.grid_a, name="海景隔离酒店")
    notices.notice_language_set(actor=users["resident"], language="en")
    with django_capture_on_commit_callbacks(execute=True):
        placement = quarantine.placement_create(actor=users["quarantine_manager"], person=person_a)
    notice = Notice.objects.get(user=users["resident"], kind="quarantine_notice")
    end = timezone.localtime(placement.end).strftime("%Y-%m-%d %H:%M")
    assert notice.title == f"Quarantine notice: 海景隔离酒店 {placement.room.number} until {end}"
    assert notice.url == f"/q/{quarantine.report_link_token(placement)}"
    assert quarantine.placement_from_token(notice.url.removeprefix("/q/")).pk == placement.pk
    [message] = sms.outbox
    assert message.to == person_a.phone and message.text.startswith("Quarantine notice: 海景隔离酒店")


def test_a_home_quarantine_says_home_in_the_persons_language(
    jurisdiction, users, django_capture_on_commit_callbacks
):
    from epigrid.quarantine import services as quarantine

    person = PersonFactory(grid=jurisdiction.grid_b)
    with django_capture_on_commit_callbacks(execute=True):
        quarantine.placement_create(actor=users["quarantine_manager"], person=person, tier="secondary")
    notice = Notice.objects.get(kind="quarantine_notice")
    assert notice.user.person_id == person.pk and notice.user.language == "zh-hans"
    with translation.override("zh-hans"):
        home = pgettext("quarantine site", "Home")
    assert home != "Home" and home in notice.title  # a new account reads Chinese, the site's language
