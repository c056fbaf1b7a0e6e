"""The investigation report PDF: Chinese text in the embedded font, digits and masks readable, every section,
nobody's full ID number, phone or name, and the same scope as the case."""

from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.core.roles import Role
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.investigation import report, services
from epigrid.investigation.tests.factories import local, old_venue, stay

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(data))


@pytest.fixture
def epi(users):
    return users["epidemiologist"]


@pytest.fixture
def case(jurisdiction, epi):
    venue = old_venue(jurisdiction.grid_a, name="长江路小馆")
    person = PersonFactory(grid=jurisdiction.grid_a)
    contact = PersonFactory(grid=jurisdiction.grid_a)
    stay(person, venue, local(-2, 12), 60)
    stay(contact, venue, local(-2, 12, 10), 40)
    case = services.case_create(
        actor=epi, person=person, first_positive_at=local(-1, 9), isolated_at=local(-1, 18), notes="学校聚集"
    )
    services.trajectory_add(actor=epi, case=case, start=local(-2, 19), end=local(-2, 20), place="朋友家")
    services.contacts_dispatch(actor=epi, case=case)
    return case


def test_report_is_a_chinese_pdf_with_every_section_and_masked_people(case, epi, login_client):
    response = login_client(epi).get(reverse("investigation:case_report", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="case-{case.pk}-report.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    for heading in (
        "流行病学调查报告",
        "病例基本情况",
        "传染期",
        "活动轨迹",
        "接触者",
        "传播关系",
        "已采取的处置措施",
    ):
        assert heading in text, heading
    person = case.person
    contact = case.contacts.get().person
    assert f"#{case.pk}" in text
    assert person.name_masked in text and person.id_number_masked in text and person.phone_masked in text
    assert contact.name_masked in text and contact.id_number_masked in text
    assert "长江路小馆" in text and "朋友家" in text and "学校聚集" in text
    assert local(-2, 12).strftime("%Y-%m-%d %H:%M") in text  # times in Asia/Shanghai
    assert "已移交隔离 / 网格 1 人" in text  # actions from the contact statuses
    assert "建立病例" in text and "移交隔离管控 / 网格任务" in text  # and from the audit log
    for full in (person.id_number, person.phone, person.name, contact.id_number, contact.phone, contact.name):
        assert full not in text
    # the Chinese is drawn in the embedded font
    assert b"/FontFile2" in response.content


def test_generated_time_is_in_asia_shanghai(case, epi):
    at = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)  # 2026-03-02 00:30 in Shanghai
    text = pdf_text(report.case_report_pdf(report.gather(actor=epi, case=case, now=at)))
    assert "生成时间：2026-03-02 00:30（Asia/Shanghai）" in text


def test_report_of_a_case_out_of_scope_is_404_and_viewers_may_read_it(
    case, users, jurisdiction, login_client
):
    elsewhere = UserFactory(username="epi_b", role=Role.EPIDEMIOLOGIST, org_unit=jurisdiction.street_b)
    url = reverse("investigation:case_report", args=[case.pk])
    assert login_client(elsewhere).get(url).status_code == 404
    assert login_client(users["commander"]).get(url).status_code == 200
    assert login_client(users["grid_worker"]).get(url).status_code == 403


def test_report_of_a_case_without_trajectory_or_contacts(jurisdiction, epi):
    person = PersonFactory(grid=jurisdiction.grid_a)
    bare = services.case_create(actor=epi, person=person, onset_date=timezone.localdate())
    text = pdf_text(report.case_report_pdf(report.gather(actor=epi, case=bare)))
    assert "传染期内无扫码记录" in text and "未发现密切接触者" in text and "尚未查明传染来源" in text
