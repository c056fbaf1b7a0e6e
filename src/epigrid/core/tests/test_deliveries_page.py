"""The message-delivery page (notice.monitor): deliveries in scope with counts and filters, failures with their
error and a button to send again, masked addresses only; other roles get 403, other areas 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core import notices, sms
from epigrid.core.models import AuditEntry, DeliveryStatus, NoticeDelivery
from epigrid.core.testing import shows
from epigrid.core.tests.factories import PersonFactory, UserFactory

URL = "/notices/deliveries/"


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def _recall(person, capture) -> NoticeDelivery:
    with capture(execute=True):
        [notice] = notices.person_notify(actor=None, persons=[person], kind="testing_recall", params={})
    return NoticeDelivery.objects.get(notice=notice, channel="sms")


@pytest.fixture
def spread(jurisdiction, monkeypatch, django_capture_on_commit_callbacks):
    """A sent, a failed and a skipped delivery in grid A; a sent one in grid B."""
    capture = django_capture_on_commit_callbacks
    sent = _recall(PersonFactory(grid=jurisdiction.grid_a, phone="13900000001"), capture)

    def down(**kwargs):
        raise sms.SmsError("gateway answered HTTP 503")

    with monkeypatch.context() as patch:
        patch.setattr("epigrid.core.channels.sms.sms_send", down)
        failed = _recall(PersonFactory(grid=jurisdiction.grid_a, phone="13900000002"), capture)
    skipped = _recall(PersonFactory(grid=jurisdiction.grid_a, phone=""), capture)
    other = _recall(PersonFactory(grid=jurisdiction.grid_b, phone="13900000004"), capture)
    assert [d.status for d in (sent, failed, skipped, other)] == ["sent", "failed", "skipped", "sent"]
    return {"sent": sent, "failed": failed, "skipped": skipped, "other": other}


def _rows(html: str) -> set[int]:
    import re

    return {int(pk) for pk in re.findall(r'data-delivery="(\d+)"', html)}


def test_the_monitor_sees_every_delivery_in_scope_with_counts_and_masked_addresses(
    users, login_client, spread
):
    page = login_client(users["district_admin"]).get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert shows(html, "Message delivery")
    assert _rows(html) == {d.pk for d in spread.values()}
    assert 'data-status="sent" data-count="2"' in html
    assert 'data-status="failed" data-count="1"' in html
    assert 'data-status="skipped" data-count="1"' in html
    assert "gateway answered HTTP 503" in html
    assert shows(html, "No phone number or email address on record.")
    assert "139****0001" in html and "13900000001" not in html and "13900000002" not in html
    assert html.count('data-testid="delivery-retry"') == 1


def test_filters_by_state_channel_kind_and_date(users, login_client, spread):
    client = login_client(users["district_admin"])
    assert _rows(client.get(URL + "?status=failed").content.decode()) == {spread["failed"].pk}
    assert _rows(client.get(URL + "?channel=email").content.decode()) == set()
    assert _rows(client.get(URL + "?kind=announcement").content.decode()) == set()
    assert len(_rows(client.get(URL + "?kind=testing_recall&channel=sms").content.decode())) == 4
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    today = timezone.localdate().isoformat()
    assert _rows(client.get(f"{URL}?from={tomorrow}").content.decode()) == set()
    assert len(_rows(client.get(f"{URL}?from={today}&to={today}").content.decode())) == 4
    # Counts follow the filters except the state itself.
    html = client.get(URL + "?status=sent&kind=testing_recall").content.decode()
    assert 'data-status="failed" data-count="1"' in html and _rows(html) == {
        spread["sent"].pk,
        spread["other"].pk,
    }


def test_sending_a_failed_delivery_again(users, login_client, spread, django_capture_on_commit_callbacks):
    client = login_client(users["district_admin"])
    failed = spread["failed"]
    detail = client.get(f"{URL}{failed.pk}/").content.decode()
    assert "gateway answered HTTP 503" in detail and 'data-testid="delivery-retry"' in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}{failed.pk}/retry/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SENT and failed.attempts == 2 and failed.last_error == ""
    assert [m.to for m in sms.outbox][-1] == "13900000002"
    assert AuditEntry.objects.filter(action="notice.delivery_retry", object_id=str(failed.pk)).exists()
    # A sent one is not sent twice.
    again = client.post(f"{URL}{failed.pk}/retry/", follow=True)
    assert shows(again.content.decode(), "Only a delivery that failed can be sent again.")
    assert len([m for m in sms.outbox if m.to == "13900000002"]) == 1


@pytest.mark.parametrize("role", ["grid_worker", "community_officer", "resident", "publicity_editor"])
def test_other_roles_may_not_open_the_page(users, login_client, spread, role):
    client = login_client(users[role])
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{spread['sent'].pk}/").status_code == 403
    assert client.post(f"{URL}{spread['failed'].pk}/retry/").status_code == 403
    spread["failed"].refresh_from_db()
    assert spread["failed"].status == DeliveryStatus.FAILED


def test_a_monitor_of_one_community_sees_only_its_deliveries(jurisdiction, login_client, spread):
    local = UserFactory(role="district_admin", org_unit=jurisdiction.community_a)
    client = login_client(local)
    assert _rows(client.get(URL).content.decode()) == {
        spread["sent"].pk,
        spread["failed"].pk,
        spread["skipped"].pk,
    }
    assert client.get(f"{URL}{spread['other'].pk}/").status_code == 404
    assert client.get(f"{URL}{10**9}/").status_code == 404
    assert client.post(f"{URL}{spread['other'].pk}/retry/").status_code == 404
    assert client.get(f"{URL}{spread['sent'].pk}/").status_code == 200
