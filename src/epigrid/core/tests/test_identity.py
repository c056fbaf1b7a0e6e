"""ID numbers, phones and masking: the vectors of domain.md plus property tests."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from epigrid.core.identity import (
    IdentityError,
    IdType,
    compose_resident_id,
    normalize_document,
    normalize_phone,
    parse_resident_id,
    ric_check_char,
)
from epigrid.core.masking import mask_document, mask_name, mask_phone


@pytest.mark.parametrize("number", ["360426199101010071", "120103198806018241", "11010519491231002X"])
def test_valid_vectors(number):
    assert parse_resident_id(number).number == number


def test_invalid_vector_names_the_check_character():
    with pytest.raises(IdentityError, match="check character is 2 but should be 1"):
        parse_resident_id("360426199101010072")


def test_lower_case_x_is_upper_cased():
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


def test_fifteen_digit_number_converts():
    # 15-digit form of 360426199101010071: drop "19" from the year and the check character.
    converted = parse_resident_id("360426910101007")
    assert converted.number == "360426199101010071"


def test_derived_sex_and_birth_date():
    parsed = parse_resident_id("360426199101010071")
    assert parsed.birth_date == dt.date(1991, 1, 1)
    assert parsed.sex == "M"  # sequence 007 is odd
    assert parse_resident_id("120103198806018241").sex == "F"  # 824: even


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("36042619910101007", "18 characters; this one has 17"),
        ("3604261991010100A1", "17 digits followed by a digit or X"),
        ("360426199102300071", "not a real date"),
        ("", "18 characters; this one has 0"),
    ],
)
def test_precise_errors(value, message):
    with pytest.raises(IdentityError, match=message):
        parse_resident_id(value)


def test_other_documents():
    assert normalize_document(IdType.PASSPORT, "e1234 5678") == "E12345678"
    assert normalize_document(IdType.HK_MACAU, "H12345678") == "H12345678"
    with pytest.raises(IdentityError, match="H or M"):
        normalize_document(IdType.HK_MACAU, "X12345678")
    foreign = compose_resident_id("931234", dt.date(1985, 5, 5), 1)
    assert normalize_document(IdType.FOREIGN_PERMANENT, foreign) == foreign
    with pytest.raises(IdentityError, match="starts with 9"):
        normalize_document(IdType.FOREIGN_PERMANENT, "360426199101010071")


@pytest.mark.parametrize("raw", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678"])
def test_phone_forms(raw):
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "abc"])
def test_bad_phones(raw):
    with pytest.raises(IdentityError, match="11 digits"):
        normalize_phone(raw)


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31))
areas = st.sampled_from(["110105", "120103", "310101", "360426", "370602", "370611", "370613", "440305"])


@given(area=areas, birth=dates, seq=st.integers(0, 999))
def test_composed_ids_validate_and_agree_with_stdnum(area, birth, seq):
    number = compose_resident_id(area, birth, seq)
    parsed = parse_resident_id(number)
    assert parsed.birth_date == birth
    assert parsed.sex == ("M" if seq % 2 else "F")
    assert ric.calc_check_digit(number) == number[-1]


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_check_character_agrees_with_stdnum(first17):
    # stdnum takes the full 18 characters and ignores the last one.
    assert ric_check_char(first17) == ric.calc_check_digit(first17 + "0")


@given(area=areas, birth=dates, seq=st.integers(0, 999), pos=st.integers(0, 16), delta=st.integers(1, 9))
def test_any_single_digit_change_is_caught(area, birth, seq, pos, delta):
    number = compose_resident_id(area, birth, seq)
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    # MOD 11-2 detects every single-digit substitution; the date part may also become impossible.
    with pytest.raises(IdentityError):
        parse_resident_id(changed)
    assert ric.calc_check_digit(changed) != changed[-1]


@given(st.text(min_size=0, max_size=12))
def test_mask_name_keeps_length_and_hides_middle(name):
    masked = mask_name(name)
    stripped = name.strip()
    assert len(masked) == len(stripped)
    if len(stripped) >= 2:
        assert masked[0] == stripped[0]
        assert set(masked[1:-1]) <= {"*"}
        assert masked.count("*") >= 1


def test_mask_examples():
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("李四") == "李*"
    assert mask_document("37060219900101123X") == "370602********123X"
    assert mask_phone("13812345678") == "138****5678"


@given(area=areas, birth=dates, seq=st.integers(0, 999))
def test_mask_document_never_shows_the_birth_date(area, birth, seq):
    number = compose_resident_id(area, birth, seq)
    masked = mask_document(number)
    assert len(masked) == 18
    assert masked[:6] == number[:6] and masked[-4:] == number[-4:]
    assert masked[6:14] == "********"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mask_phone_hides_four_middle_digits(phone):
    masked = mask_phone(phone)
    assert masked[:3] == phone[:3] and masked[-4:] == phone[-4:] and masked[3:7] == "****"
