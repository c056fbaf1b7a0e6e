"""ID-card OCR on generated cards (issue 13 item 3): variants, bad input, and the API endpoint.

The OCR engine loads once per test process (~1 s) and each read takes ~0.5 s on one core, so every test
reads one card only.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from epigrid.testing import ocr
from epigrid.testing.idcard import make_card, make_no_card

URL = "/api/v1/ocr/id-card"


def _sex(printed: str) -> str:
    return "M" if printed == "男" else "F"


@pytest.mark.parametrize(
    ("variant", "seed"),
    [("clean", 1), ("rotated", 2), ("rot90", 3), ("rot180", 4), ("blurred", 5), ("jpeg", 6)],
)
def test_generated_card_is_read_exactly(variant, seed):
    card = make_card(seed, variant)
    result = ocr.read_id_card(card.data)
    truth = card.truth
    assert result.id_number == truth.id_number, result.texts
    assert result.id_number_valid
    assert result.name == truth.name, result.texts
    assert result.sex == _sex(truth.sex)
    assert result.birth_date == truth.birth_date
    assert result.address == truth.address, result.texts
    assert result.ethnicity == truth.ethnicity
    assert not [w for w in result.warnings if "differs" in w]
    assert set(result.confidence) >= {"id_number", "name", "sex", "birth_date", "address"}


def test_a_picture_without_a_card_says_so():
    with pytest.raises(ocr.NoCardFound, match="No ID card"):
        ocr.read_id_card(make_no_card(1))


def test_bytes_that_are_not_an_image():
    with pytest.raises(ocr.OcrError, match="not an image"):
        ocr.read_id_card(b"%PDF-1.7 definitely not a photo" * 10)
    with pytest.raises(ocr.OcrError, match="empty"):
        ocr.read_id_card(b"")


def test_oversized_uploads_are_refused_before_decoding():
    with pytest.raises(ocr.OcrError, match="limit is 8 MB"):
        ocr.read_id_card(b"\xff\xd8\xff" + bytes(ocr.MAX_BYTES))
    buf = io.BytesIO()
    Image.new("1", (6000, 4500)).save(buf, "PNG")  # 27 megapixels in a few kB
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(ocr.OcrError, match=r"27\.0 megapixels; the limit is 25"):
        ocr.read_id_card(buf.getvalue())


def test_ocr_confusions_are_fixed_only_when_the_checksum_then_validates():
    assert ocr._fix_id("36O426199101010071") == ("360426199101010071", True, True)
    assert ocr._fix_id("11010519491231002x") == ("11010519491231002X", True, False)
    assert ocr._fix_id("I2OIO3I988O6OI824I") == ("120103198806018241", True, True)
    # A misread digit (not a confusable letter) cannot be repaired: reported as invalid, not guessed.
    number, valid, corrected = ocr._fix_id("360426199101010072")
    assert (number, valid, corrected) == ("360426199101010072", False, False)


@pytest.mark.django_db
def test_api_sampler_reads_a_card_resident_is_refused_garbage_is_400(users, api_client):
    card = make_card(7, "clean")
    sampler = api_client(users["sampler"])

    def post(client, data, name="card.png"):
        upload = io.BytesIO(data)
        upload.name = name
        return client.post(URL, {"image": upload}, HTTP_ACCEPT_LANGUAGE="en")

    response = post(sampler, card.data)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id_number"] == card.truth.id_number
    assert body["id_number_valid"] is True
    assert body["name"] == card.truth.name
    assert body["sex"] == _sex(card.truth.sex)
    assert body["birth_date"] == card.truth.birth_date.isoformat()
    assert body["address"] == card.truth.address
    assert body["ethnicity"] == card.truth.ethnicity

    assert post(api_client(users["resident"]), card.data).status_code == 403
    assert post(api_client(None), card.data).status_code == 401

    garbage = post(sampler, b"GIF89a but not really", "x.gif")
    assert garbage.status_code == 400
    assert "not an image" in garbage.json()["detail"]
    missing = sampler.post(URL, {}, HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 400
    assert "image" in missing.json()["detail"]
