"""Doses: recording rules, self-report verification, AEFI, imports, and what other modules see."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import AuditEntry, Notice
from epigrid.vaccination.models import (
    BookingStatus,
    DoseKind,
    DoseSource,
    SelfReport,
    SelfReportStatus,
)
from epigrid.vaccination.services import bookings, doses
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), "white").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def clinic(jurisdiction):
    vaccine = factories.vaccine()
    return vaccine, factories.site(jurisdiction.grid_a, vaccine), factories.batch(vaccine)


def _record(person, clinic, *, days_ago=0, actor=None, **kw):
    vaccine, site, batch = clinic
    return doses.dose_record(
        actor=actor,
        person=person,
        vaccine=vaccine,
        batch=batch,
        site=site,
        given_at=timezone.now() - dt.timedelta(days=days_ago),
        **kw,
    )


def test_recording_attends_the_open_booking_and_updates_the_status(users, person_a, clinic):
    vaccine, site, _batch = clinic
    booking = bookings.booking_create(
        actor=None, person=person_a, slot=factories.future_slot(site), vaccine=vaccine
    )
    dose = _record(person_a, clinic, actor=users["vaccinator"])
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ATTENDED and dose.booking_id == booking.pk
    assert (dose.dose_number, dose.kind, dose.source) == (1, DoseKind.SERIES, DoseSource.RECORDED)
    status = person_a.vaccination_status.get()
    assert status.doses == 1 and not status.series_complete
    assert status.next_due_on == timezone.localdate() + dt.timedelta(days=vaccine.min_interval_days)
    assert AuditEntry.objects.filter(action="vaccination.dose_record", object_id=str(dose.pk)).exists()


def test_the_health_code_counts_the_doses(person_a, clinic, django_capture_on_commit_callbacks):
    from epigrid.healthcode.models import PersonFacts

    with django_capture_on_commit_callbacks(execute=True):
        _record(person_a, clinic, days_ago=30)
        _record(person_a, clinic)
    assert PersonFacts.objects.get(person=person_a).vaccine_doses == 2
    # a dose against another disease is not a dose the health code's rules count
    from epigrid.core.models import DiseaseProfile

    measles = factories.vaccine(disease=DiseaseProfile.objects.get(code="measles"), doses_in_series=1)
    site = factories.site(person_a.grid, measles)
    with django_capture_on_commit_callbacks(execute=True):
        doses.dose_record(
            actor=None, person=person_a, vaccine=measles, batch=factories.batch(measles), site=site
        )
    assert PersonFacts.objects.get(person=person_a).vaccine_doses == 2


def test_bad_batches_and_people_out_of_area_are_refused(users, person_a, person_b, clinic, jurisdiction):
    vaccine, site, _batch = clinic
    expired = factories.batch(vaccine, expires_in_days=-1)
    with pytest.raises(DomainError, match="expired"):
        doses.dose_record(actor=None, person=person_a, vaccine=vaccine, batch=expired, site=site)
    other = factories.batch(factories.vaccine())
    with pytest.raises(DomainError, match="is not of"):
        doses.dose_record(actor=None, person=person_a, vaccine=vaccine, batch=other, site=site)
    from epigrid.core.tests.factories import UserFactory

    local = UserFactory(role="vaccinator", org_unit=jurisdiction.grid_a)
    with pytest.raises(DomainError, match="outside your area"):
        _record(person_b, clinic, actor=local)
    with pytest.raises(Forbidden):
        _record(person_a, clinic, actor=users["resident"])
    assert not person_a.vaccination_doses.exists()


def test_a_second_dose_the_same_day_is_refused(person_a, clinic):
    _record(person_a, clinic)
    with pytest.raises(DomainError, match="already given that day"):
        _record(person_a, clinic)
    with pytest.raises(Conflict):  # even when a vaccinator overrides the rules
        _record(person_a, clinic, override_reason="测试")
    assert person_a.vaccination_doses.count() == 1


def test_self_report_verified_counts_and_renumbers_in_date_order(users, person_a, clinic):
    vaccine, _site, _batch = clinic
    recorded = _record(person_a, clinic, days_ago=10)
    report = doses.self_report_submit(
        actor=users["resident"],
        person=person_a,
        vaccine=vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=40),
        place="北京市朝阳区接种点",
        lot_number="abc123",
        photo=_png(),
    )
    assert report.status == SelfReportStatus.PENDING and report.lot_number == "ABC123"
    assert report.certificate[:2] == b"\xff\xd8"  # stored re-encoded as JPEG, not the upload
    dose = doses.self_report_verify(actor=users["vaccinator"], report=report)
    recorded.refresh_from_db()
    assert (dose.dose_number, recorded.dose_number) == (1, 2)
    assert dose.source == DoseSource.SELF_REPORT
    status = person_a.vaccination_status.get()
    assert status.doses == 2 and status.series_complete
    assert Notice.objects.filter(user=users["resident"], kind="vaccination_self_report").count() == 1
    with pytest.raises(Conflict, match="reviewed already"):
        doses.self_report_reject(actor=users["vaccinator"], report=report, reason="x")


def test_self_report_rejected_with_a_reason_counts_nowhere(users, person_a, clinic):
    vaccine = clinic[0]
    report = doses.self_report_submit(
        actor=users["resident"],
        person=person_a,
        vaccine=vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=5),
        place="外地",
        photo=_png(),
    )
    with pytest.raises(DomainError, match="reason"):
        doses.self_report_reject(actor=users["vaccinator"], report=report, reason=" ")
    with pytest.raises(Forbidden):
        doses.self_report_verify(actor=users["resident"], report=report)
    doses.self_report_reject(actor=users["vaccinator"], report=report, reason="证明照片不清晰，请重新上传")
    report.refresh_from_db()
    assert report.status == SelfReportStatus.REJECTED and report.dose is None
    assert not person_a.vaccination_doses.exists()
    notice = Notice.objects.get(user=users["resident"], kind="vaccination_self_report")
    assert notice.body == "证明照片不清晰，请重新上传"


def test_self_report_input_errors_store_nothing(users, person_a, person_b, clinic):
    vaccine = clinic[0]
    base = {"actor": users["resident"], "person": person_a, "vaccine": vaccine, "place": "外地"}
    with pytest.raises(DomainError, match="not an image"):
        doses.self_report_submit(**base, given_on=timezone.localdate(), photo=b"%PDF-1.4 not an image")
    with pytest.raises(DomainError, match="future"):
        doses.self_report_submit(**base, given_on=timezone.localdate() + dt.timedelta(days=1), photo=_png())
    with pytest.raises(DomainError, match="where"):
        doses.self_report_submit(**{**base, "place": ""}, given_on=timezone.localdate(), photo=_png())
    with pytest.raises(Forbidden):
        doses.self_report_submit(**{**base, "person": person_b}, given_on=timezone.localdate(), photo=_png())
    assert not SelfReport.objects.exists()


def test_a_self_report_replayed_is_stored_once(users, person_a, clinic):
    import uuid

    client_id = uuid.uuid4()
    kwargs = {
        "actor": users["resident"],
        "person": person_a,
        "vaccine": clinic[0],
        "given_on": timezone.localdate(),
        "place": "外地",
        "photo": _png(),
        "client_id": client_id,
    }
    assert doses.self_report_submit(**kwargs).pk == doses.self_report_submit(**kwargs).pk
    assert SelfReport.objects.count() == 1


def test_serious_aefi_raises_an_alarm_and_mild_does_not(
    users, person_a, clinic, django_capture_on_commit_callbacks
):
    from epigrid.command.models import Alarm

    dose = _record(person_a, clinic)
    with django_capture_on_commit_callbacks(execute=True):
        mild = doses.aefi_report(
            actor=users["vaccinator"],
            dose=dose,
            onset_at=timezone.now(),
            symptoms="注射部位红肿",
            severity="mild",
        )
    assert not mild.serious and not Alarm.objects.filter(kind="vaccination.aefi").exists()
    with django_capture_on_commit_callbacks(execute=True):
        severe = doses.aefi_report(
            actor=users["vaccinator"],
            dose=dose,
            onset_at=timezone.now(),
            symptoms="过敏性休克",
            severity="moderate",
            outcome="hospitalised",
        )
    assert severe.serious  # hospitalised is serious whatever the severity chosen
    alarm = Alarm.objects.get(kind="vaccination.aefi")
    assert alarm.org_code == person_a.org_code
    with pytest.raises(DomainError, match="onset"):
        doses.aefi_report(
            actor=None,
            dose=dose,
            onset_at=dose.given_at - dt.timedelta(hours=1),
            symptoms="x",
            severity="mild",
        )


def test_import_keeps_good_items_and_says_why_of_the_others(users, person_a, clinic):
    vaccine = clinic[0]
    now = timezone.now()
    outcomes = doses.doses_import(
        actor=users["vaccinator"],
        person=person_a,
        items=[
            doses.ImportedDose(vaccine=vaccine, given_at=now - dt.timedelta(days=300), lot_number="L1"),
            doses.ImportedDose(vaccine=vaccine, given_at=now - dt.timedelta(days=300), lot_number="L1"),
            doses.ImportedDose(vaccine=vaccine, given_at=now + dt.timedelta(days=3)),
            doses.ImportedDose(vaccine=vaccine, given_at=now - dt.timedelta(days=270), lot_number="L2"),
        ],
    )
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["Dose", "Conflict", "DomainError", "Dose"]
    assert [d.dose_number for d in person_a.vaccination_doses.order_by("given_at")] == [1, 2]
    assert person_a.vaccination_status.get().series_complete
