"""Who may do what with scanners and visitors; retention deletes exactly the old rows."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from epigrid.checkins import services
from epigrid.checkins.models import CheckIn
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry
from epigrid.core.tests.factories import PersonFactory
from epigrid.places.tests.factories import VenueFactory


def test_a_scanner_cannot_register_visitors(users, jurisdiction):
    office = VenueFactory(grid=jurisdiction.grid_a, type="office")
    kiosk, _token = services.kiosk_create(actor=users["community_officer"], venue=office, name="闸机")
    with pytest.raises(Forbidden):
        services.visit_invite(
            actor=kiosk.account, venue=office, host_name="王", host_phone="", purpose="送货", expected_at=None
        )
    # local staff may, for the venue's operator
    visit = services.visit_invite(
        actor=users["grid_worker"],
        venue=office,
        host_name="王",
        host_phone="",
        purpose="送货",
        expected_at=None,
    )
    assert visit.org_code == jurisdiction.grid_a.code


def test_only_operator_or_community_switch_scanners_off(users, jurisdiction):
    venue = VenueFactory(grid=jurisdiction.grid_a)
    kiosk, _token = services.kiosk_create(actor=users["community_officer"], venue=venue, name="前台")
    with pytest.raises(Forbidden):
        services.kiosk_deactivate(actor=users["grid_worker"], kiosk=kiosk)
    services.kiosk_deactivate(actor=users["community_officer"], kiosk=kiosk)
    kiosk.account.refresh_from_db()
    assert not kiosk.active and not kiosk.account.is_active


def test_retention_deletes_exactly_the_rows_older_than_28_days(jurisdiction, person_a):
    venue = VenueFactory(grid=jurisdiction.grid_a)
    now = timezone.now()
    ages = {
        "keep_new": dt.timedelta(hours=1),
        "keep_edge": dt.timedelta(days=27, hours=23),
        "drop": dt.timedelta(days=28, minutes=1),
        "drop_old": dt.timedelta(days=40),
    }
    made = {}
    for label, age in ages.items():
        checkin = services.checkin_record(
            actor=None, venue=venue, person=person_a, client_id=uuid.uuid4()
        ).checkin
        # Age the row as time would: check-ins older than the offline window cannot be recorded directly.
        CheckIn.objects.filter(pk=checkin.pk).update(
            scanned_at=now - age, leave_at=now - age + dt.timedelta(minutes=90)
        )
        made[label] = checkin.pk
    deleted = services.checkin_purge_expired(actor=None, now=now)
    assert deleted == 2
    assert set(CheckIn.objects.values_list("pk", flat=True)) == {made["keep_new"], made["keep_edge"]}
    entry = AuditEntry.objects.filter(action="checkin.purge").latest("seq")
    assert entry.detail["deleted"] == 2 and entry.detail["retention_days"] == 28


def test_another_person_cannot_check_someone_out(users, jurisdiction, person_b):
    venue = VenueFactory(grid=jurisdiction.grid_b)
    checkin = services.checkin_record(
        actor=None, venue=venue, person=person_b, client_id=uuid.uuid4()
    ).checkin
    with pytest.raises(Forbidden):
        services.checkin_checkout(actor=users["resident"], checkin=checkin)
    with pytest.raises(Forbidden):
        services.checkin_checkout(actor=users["grid_worker"], checkin=checkin)  # grid A staff, venue in B
    assert services.checkin_checkout(actor=users["epidemiologist"], checkin=checkin).left_explicitly is True


def test_visitor_arrival_is_all_or_nothing(users, jurisdiction):
    office = VenueFactory(grid=jurisdiction.grid_a, type="office")
    visit = services.visit_invite(
        actor=users["grid_worker"],
        venue=office,
        host_name="王",
        host_phone="",
        purpose="面试",
        expected_at=None,
    )
    stranger = PersonFactory.build()
    stranger.id_number = "360426199101010072"  # a bad check character
    with pytest.raises(DomainError, match="check character"):
        services.visit_arrive(actor=users["grid_worker"], visit=visit, data=stranger)
    visit.refresh_from_db()
    assert visit.visitor is None and visit.status == "invited"
    assert not CheckIn.objects.exists()


def test_no_stay_is_longer_than_the_policys_maximum(jurisdiction, person_a, venue_a):
    """Contact tracing bounds its index ranges by the longest stay: a check-out two days later ends the stay
    after 24 hours, and an import row with a longer stay is refused with a reason; its neighbours are kept."""
    now = timezone.now()
    checkin = services.checkin_record(
        actor=None,
        venue=venue_a,
        person=person_a,
        client_id=uuid.uuid4(),
        scanned_at=now - dt.timedelta(hours=1),
    ).checkin
    services.checkin_checkout(actor=None, checkin=checkin, at=now + dt.timedelta(days=2))
    checkin.refresh_from_db()
    assert (checkin.leave_at - checkin.scanned_at, checkin.left_explicitly) == (dt.timedelta(hours=24), True)

    venue_a.__class__.objects.filter(pk=venue_a.pk).update(created_at=now - dt.timedelta(days=5))
    start = now - dt.timedelta(days=3)
    rows = [
        services.CheckinImportRow(
            client_id=uuid.uuid4(),
            person_id=person_a.pk,
            venue_id=venue_a.pk,
            scanned_at=start,
            leave_at=start + dt.timedelta(hours=hours),
        )
        for hours in (2, 25, 24)
    ]
    result = services.checkin_bulk_import(actor=None, rows=rows)
    assert result.created == 2
    assert result.errors == [(2, "A stay is at most 24 hours (leave_at too late).")]
