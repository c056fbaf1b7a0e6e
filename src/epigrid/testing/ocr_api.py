"""ID-card OCR API (contracts.md): ``POST /api/v1/ocr/id-card`` with a multipart ``image``.

A typing aid for the sampling desk: it reads the card and returns the fields; nothing is stored, and the
sampler confirms the person before a specimen is registered.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from epigrid.core.errors import Forbidden
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.schemas import ErrorOut
from epigrid.testing import ocr

router = Router(tags=["ocr"])


class IdCardOut(Schema):
    name: str | None
    sex: str | None  # "M" / "F"
    ethnicity: str | None
    birth_date: dt.date | None
    address: str | None
    id_number: str | None
    id_number_valid: bool
    confidence: dict[str, float]
    warnings: list[str]


@router.post("ocr/id-card", response={200: IdCardOut, 400: ErrorOut, 403: ErrorOut})
def ocr_id_card(request: HttpRequest, image: File[UploadedFile] = None):
    """Read the front of a resident ID card from a photo (JPEG/PNG, at most 8 MB and 25 megapixels).

    ``sex`` is "M"/"F"; ``warnings`` say what was corrected or could not be read, e.g. a printed birth date
    that differs from the one in the ID number. 400 when the upload is not an image, too large, or shows no card.
    """
    user = request.user
    if not (has_perm(user, Perm.PERSON_EDIT) and is_staff_role(user.role)):
        raise Forbidden(_("Only sampling staff may read ID cards."))
    if image is None:
        raise ocr.OcrError(_("Send the photo of the ID card as the multipart field 'image'."), field="image")
    if image.size is not None and image.size > ocr.MAX_BYTES:
        raise ocr.OcrError(
            _("The image is %(mb).1f MB; the limit is %(limit)d MB.")
            % {"mb": image.size / 1024 / 1024, "limit": ocr.MAX_BYTES // 1024 // 1024},
            field="image",
        )
    result = ocr.read_id_card(image.read())
    return {
        "name": result.name,
        "sex": result.sex,
        "ethnicity": result.ethnicity,
        "birth_date": result.birth_date,
        "address": result.address,
        "id_number": result.id_number,
        "id_number_valid": result.id_number_valid,
        "confidence": result.confidence,
        "warnings": result.warnings,
    }
