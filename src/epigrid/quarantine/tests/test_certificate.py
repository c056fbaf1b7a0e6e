"""The release certificate PDF: Chinese text in the embedded font, the person masked (no full name, ID number
or phone), the site and period, every test with its date and result, the release time in Asia/Shanghai; only
for released placements, and only in scope."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pypdfium2 as pdfium
import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from epigrid.core.tests.factories import PersonFactory
from epigrid.quarantine import certificate, services
from epigrid.quarantine.models import Placement, ScheduledTest
from epigrid.quarantine.tests.factories import hotel

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(data))


@pytest.fixture
def released(jurisdiction):
    hotel(jurisdiction.grid_a, name="海景隔离酒店")
    placement = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))
    shift = dt.timedelta(days=11)
    Placement.objects.filter(pk=placement.pk).update(
        start=placement.start - shift,
        end=placement.end - shift,
        centralised_until=placement.centralised_until - shift,
    )
    for test in placement.tests.all():
        ScheduledTest.objects.filter(pk=test.pk).update(due_date=test.due_date - shift)
    placement.refresh_from_db()
    services.tests_record_results(
        people=[
            (
                placement.person_id,
                timezone.make_aware(dt.datetime.combine(t.due_date, dt.time(9))),
                "negative",
            )
            for t in placement.tests.all()
        ]
    )
    at = timezone.make_aware(dt.datetime(2026, 3, 1, 2, 30), dt.UTC)  # 10:30 in Asia/Shanghai
    placement.refresh_from_db()
    return services.placement_release(actor=None, placement=placement, at=max(at, placement.end))


def test_certificate_is_chinese_masked_with_tests_and_release_time(released, users, login_client):
    response = login_client(users["quarantine_manager"]).get(
        reverse("quarantine:certificate", args=[released.pk])
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="quarantine-{released.pk}-certificate.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    person = released.person
    for part in (
        "解除隔离证明",
        "基本信息",
        "核酸检测记录",
        "海景隔离酒店",
        "密切接触者",
        "阴性",
        "集中隔离",
    ):
        assert part in text, part
    assert person.name_masked in text and person.id_number_masked in text
    assert person.name not in text and person.id_number not in text and person.phone not in text
    local = released.released_at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in text and "Asia/Shanghai" in text
    for test in released.tests.all():
        assert test.due_date.isoformat() in text
    assert text.count("阴性") >= released.tests.count()
    assert f"Q{released.pk:08d}" in text


def test_only_released_placements_in_scope_have_a_certificate(released, jurisdiction, users, login_client):
    open_one = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a))
    manager = users["quarantine_manager"]
    with pytest.raises(Http404):
        certificate.gather(actor=manager, placement=open_one)
    assert login_client(manager).get(reverse("quarantine:certificate", args=[open_one.pk])).status_code == 404
    hotel(jurisdiction.grid_b)
    elsewhere = services.placement_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_b))
    worker = login_client(users["grid_worker"])  # grid A
    assert worker.get(reverse("quarantine:certificate", args=[released.pk])).status_code == 200
    assert worker.get(reverse("quarantine:certificate", args=[elsewhere.pk])).status_code == 404
    assert (
        login_client(users["sampler"]).get(reverse("quarantine:certificate", args=[released.pk])).status_code
        == 403
    )
