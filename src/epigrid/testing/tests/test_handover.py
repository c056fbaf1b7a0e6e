"""Box handover to transport: the sampler's page, the handover record and its printable sheet (PDF), then the
lab's receipt with missing and extra tubes flagged."""

from __future__ import annotations

import uuid

import pypdfium2 as pdfium
import pytest
from django.urls import reverse

from epigrid.core.errors import Conflict, DomainError
from epigrid.core.models import AuditEntry
from epigrid.core.tests.factories import PersonFactory
from epigrid.testing import services
from epigrid.testing.handover import handover_sheet_pdf
from epigrid.testing.models import Box, Tube


def sealed(users, barcode: str, people: list, pool: int = 5) -> Tube:
    tube = services.tube_register(actor=users["sampler"], barcode=barcode, pool_size=pool)
    for person in people:
        services.specimen_add(actor=users["sampler"], tube=tube, person=person, client_id=uuid.uuid4())
    return services.tube_seal(actor=users["sampler"], tube=tube)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(data))


@pytest.fixture
def tubes(users, jurisdiction):
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(7)]
    return [
        sealed(users, "HO-1", people[:3]),
        sealed(users, "HO-2", people[3:6]),
        sealed(users, "HO-3", people[6:]),
    ]


def test_sampler_hands_over_a_box_and_prints_the_sheet(users, tubes, login_client):
    client = login_client(users["sampler"])
    assert client.get(reverse("testing:handover")).status_code == 200
    response = client.post(
        reverse("testing:handover"),
        {"code": "BOX-H1", "courier": "王师傅 13800138000", "barcodes": "HO-1\nHO-2, HO-3\nHO-1"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("testing:box", args=["BOX-H1"])
    box = Box.objects.get(code="BOX-H1")
    assert (box.packed_by, box.courier, box.tubes.count()) == (users["sampler"], "王师傅 13800138000", 3)
    assert box.handed_over_at is not None
    assert AuditEntry.objects.filter(action="box.pack", object_id=str(box.pk)).exists()

    page = client.get(response["Location"]).content.decode()
    assert 'data-box="BOX-H1" data-tubes="3" data-swabs="7"' in page
    assert reverse("testing:box_sheet", args=["BOX-H1"]) in page
    listed = client.get(reverse("testing:handover")).content.decode()
    assert 'data-testid="box-row" data-box="BOX-H1"' in listed

    sheet = client.get(reverse("testing:box_sheet", args=["BOX-H1"]))
    assert sheet.status_code == 200 and sheet["Content-Type"] == "application/pdf"
    text = pdf_text(sheet.content)
    for expected in (
        "核酸样本转运交接单",
        "BOX-H1",
        "王师傅",
        "HO-1",
        "HO-2",
        "HO-3",
        "3 管",
        "7 份",
        "转运人签字",
    ):
        assert expected in text, expected
    assert "sampler" in text  # who handed it over


def test_handover_refuses_bad_boxes_with_clear_errors(users, tubes, login_client):
    client = login_client(users["sampler"])
    services.tube_register(actor=users["sampler"], barcode="HO-OPEN", pool_size=5)
    cases = [
        ({"code": "BOX 1!", "courier": "王", "barcodes": "HO-1"}, "letters, digits or dashes"),
        ({"code": "BOX-2", "courier": "王", "barcodes": "HO-1\nHO-404"}, "Unknown tubes: HO-404"),
        ({"code": "BOX-3", "courier": "王", "barcodes": "HO-OPEN"}, "not sealed"),
    ]
    for data, message in cases:
        response = client.post(reverse("testing:handover"), data, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, data
        assert message in response.content.decode(), message
    assert not Box.objects.exists()
    # a form without tubes or courier: form errors
    assert client.post(reverse("testing:handover"), {"code": "BOX-4"}).status_code == 400
    services.box_pack(actor=users["sampler"], code="BOX-5", barcodes=["HO-1"], courier="王")
    again = client.post(
        reverse("testing:handover"),
        {"code": "BOX-6", "courier": "王", "barcodes": "HO-1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert again.status_code == 400 and "boxed already" in again.content.decode()
    with pytest.raises(Conflict):
        services.box_pack(actor=users["sampler"], code="BOX-5", barcodes=["HO-2"])
    with pytest.raises(DomainError):
        services.box_pack(actor=users["sampler"], code="BOX-7", barcodes=[" "])


def test_lab_receipt_shows_on_the_box_record(users, tubes, login_client):
    services.box_pack(actor=users["sampler"], code="BOX-R", barcodes=["HO-1", "HO-2", "HO-3"], courier="李")
    box = Box.objects.get(code="BOX-R")
    services.box_receive(actor=users["lab_technician"], box=box, scanned=["HO-1", "HO-2", "HO-9"])
    lab = login_client(users["lab_technician"])
    body = lab.get(reverse("testing:box", args=["BOX-R"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="box-missing"' in body and "HO-3" in body
    assert 'data-testid="box-extra"' in body and "HO-9" in body
    assert lab.get(reverse("testing:box_sheet", args=["BOX-R"])).status_code == 200
    listed = login_client(users["sampler"]).get(reverse("testing:handover"), HTTP_ACCEPT_LANGUAGE="en")
    assert "discrepancy" in listed.content.decode()


def test_handover_pages_need_the_sampler_or_the_lab(users, tubes, login_client):
    services.box_pack(actor=users["sampler"], code="BOX-P", barcodes=["HO-1"])
    for role in ("resident", "grid_worker", "lab_technician"):
        assert login_client(users[role]).get(reverse("testing:handover")).status_code == 403, role
    for role in ("resident", "grid_worker"):
        client = login_client(users[role])
        assert client.get(reverse("testing:box", args=["BOX-P"])).status_code == 403, role
        assert client.get(reverse("testing:box_sheet", args=["BOX-P"])).status_code == 403, role
    assert login_client(users["sampler"]).get(reverse("testing:box", args=["NOPE"])).status_code == 404


def test_the_sheet_runs_over_pages_for_a_full_box(users, jurisdiction):
    person = PersonFactory(grid=jurisdiction.grid_a)
    barcodes = [f"HP-{i:03d}" for i in range(150)]
    for barcode in barcodes:
        sealed(users, barcode, [person], pool=1)
    box = services.box_pack(actor=users["sampler"], code="BOX-BIG", barcodes=barcodes, courier="赵")
    data = handover_sheet_pdf(box)
    assert len(pdfium.PdfDocument(data)) >= 2
    text = pdf_text(data)
    assert all(b in text for b in barcodes) and "150 管" in text
