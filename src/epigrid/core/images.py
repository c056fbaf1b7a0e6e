"""Photos taken as evidence (door seals, task evidence, emergencies): checked and re-encoded once, here."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from epigrid.core.errors import DomainError

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_SIDE = 1280


def photo_jpeg(data: bytes) -> bytes:
    """A JPEG of at most 1280 px a side from an uploaded image, or a DomainError on field ``photo``:
    what is stored is never the upload itself (no metadata, no oversized or non-image files)."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        raise DomainError(_("The photo is larger than 8 MB."), field="photo")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        raise DomainError(_("The photo is not an image (send a JPEG or PNG)."), field="photo") from None
    image = image.convert("RGB")
    image.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()
