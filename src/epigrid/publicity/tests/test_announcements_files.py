"""Attachments: recognised by their bytes, images re-encoded, names cleaned, limits; a change of the files of
an approved announcement is a change of what the reviewer approved."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from epigrid.core.errors import DomainError, Forbidden
from epigrid.publicity.models import AnnouncementStatus, Attachment
from epigrid.publicity.services import announcements as service
from epigrid.publicity.services.files import DOCX, MAX_FILE_BYTES, XLSX, clean_name
from epigrid.publicity.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(jurisdiction):
    return factories.editor(jurisdiction.district, username="author")


@pytest.fixture
def draft(author):
    return factories.draft(author)


def attach(draft, author, name, data, **kw):
    return service.attachment_add(actor=author, announcement=draft, name=name, data=data, **kw)


def test_an_image_is_reencoded_as_jpeg(draft, author):
    made = attach(draft, author, "流程图.png", factories.png(2400, 1200), image=True)
    assert (made.is_image, made.content_type, made.name) == (True, "image/jpeg", "流程图.jpg")
    stored = Image.open(io.BytesIO(bytes(made.data)))
    assert stored.format == "JPEG" and max(stored.size) == 1280
    assert made.size == len(bytes(made.data))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.jpg", b"this is not a picture at all"),
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20),
        ("anything.bin", b"\xff\xd8\xff\xe0 broken jpeg"),
    ],
)
def test_a_garbage_image_is_refused(draft, author, name, data):
    with pytest.raises(DomainError) as err:
        attach(draft, author, name, data)
    assert err.value.field == "file"
    assert not Attachment.objects.exists()


def test_the_image_button_takes_only_images(draft, author):
    with pytest.raises(DomainError):
        attach(draft, author, "通告.pdf", factories.pdf(), image=True)


@pytest.mark.parametrize(
    ("name", "data", "content_type", "stored_name"),
    [
        ("附件1.PDF", factories.pdf(), "application/pdf", "附件1.pdf"),
        ("采样点.xlsx", factories.xlsx(), XLSX, "采样点.xlsx"),
        ("须知.docx", factories.docx(), DOCX, "须知.docx"),
        ("说明.txt", "居家隔离须知".encode("gb18030"), "text/plain; charset=utf-8", "说明.txt"),
        ("disguised.txt", factories.pdf(), "application/pdf", "disguised.pdf"),
    ],
)
def test_documents_by_their_content(draft, author, name, data, content_type, stored_name):
    made = attach(draft, author, name, data)
    assert (made.is_image, made.content_type, made.name) == (False, content_type, stored_name)
    if stored_name == "说明.txt":
        assert bytes(made.data).decode("utf-8") == "居家隔离须知"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("macro.docm", factories.plain_zip()),
        ("run.exe", b"MZ\x90\x00\x03"),
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("binary.txt", b"abc\x00\x01def"),
        ("empty.pdf", b""),
    ],
)
def test_other_files_are_refused(draft, author, name, data):
    with pytest.raises(DomainError) as err:
        attach(draft, author, name, data)
    assert err.value.field == "file"


def test_a_file_over_ten_megabytes_is_refused(draft, author):
    big = factories.pdf() + b"0" * MAX_FILE_BYTES
    with pytest.raises(DomainError) as err:
        attach(draft, author, "big.pdf", big)
    assert "10 MB" in err.value.message
    assert not Attachment.objects.exists()


def test_names_are_cleaned():
    assert clean_name("C:\\Users\\x\\通告<1>.pdf", "pdf") == "通告1.pdf"
    assert clean_name("../../etc/passwd", "txt") == "passwd.txt"
    assert clean_name("a\x00b\u202ec.exe", "pdf") == "abc.pdf"
    assert clean_name("", "pdf") == "attachment.pdf"
    assert clean_name("长" * 300 + ".pdf", "pdf") == "长" * 150 + ".pdf"


def test_changing_the_files_of_an_approved_announcement_needs_review_again(author, users):
    made = factories.approved(author, users["district_admin"])
    attach(made, author, "附件.pdf", factories.pdf())
    made.refresh_from_db()
    assert made.status == AnnouncementStatus.DRAFT


def test_remove_and_who_may(draft, author, users):
    made = attach(draft, author, "附件.pdf", factories.pdf())
    with pytest.raises(Forbidden):
        service.attachment_remove(actor=users["grid_worker"], attachment=made)
    service.attachment_remove(actor=author, attachment=made)
    assert not Attachment.objects.exists()
