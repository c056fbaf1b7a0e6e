"""The notification service (inbox channel): sending in bulk, audited, one event addressed to the recipients;
reading one's own inbox only; the inbox pages and the header's unread badge."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from epigrid.core import notices
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event, Notice
from epigrid.core.tests.factories import UserFactory


@pytest.fixture
def leaders(jurisdiction):
    return [UserFactory(role="grid_leader", org_unit=jurisdiction.grid_a) for _ in range(3)]


def test_send_puts_one_notice_in_each_inbox_with_one_audit_entry_and_one_addressed_event(
    users, leaders, django_capture_on_commit_callbacks
):
    commander = users["commander"]
    audits = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        made = notices.notice_send(
            actor=commander,
            users=[*leaders, leaders[0]],  # listed twice: one notice
            kind="consultation",
            title="视频会商",
            body="请参加",
            url="https://meet.example.org/room",
        )
    assert [n.user_id for n in made] == [u.pk for u in leaders]
    assert all(n.pk for n in made)
    assert {n.org_code for n in made} == {leaders[0].org_code}
    assert Notice.objects.filter(kind="consultation").count() == 3
    assert AuditEntry.objects.count() == audits + 1
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "notice.send" and entry.detail["count"] == 3
    [event] = Event.objects.filter(type="notice.sent")
    assert event.payload == {"user_ids": [u.pk for u in leaders], "kind": "consultation"}
    assert event.org_code == ""


def test_inactive_accounts_get_nothing_and_nobody_means_no_event(users, leaders):
    leaders[0].is_active = False
    leaders[0].save()
    made = notices.notice_send(actor=None, users=[leaders[0]], kind="test", title="t")
    assert made == []
    assert not Event.objects.filter(type="notice.sent").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"kind": ""}, "kind"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "//evil.example/x"}, "url"),
        ({"url": "ftp://files.example/x"}, "url"),
    ],
)
def test_bad_notices_are_refused_before_anything_is_written(leaders, kwargs, field):
    args = {"actor": None, "users": leaders, "kind": "test", "title": "标题", **kwargs}
    with pytest.raises(DomainError) as err:
        notices.notice_send(**args)
    assert err.value.field == field
    assert not Notice.objects.exists()


def test_a_sender_reaches_only_accounts_in_their_jurisdiction(users, jurisdiction):
    outsider = UserFactory(role="grid_leader", org_unit=jurisdiction.grid_b)
    with pytest.raises(Forbidden):
        notices.notice_send(actor=users["community_officer"], users=[outsider], kind="t", title="t")
    with pytest.raises(Forbidden):  # residents send nothing
        notices.notice_send(actor=users["resident"], users=[users["grid_leader"]], kind="t", title="t")
    assert not Notice.objects.exists()
    # A resident recipient carries their own grid's code (the scope of the notice).
    [made] = notices.notice_send(actor=users["grid_leader"], users=[users["resident"]], kind="t", title="t")
    assert made.org_code == jurisdiction.grid_a.code


def test_channels_are_plugins_called_after_commit_and_contained(leaders, django_capture_on_commit_callbacks):
    delivered = []

    class Recorder:
        name = "recorder"

        def deliver(self, sent):
            delivered.append([n.user_id for n in sent])

    class Broken:
        name = "broken"

        def deliver(self, sent):
            raise RuntimeError("gateway down")

    with pytest.raises(DomainError):
        notices.notice_send(actor=None, users=leaders, kind="t", title="t", channels=["pigeon"])
    notices.register_channel(Recorder())
    notices.register_channel(Broken())
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            notices.notice_send(
                actor=None, users=leaders, kind="t", title="t", channels=["broken", "recorder"]
            )
        assert delivered == []  # not before the commit
        for callback in callbacks:
            callback()
        assert delivered == [[u.pk for u in leaders]]
        assert Notice.objects.count() == 3  # the inbox has them whatever the channels did
    finally:
        notices.unregister_channel("recorder")
        notices.unregister_channel("broken")


def test_only_the_recipient_marks_read(leaders):
    [notice] = notices.notice_send(actor=None, users=[leaders[0]], kind="t", title="t")
    with pytest.raises(Forbidden):
        notices.notice_mark_read(actor=leaders[1], notice=notice)
    assert notices.unread_count(user=leaders[0]) == 1
    notices.notice_mark_read(actor=leaders[0], notice=notice)
    read_at = Notice.objects.get(pk=notice.pk).read_at
    assert read_at is not None
    notices.notice_mark_read(actor=leaders[0], notice=notice)  # again: unchanged
    assert Notice.objects.get(pk=notice.pk).read_at == read_at
    assert notices.unread_count(user=leaders[0]) == 0
    assert list(notices.notices_for(user=leaders[1])) == []


def test_the_inbox_page_lists_only_ones_own_and_opening_marks_read_and_follows(leaders, login_client):
    [mine] = notices.notice_send(
        actor=None, users=[leaders[0]], kind="t", title="给我的消息", url="/command/"
    )
    theirs = notices.notice_send(actor=None, users=[leaders[1]], kind="t", title="别人的消息")[0]
    client = login_client(leaders[0])
    page = client.get("/notices/").content.decode()
    assert "给我的消息" in page and "别人的消息" not in page
    assert 'data-testid="unread-notices">1<' in page  # the header's badge

    # Someone else's notice answers 404 like a missing one.
    assert client.post(f"/notices/{theirs.pk}/open/").status_code == 404
    assert client.post("/notices/999999/open/").status_code == 404

    response = client.post(f"/notices/{mine.pk}/open/", {"follow": "1"})
    assert response.status_code == 302 and response["Location"] == "/command/"
    assert Notice.objects.get(pk=mine.pk).read_at is not None
    page = client.get("/notices/").content.decode()
    assert 'data-testid="unread-notices"' not in page
    assert Notice.objects.get(pk=theirs.pk).read_at is None


def test_mark_all_read(leaders, login_client):
    notices.notice_send(actor=None, users=[leaders[0]], kind="t", title="一")
    notices.notice_send(actor=None, users=[leaders[0]], kind="t", title="二")
    client = login_client(leaders[0])
    assert client.get("/notices/?unread=1").content.decode().count('data-notice="') == 2
    assert client.post("/notices/read-all/").status_code == 302
    assert notices.unread_count(user=leaders[0]) == 0
    assert client.get("/notices/?unread=1").content.decode().count('data-notice="') == 0


def test_the_badge_costs_one_count_query_and_nothing_for_visitors(leaders, login_client, client):
    notices.notice_send(actor=None, users=[leaders[0]], kind="t", title="t")
    logged_in = login_client(leaders[0])
    logged_in.get("/policies/")  # warm up sessions and caches
    with CaptureQueriesContext(connection) as queries:
        logged_in.get("/policies/")
    counts = [q["sql"] for q in queries.captured_queries if "core_notice" in q["sql"]]
    assert len(counts) == 1 and "COUNT(" in counts[0].upper()
    with CaptureQueriesContext(connection) as queries:
        client.get("/login/")
    assert not [q for q in queries.captured_queries if "core_notice" in q["sql"]]


def test_the_inbox_needs_a_login(client):
    response = client.get("/notices/")
    assert response.status_code == 302 and "/login/" in response["Location"]
