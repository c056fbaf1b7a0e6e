"""What an announcement may carry as a file, judged by the bytes and never by the name the browser sent.

Images are re-encoded through ``core.images`` (no metadata, no disguised files, at most 1280 px a side).
Documents are PDF, Excel (.xlsx), Word (.docx) and plain text; the stored name is cleaned (no path, no
control or reserved characters) and ends in the extension of what the file really is.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _

from epigrid.core.errors import DomainError
from epigrid.core.images import photo_jpeg

MAX_FILE_BYTES = 10 * 1024 * 1024
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
IMAGE_NAMES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_RESERVED = set('<>:"/\\|?*')


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    data: bytes
    is_image: bool


def clean_name(name: str, extension: str) -> str:
    """The last path component of ``name`` without control or reserved characters, at most 150 characters
    before ``.extension`` (which replaces whatever extension it claimed)."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(ch for ch in base if ch.isprintable() and ch not in _RESERVED).strip(" .")
    stem = base.rsplit(".", 1)[0].strip(" .") if "." in base else base
    return f"{stem[:150] or _('attachment')}.{extension}"


def _is_image(data: bytes) -> bool:
    return data.startswith(IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _office_kind(data: bytes) -> tuple[str, str] | None:
    """("xlsx", type) or ("docx", type) for an Office Open XML package, else None (reads the directory only)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "xl/workbook.xml" in names:
        return "xlsx", XLSX
    if "word/document.xml" in names:
        return "docx", DOCX
    return None


def _text(data: bytes) -> bytes | None:
    """UTF-8 text (a GB 18030 file is converted), or None for anything with control bytes or undecodable."""
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(unicodedata.category(ch) == "Cc" and ch not in "\r\n\t\f" for ch in text):
            return None
        return text.encode("utf-8")
    return None


def checked_file(name: str, data: bytes, *, image_only: bool = False) -> CheckedFile:
    """The file as it will be stored, or a DomainError (field ``file``) saying what is wrong."""
    if not data:
        raise DomainError(_("The file is empty."), field="file")
    if len(data) > MAX_FILE_BYTES:
        raise DomainError(_("The file is larger than 10 MB."), field="file")
    lowered = (name or "").lower()
    if image_only or _is_image(data) or lowered.endswith(IMAGE_NAMES):
        try:
            jpeg = photo_jpeg(data)
        except DomainError as err:
            raise DomainError(err.message, field="file") from None
        return CheckedFile(clean_name(name, "jpg"), "image/jpeg", jpeg, True)
    if data.startswith(b"%PDF-"):
        return CheckedFile(clean_name(name, "pdf"), "application/pdf", data, False)
    if data.startswith(b"PK\x03\x04"):
        office = _office_kind(data)
        if office is not None:
            extension, content_type = office
            return CheckedFile(clean_name(name, extension), content_type, data, False)
    elif lowered.endswith(".txt"):
        text = _text(data)
        if text is not None:
            return CheckedFile(clean_name(name, "txt"), "text/plain; charset=utf-8", text, False)
    raise DomainError(
        _("Attach an image (JPEG, PNG) or a PDF, Excel (.xlsx), Word (.docx) or text (.txt) file."),
        field="file",
    )
