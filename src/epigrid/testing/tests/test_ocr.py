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


def _line(text, x0, y0, x1, y1, score=0.99):
    import numpy as np

    return ocr._Line(text, score, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float))


def test_fields_parse_whether_labels_and_values_are_merged_or_split_and_upside_down():
    lines = [
        _line("姓名黃小明", 70, 60, 260, 90),  # merged, and a traditional form the recogniser likes
        _line("性别", 70, 128, 130, 152),  # split from its value
        _line("男", 165, 123, 195, 153),
        _line("民族汉", 290, 128, 420, 153),
        _line("出生", 70, 192, 130, 216),
        _line("1949年12月31日", 165, 187, 420, 217),
        _line("住址", 70, 256, 130, 280),
        _line("北京市朝阳区某某路", 165, 251, 560, 281),
        _line("1号院2号楼", 165, 291, 400, 321),
        _line("C", 700, 300, 720, 320, 0.7),  # a speck on the portrait
        _line("公民身份号码", 70, 452, 215, 476),
        _line("11010519491231OO2X", 260, 446, 665, 480),  # O for 0: fixed because the checksum then holds
    ]
    ocr._upright(lines)
    result = ocr._parse(lines)
    assert (result.name, result.ethnicity) == ("黄小明", "汉")
    assert result.birth_date.isoformat() == "1949-12-31"
    assert result.address == "北京市朝阳区某某路1号院2号楼"
    assert (result.id_number, result.id_number_valid) == ("11010519491231002X", True)
    assert any("confusions" in w for w in result.warnings)
    # The ID number's sex (even sequence digit: female) wins over the printed 男, with a warning.
    assert result.sex == "F"
    assert any("printed sex (M) differs" in w for w in result.warnings)

    # The same card upside down: every point turned 180 degrees about the card's centre.
    for line in lines:
        line.pts = [856, 540] - line.pts
    assert ocr._upright(lines) % 360 == 180
    flipped = ocr._parse(lines)
    assert (flipped.name, flipped.address, flipped.id_number) == (
        result.name,
        result.address,
        result.id_number,
    )
