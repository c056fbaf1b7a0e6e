"""The oversight pages per role: open bags, alarms (list, detail, handling), ledger, monthly totals, exports."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows
from epigrid.core.tests.factories import UserFactory
from epigrid.medwaste.models import AlarmKind, AlarmState, Stage, WasteAlarm
from epigrid.medwaste.services.alarms import waste_alarms_evaluate
from epigrid.medwaste.tests import wasterows

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
PAGES = ("medwaste:open_bags", "medwaste:alarms", "medwaste:ledger", "medwaste:monthly")
EXPORTS = ("medwaste:open_bags_export", "medwaste:alarms_export", "medwaste:monthly_export")


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def c(jurisdiction):
    return wasterows.chain(jurisdiction.grid_a)


def stored(c, now, hours, weight=1000):
    at = now - hours * H
    return wasterows.bag(c, [(Stage.LABELLED, at - H, weight), (Stage.STORED, at, weight)])


def rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True))


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.RESIDENT])
def test_pages_need_waste_view(role, users, login_client, c):
    client = login_client(users[role])
    for name in (*PAGES, *EXPORTS):
        status = client.get(reverse(name)).status_code
        assert status == (200 if may(role, Perm.WASTE_VIEW) else 403), (name, status)


def test_a_49_hour_bag_raises_an_alarm_the_authority_sees(c, now, users, login_client):
    bag = stored(c, now, 49)
    waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get(subject=f"bag:{bag.pk}")
    client = login_client(users["waste_officer"])  # district level, the demo's `waste` account's role
    html = client.get(reverse("medwaste:alarms")).content.decode()
    assert f'data-alarm="{alarm.pk}"' in html and bag.code in html
    assert shows(html, "Temporary storage beyond the limit")
    detail = client.get(reverse("medwaste:alarm_detail", args=[alarm.pk])).content.decode()
    assert shows(detail, "Alarm") and 'data-testid="alarm-handling"' in detail


def test_alarm_detail_outside_the_area_is_404(c, now, login_client, jurisdiction):
    stored(c, now, 49)
    waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get()
    officer_b = UserFactory(username="waste-b", role=Role.WASTE_OFFICER, org_unit=jurisdiction.street_b)
    client = login_client(officer_b)
    assert client.get(reverse("medwaste:alarm_detail", args=[alarm.pk])).status_code == 404
    assert f'data-alarm="{alarm.pk}"' not in client.get(reverse("medwaste:alarms")).content.decode()


def test_officer_acknowledges_and_closes_with_a_note_on_the_page(c, now, users, login_client):
    stored(c, now, 49)
    waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get()
    client = login_client(users["waste_officer"])
    url = reverse("medwaste:alarm_detail", args=[alarm.pk])
    assert client.post(url, {"action": "acknowledge"}).status_code == 302
    refused = client.post(url, {"action": "close", "note": " ", "state": AlarmState.ACKNOWLEDGED})
    assert refused.status_code == 400
    assert shows(refused.content.decode(), "Say what was done before closing the alarm.")
    assert (
        client.post(url, {"action": "close", "note": "已转运", "state": AlarmState.ACKNOWLEDGED}).status_code
        == 302
    )
    alarm.refresh_from_db()
    assert (alarm.state, alarm.note) == (AlarmState.CLOSED, "已转运")
    # A second close of what the officer saw as acknowledged: refused as a conflict, not overwritten.
    again = client.post(url, {"action": "close", "note": "再次", "state": AlarmState.ACKNOWLEDGED})
    assert again.status_code == 409 and shows(again.content.decode(), "This alarm is already closed.")


def test_viewers_without_waste_manage_see_but_cannot_handle(c, now, users, login_client):
    viewer = next(r for r in Role if may(r, Perm.WASTE_VIEW) and not may(r, Perm.WASTE_MANAGE))
    stored(c, now, 49)
    waste_alarms_evaluate(now=now)
    alarm = WasteAlarm.objects.get()
    client = login_client(users[viewer.value])
    url = reverse("medwaste:alarm_detail", args=[alarm.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="alarm-handling"' not in page.content.decode()
    assert client.post(url, {"action": "acknowledge"}).status_code == 403
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.OPEN


def test_alarm_filters(c, now, users, login_client):
    overdue = stored(c, now, 49)
    warned = stored(c, now, 40)
    waste_alarms_evaluate(now=now)
    client = login_client(users["waste_officer"])
    html = client.get(reverse("medwaste:alarms"), {"kind": AlarmKind.STORAGE_WARNING}).content.decode()
    assert warned.code in html and overdue.code not in html
    html = client.get(reverse("medwaste:alarms"), {"level": "alarm"}).content.decode()
    assert overdue.code in html and warned.code not in html
    html = client.get(reverse("medwaste:alarms"), {"state": "closed"}).content.decode()
    assert 'data-count="0"' in html


def test_open_bags_by_age_bucket_and_holder(c, now, users, login_client, jurisdiction):
    stored(c, now, 10)  # labelled 11 h ago
    stored(c, now, 30)  # 31 h
    stored(c, now, 40)  # 41 h
    old = stored(c, now, 60)  # 61 h
    done = stored(c, now, 80)
    wasterows.move(done, c, Stage.COLLECTED, now - 70 * H, 1000)
    wasterows.move(done, c, Stage.DELIVERED, now - 69 * H, 1000)
    wasterows.move(done, c, Stage.INCINERATED, now - 68 * H, 1000)
    elsewhere = wasterows.chain(jurisdiction.grid_b)
    stored(elsewhere, now, 5)
    officer_a = UserFactory(username="waste-a", role=Role.WASTE_OFFICER, org_unit=jurisdiction.street_a)
    html = login_client(officer_a).get(reverse("medwaste:open_bags")).content.decode()
    assert 'data-count="4"' in html  # the incinerated bag and the other street's are not counted
    for bucket, n in (("lt24", 1), ("h24_36", 1), ("h36_48", 1), ("gt48", 1)):
        assert f'data-bucket="{bucket}">{n}<' in html or f'data-bucket="{bucket}">{n}</' in html
    assert f'data-holder="{c.institution.pk}" data-stage="stored"' in html
    # Oldest first.
    assert html.index(old.code) < html.index('data-testid="bag-row"', html.index(old.code) + 1)


def test_open_bags_export_is_the_list_oldest_first_and_formula_safe(c, now, users, login_client):
    c.producer.name = "=HYPERLINK(1)"
    c.producer.save()
    young, old = stored(c, now, 2), stored(c, now, 50)
    response = login_client(users["waste_officer"]).get(reverse("medwaste:open_bags_export"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    table = rows(response.content)
    assert [r[0] for r in table[1:]] == [old.code, young.code]
    assert table[1][1] == "'=HYPERLINK(1)" and table[1][3] == 1.0


def test_alarms_export(c, now, users, login_client):
    bag = stored(c, now, 49)
    waste_alarms_evaluate(now=now)
    response = login_client(users["waste_officer"]).get(reverse("medwaste:alarms_export"), {"state": "all"})
    table = rows(response.content)
    assert len(table) == 2 and table[1][3] == bag.code


def test_ledger_by_day_with_the_chain_of_a_bag_and_its_export(c, now, users, login_client, jurisdiction):
    today = timezone.localdate()
    noon = timezone.make_aware(dt.datetime.combine(today, dt.time(12)))
    early = noon - dt.timedelta(hours=2)
    a = wasterows.bag(c, [(Stage.LABELLED, early, 1200), (Stage.STORED, noon - H, 1190)])
    b = wasterows.bag(c, [(Stage.LABELLED, early, 800), (Stage.STORED, noon - H, 800)])
    wasterows.move(b, c, Stage.COLLECTED, noon, 800)
    client = login_client(users["waste_officer"])
    query = {"party": c.institution.pk, "from": today.isoformat(), "to": today.isoformat()}
    html = client.get(reverse("medwaste:ledger"), query).content.decode()
    assert f'data-day="{today:%Y-%m-%d}" data-produced="2" data-stored="2" data-collected="1"' in html
    chain = client.get(reverse("medwaste:ledger"), {"bag": a.code}).content.decode()
    assert chain.count('data-testid="chain-row"') == 2 and a.code in chain
    table = rows(client.get(reverse("medwaste:ledger_export"), query).content)
    assert table[1][0].date() == today and table[1][1:4] == (2, 2.0, 2)  # Excel reads days back as datetimes
    # A party outside the area is 404, like a missing one.
    officer_b = UserFactory(username="waste-b", role=Role.WASTE_OFFICER, org_unit=jurisdiction.street_b)
    assert login_client(officer_b).get(reverse("medwaste:ledger"), query).status_code == 404
    assert login_client(officer_b).get(reverse("medwaste:ledger"), {"bag": a.code}).status_code == 404


def test_monthly_totals_per_category_with_weights_at_labelling_and_incineration(c, now, users, login_client):
    month = timezone.localdate().replace(day=1)
    start = timezone.make_aware(dt.datetime.combine(month, dt.time(1)))
    a = wasterows.bag(c, [(Stage.LABELLED, start, 1000)])
    for stage, hours, weight in (
        (Stage.STORED, 1, 990),
        (Stage.COLLECTED, 2, 985),
        (Stage.DELIVERED, 3, 985),
    ):
        wasterows.move(a, c, stage, start + hours * dt.timedelta(minutes=5), weight)
    wasterows.move(a, c, Stage.INCINERATED, start + dt.timedelta(minutes=20), 980)
    wasterows.bag(c, [(Stage.LABELLED, start, 500)], category="sharps")
    client = login_client(users["waste_officer"])
    html = client.get(reverse("medwaste:monthly"), {"month": f"{month:%Y-%m}"}).content.decode()
    assert (
        'data-category="infectious" data-labelled="1" data-labelled-g="1000" data-burnt="1" data-burnt-g="980"'
        in html
    )
    assert 'data-category="sharps" data-labelled="1" data-labelled-g="500" data-burnt="0"' in html
    table = rows(client.get(reverse("medwaste:monthly_export"), {"month": f"{month:%Y-%m}"}).content)
    assert (c.producer.name, "Infectious", 1, 1.0, 1, 0.98) in [tuple(r) for r in table] or any(
        r[0] == c.producer.name and r[2:] == (1, 1.0, 1, 0.98) for r in table
    )
