"""Self-report review through the Django test client: who may look and who may act, the queue with its
status filter, the certificate photo (scoped: 404 out of scope), verifying and rejecting with a reason."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows
from epigrid.core.tests.factories import UserFactory
from epigrid.vaccination.models import Dose, DoseSource, SelfReport, SelfReportStatus
from epigrid.vaccination.services import doses
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db

LIST = reverse("vaccination:self_reports")


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), "white").save(out, format="PNG")
    return out.getvalue()


def report_of(person, vaccine, *, days_ago: int = 40, place: str = "外省某医院") -> SelfReport:
    return doses.self_report_submit(
        actor=None,
        person=person,
        vaccine=vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=days_ago),
        place=place,
        photo=photo(),
        lot_number="abc123",
    )


def detail(report: SelfReport) -> str:
    return reverse("vaccination:self_report_detail", args=[report.pk])


def certificate(report: SelfReport) -> str:
    return reverse("vaccination:self_report_certificate", args=[report.pk])


@pytest.fixture
def vaccine(jurisdiction):
    return factories.vaccine()


@pytest.fixture
def report(person_a, vaccine):
    return report_of(person_a, vaccine)


@pytest.fixture
def reviewer(users, login_client):
    return login_client(users["vaccinator"])


# --- access -----------------------------------------------------------------------------------------------


def test_review_pages_per_role(report, users, login_client, client):
    urls = [LIST, detail(report), certificate(report)]
    for role in Role:
        browser = login_client(users[role.value])
        for url in urls:
            response = browser.get(url)
            if may(role.value, Perm.VACCINATION_VIEW):
                # grid roles sit in grid A, where person A lives: they see the report
                assert response.status_code == 200, (role.value, url)
            else:
                assert response.status_code == 403, (role.value, url)
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page


def test_viewers_look_but_may_not_act(report, users, login_client):
    for role in ("grid_worker", "district_admin", "commander"):
        browser = login_client(users[role])
        html = browser.get(detail(report)).content.decode()
        assert 'data-testid="certificate"' in html
        assert 'data-testid="verify"' not in html and 'data-testid="reject"' not in html
        assert browser.post(detail(report), {"action": "verify"}).status_code == 403
        assert browser.post(detail(report), {"action": "reject", "reason": "假"}).status_code == 403
    report.refresh_from_db()
    assert report.status == SelfReportStatus.PENDING
    assert not Dose.objects.exists()
    resident = login_client(users["resident"])  # the person themselves: their own page is elsewhere
    assert resident.post(detail(report), {"action": "verify"}).status_code == 403


def test_out_of_scope_reports_and_certificates_are_404(jurisdiction, person_b, vaccine, users, login_client):
    other = report_of(person_b, vaccine)
    worker = login_client(users["grid_worker"])  # grid A
    for url in (detail(other), certificate(other)):
        assert worker.get(url).status_code == 404
    assert f'data-report="{other.pk}"' not in worker.get(LIST).content.decode()
    local = login_client(UserFactory(username="vacc_a", role=Role.VACCINATOR, org_unit=jurisdiction.street_a))
    for url in (detail(other), certificate(other)):
        assert local.get(url).status_code == 404
    assert local.post(detail(other), {"action": "verify"}).status_code == 404
    other.refresh_from_db()
    assert other.status == SelfReportStatus.PENDING
    missing = reverse("vaccination:self_report_detail", args=[other.pk + 1000])
    assert login_client(users["vaccinator"]).get(missing).status_code == 404


# --- the queue --------------------------------------------------------------------------------------------


def test_queue_shows_pending_masked_and_filters_by_status(report, person_a, vaccine, reviewer):
    html = reviewer.get(LIST).content.decode()
    assert f'data-report="{report.pk}" data-status="pending"' in html
    assert person_a.name_masked in html and person_a.id_number_masked in html
    assert person_a.name not in html and person_a.id_number not in html
    assert 'data-status="pending" data-count="1"' in html
    verified = reviewer.get(LIST, {"status": "verified"}).content.decode()
    assert f'data-report="{report.pk}"' not in verified and 'data-testid="no-reports"' in verified
    everything = reviewer.get(LIST, {"status": "all"}).content.decode()
    assert f'data-report="{report.pk}"' in everything
    nonsense = reviewer.get(LIST, {"status": "<script>"}).content.decode()
    assert f'data-report="{report.pk}"' in nonsense  # an unknown filter shows the queue
    partial = reviewer.get(LIST, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and f'data-report="{report.pk}"' in partial


# --- the report and its certificate -----------------------------------------------------------------------


def test_detail_shows_the_report_and_the_certificate_image(report, person_a, reviewer):
    html = reviewer.get(detail(report)).content.decode()
    assert certificate(report) in html and 'data-testid="certificate"' in html
    assert person_a.name_masked in html and person_a.id_number_masked in html
    assert person_a.name not in html and person_a.id_number not in html
    assert "外省某医院" in html and "ABC123" in html
    image = reviewer.get(certificate(report))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image.content.startswith(b"\xff\xd8")
    assert "no-store" in image["Cache-Control"]


def test_verify_adds_the_dose_and_moves_to_the_next_report(report, person_a, vaccine, jurisdiction, reviewer):
    later = report_of(factories.person_born(jurisdiction.grid_a, dt.date(1970, 2, 2)), vaccine)
    response = reviewer.post(detail(report), {"action": "verify"})
    assert response.status_code == 302 and response["Location"] == detail(later)
    report.refresh_from_db()
    assert report.status == SelfReportStatus.VERIFIED and report.dose_id
    dose = Dose.objects.get(person=person_a)
    assert (dose.source, dose.dose_number, dose.given_on) == (DoseSource.SELF_REPORT, 1, report.given_on)
    html = reviewer.get(response["Location"]).content.decode()
    assert shows(
        html,
        "Verified: %(vaccine)s of %(day)s is now dose %(n)d of %(name)s.",
        vaccine=vaccine.name,
        day=report.given_on.isoformat(),
        n=1,
        name=person_a.name_masked,
    )
    # reviewed once: a second decision is refused and says why
    again = reviewer.post(detail(report), {"action": "reject", "reason": "重复"})
    assert again.status_code == 400
    assert shows(again.content.decode(), "This report has been reviewed already.")
    assert SelfReport.objects.get(pk=report.pk).status == SelfReportStatus.VERIFIED
    # the last of the queue leads back to the list
    assert reviewer.post(detail(later), {"action": "verify"})["Location"] == LIST


def test_reject_needs_a_reason(report, person_a, reviewer):
    empty = reviewer.post(detail(report), {"action": "reject", "reason": "  "})
    assert empty.status_code == 400
    assert shows(empty.content.decode(), "Give the reason for the rejection; the resident reads it.")
    report.refresh_from_db()
    assert report.status == SelfReportStatus.PENDING
    response = reviewer.post(detail(report), {"action": "reject", "reason": "证书照片模糊，看不清日期"})
    assert response.status_code == 302 and response["Location"] == LIST
    assert shows(
        reviewer.get(LIST).content.decode(),
        "Rejected: %(name)s is told the reason.",
        name=person_a.name_masked,
    )
    report.refresh_from_db()
    assert (report.status, report.reason) == (SelfReportStatus.REJECTED, "证书照片模糊，看不清日期")
    assert not Dose.objects.filter(person=person_a).exists()
    html = reviewer.get(detail(report)).content.decode()
    assert "证书照片模糊，看不清日期" in html and 'data-testid="verify"' not in html


def test_a_report_on_a_day_with_a_recorded_dose_warns_and_verifying_says_why_not(person_a, vaccine, reviewer):
    site = factories.site(person_a.grid, vaccine)
    given = timezone.now() - dt.timedelta(days=40)
    doses.dose_record(
        actor=None,
        person=person_a,
        vaccine=vaccine,
        batch=factories.batch(vaccine),
        site=site,
        given_at=given,
    )
    twin = report_of(person_a, vaccine, days_ago=(timezone.localdate() - timezone.localdate(given)).days)
    html = reviewer.get(detail(twin)).content.decode()
    assert 'data-testid="same-day"' in html
    refused = reviewer.post(detail(twin), {"action": "verify"})
    assert refused.status_code == 400
    assert shows(
        refused.content.decode(),
        "A dose against this disease is already recorded for %(day)s.",
        day=twin.given_on,
    )
    twin.refresh_from_db()
    assert twin.status == SelfReportStatus.PENDING
    assert Dose.objects.filter(person=person_a).count() == 1
