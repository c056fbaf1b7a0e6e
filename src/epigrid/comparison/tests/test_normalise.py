"""Normalisation of list cells (pure functions): half-width text, ID numbers, names, phones, dates, sex,
origins, the column-mapping guess, the address keys, and the accept/reject decision of a whole row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.comparison import normalise as n
from epigrid.comparison.addresses import AddressIndex, address_key, prefixes
from epigrid.core.identity import IdType, compose_resident_id

VALID = "11010519491231002X"
BORN_1990 = compose_resident_id("370602", dt.date(1990, 1, 1), 123)  # male (odd sequence)


# --- text and ID numbers ------------------------------------------------------------------------------


def test_half_width_turns_full_width_digits_letters_and_spaces_into_ascii():
    assert n.half_width("　１２３ＡＢｃ　") == "123ABc"


@pytest.mark.parametrize(
    "cell",
    [
        VALID,
        VALID.lower(),
        "110105 19491231 002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        f"'{VALID}",
        f"\t{VALID} ",
    ],
)
def test_id_numbers_in_their_usual_disguises(cell):
    document = n.normalise_document(cell)
    assert (document.id_type, document.number, document.problems) == (IdType.RESIDENT, VALID, [])
    assert document.birth_date == dt.date(1949, 12, 31)
    assert document.sex == "F"


def test_a_15_digit_id_becomes_18_with_a_warning():
    document = n.normalise_document("370602900101123")
    assert document.number == "370602199001011239"
    assert document.birth_date == dt.date(1990, 1, 1)
    assert [p.field for p in document.problems] == ["id_number"]
    assert "15-digit" in document.problems[0].message


def test_a_bad_check_character_says_which_it_should_be():
    document = n.normalise_document(VALID[:-1] + "5")
    assert document.number == ""
    assert "check character is 5 but should be X" in document.problems[0].message


def test_an_id_stored_as_a_float_is_damaged_not_rounded():
    document = n.normalise_document("3.70602199001011E+17")
    assert document.number == ""
    assert "70602199" not in document.problems[0].message  # no part of the number on a page
    assert "last digits are lost" in document.problems[0].message


def test_a_whole_number_with_a_trailing_zero_decimal_keeps_its_digits():
    assert n.normalise_document(f"{BORN_1990}.0").number == BORN_1990


@pytest.mark.parametrize(
    ("cell", "type_text", "expected"),
    [
        ("E12345678", "", IdType.PASSPORT),
        ("H12345678", "", IdType.HK_MACAU),
        ("12345678", "台胞证", IdType.TAIWAN),
        ("E12345678", "护照", IdType.PASSPORT),
    ],
)
def test_other_documents_by_shape_or_by_the_type_column(cell, type_text, expected):
    document = n.normalise_document(cell, type_text)
    assert (document.id_type, document.number, document.problems) == (expected, cell, [])


def test_an_unknown_type_word_warns_and_reads_the_type_from_the_number():
    document = n.normalise_document(VALID, "军官证X")
    assert document.number == VALID
    assert [p.field for p in document.problems] == ["id_type"]


@pytest.mark.parametrize("cell", ["", "无", "不详", " - ", "/"])
def test_placeholders_are_empty_without_a_problem(cell):
    assert n.normalise_document(cell).problems == []
    assert n.normalise_phone(cell) == ("", [])
    assert n.normalise_name(cell) == ("", [])


# --- names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "name"),
    [
        ("  张　三 ", "张三"),
        ("张 三 丰", "张三丰"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽 • 买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("JOHN   SMITH", "JOHN SMITH"),
        ("J. Smith", "J. Smith"),
    ],
)
def test_names_are_trimmed_and_their_dots_unified(cell, name):
    assert n.normalise_name(cell) == (name, [])


def test_name_key_drops_the_dot_for_comparisons():
    assert n.name_key("阿依古丽·买买提") == n.name_key("阿依古丽买买提")


@pytest.mark.parametrize("cell", ["张三1", "13812345678", "***"])
def test_what_cannot_be_a_name_is_a_problem(cell):
    name, problems = n.normalise_name(cell)
    assert name == ""
    assert problems[0].field == "name"


# --- phones -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 13812345678",
        "0086-138-1234-5678",
        "13812345678.0",
    ],
)
def test_mobile_numbers_in_their_usual_forms(cell):
    assert n.normalise_phone(cell) == ("13812345678", [])


def test_a_landline_is_refused_with_that_reason():
    phone, problems = n.normalise_phone("0535-6612345")
    assert phone == ""
    assert "landline" in problems[0].message


def test_the_first_mobile_of_several_is_kept_with_a_warning():
    phone, problems = n.normalise_phone("0535-6612345/13912345678、13812345678")
    assert phone == "13912345678"
    assert problems[0].level == n.WARNING


def test_a_short_number_is_not_a_phone():
    assert n.normalise_phone("12345")[1][0].field == "phone"


# --- dates --------------------------------------------------------------------------------------------

MARCH_5 = dt.date(2022, 3, 5)


@pytest.mark.parametrize(
    ("cell", "day", "at"),
    [
        ("2022-03-05", MARCH_5, None),
        ("2022/3/5", MARCH_5, None),
        ("2022.3.5", MARCH_5, None),
        ("2022年3月5日", MARCH_5, None),
        ("２０２２年３月５日", MARCH_5, None),
        ("20220305", MARCH_5, None),
        ("44625", MARCH_5, None),  # an Excel serial the sheet did not format as a date
        ("44625.75", MARCH_5, dt.time(18, 0)),
        ("2022-03-05 14:30", MARCH_5, dt.time(14, 30)),
        ("2022-03-05T14:30:05", MARCH_5, dt.time(14, 30, 5)),
        ("2022/3/5 8:05", MARCH_5, dt.time(8, 5)),
        ("2022年3月5日14时30分", MARCH_5, dt.time(14, 30)),
        ("2022年3月5日 14点", MARCH_5, dt.time(14, 0)),
        ("2022年3月5日 下午2:30", MARCH_5, dt.time(14, 30)),
        ("2022-03-05 2:30 PM", MARCH_5, dt.time(14, 30)),
        ("20220305 1430", MARCH_5, dt.time(14, 30)),
    ],
)
def test_dates_in_the_common_chinese_forms(cell, day, at):
    when = n.parse_when(cell)
    assert (when.date, when.time) == (day, at)


def test_a_date_without_a_year_takes_the_year_nearest_the_file():
    assert n.parse_when("3月5日 14:30", reference=dt.date(2022, 3, 1)).date == MARCH_5
    # Late December seen from early January is last year's.
    assert n.parse_when("12月30日", reference=dt.date(2023, 1, 2)).date == dt.date(2022, 12, 30)
    with pytest.raises(n.DateUnreadable):
        n.parse_when("3月5日")  # no reference, no year


def test_the_file_context_is_the_middle_of_its_full_dates():
    texts = ["2022-03-01", "3月5日", "", "2022/3/4 10:00", "garbage", "2022年3月9日"]
    assert n.date_reference(texts, dt.date(2026, 1, 1)) == dt.date(2022, 3, 4)
    assert n.date_reference(["3月5日"], dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)


@pytest.mark.parametrize(("cell", "words"), [("2022-02-30", "not a real date"), ("abc", "not a date")])
def test_unreadable_dates_say_why(cell, words):
    with pytest.raises(n.DateUnreadable, match=words):
        n.parse_when(cell)


def test_a_number_in_the_arrival_column_is_not_a_date():
    now = timezone.now()
    moment, problems = n.normalise_arrival("12345", reference=now.date(), now=now)
    assert moment is None
    assert problems[0].message == "12345 is a number, not a date."


def test_an_arrival_without_a_year_lies_behind_not_ahead():
    now = timezone.make_aware(dt.datetime(2026, 11, 26, 12, 0))
    moment, problems = n.normalise_arrival("3月5日 14:30", reference=now.date(), now=now)
    assert problems == []
    assert timezone.localtime(moment).date() == dt.date(2026, 3, 5)


def test_arrival_times_are_aware_and_a_bare_date_is_its_first_minute():
    now = timezone.now()
    moment, problems = n.normalise_arrival("2022-03-05", reference=now.date(), now=now)
    assert problems == []
    assert timezone.localtime(moment).replace(tzinfo=None) == dt.datetime(2022, 3, 5, 0, 0)
    future = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    assert n.normalise_arrival(future, reference=now.date(), now=now)[0] is None


def test_birth_dates_must_be_possible():
    today = dt.date(2026, 1, 1)
    assert n.normalise_birth_date("1990/1/1", today=today) == (dt.date(1990, 1, 1), [])
    assert n.normalise_birth_date("2030-01-01", today=today)[1][0].field == "birth_date"


# --- sex, origin ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "sex"), [("男", "M"), ("女", "F"), ("Female", "F"), ("1", "M"), ("", "")])
def test_sex_words(cell, sex):
    assert n.normalise_sex(cell) == (sex, [])


def test_an_unknown_sex_word_is_a_warning():
    assert n.normalise_sex("未说明")[1][0].level == n.WARNING


def test_a_region_code_in_the_origin_text_is_found():
    assert n.normalise_origin("上海市浦东新区（310115）") == ("上海市浦东新区(310115)", "310115")
    assert n.normalise_origin("北京") == ("北京", "")
    assert n.normalise_origin("G1234 次 13812345678") == ("G1234 次 13812345678", "")


# --- the mapping guess ----------------------------------------------------------------------------------


def test_the_guess_uses_synonyms_then_headers_containing_one():
    header = ["序号", "姓名", "身份证号（必填）", "联系电话", "现住址", "始发地", "车次/航班", "到达时间"]
    assert n.guess_mapping(header) == {
        "name": "姓名",
        "id_number": "身份证号（必填）",
        "phone": "联系电话",
        "address": "现住址",
        "origin": "始发地",
        "travel_mode": "车次/航班",
        "arrived_at": "到达时间",
    }


def test_a_saved_mapping_wins_where_the_file_has_its_headers():
    header = ["旅客名", "证件", "手机"]
    saved = {"name": "旅客名", "id_number": "证件", "address": "不在这个文件里"}
    assert n.guess_mapping(header, saved) == {"name": "旅客名", "id_number": "证件", "phone": "手机"}


# --- a whole row ----------------------------------------------------------------------------------------

MAPPING = {f: f for f in n.FIELDS}
NOW = timezone.make_aware(dt.datetime(2022, 3, 10, 12, 0))


def row(**cells):
    return n.normalise_row(cells, MAPPING, n.RowContext(now=NOW, reference=dt.date(2022, 3, 5)))


def test_a_valid_id_alone_identifies_a_row_and_gives_birth_date_and_sex():
    values = row(id_number=BORN_1990)
    assert not values.rejected
    assert (values.birth_date, values.sex) == (dt.date(1990, 1, 1), "M")


def test_a_name_with_a_phone_or_a_birth_date_identifies_a_row():
    assert not row(name="张三", phone="13812345678").rejected
    assert not row(name="张三", birth_date="1990-01-01").rejected


def test_without_a_usable_identity_the_row_is_rejected_and_its_identity_problems_are_errors():
    values = row(name="张三", id_number="3.70602199001011E+17", phone="0535-6612345")
    assert values.rejected
    levels = {(e["field"], e["level"]) for e in values.errors}
    assert ("identity", n.ERROR) in levels
    assert ("id_number", n.ERROR) in levels
    assert ("phone", n.ERROR) in levels


def test_a_bad_id_number_only_warns_when_name_and_phone_identify_the_row():
    values = row(name="张三", id_number=VALID[:-1] + "5", phone="13812345678")
    assert not values.rejected
    assert values.errors == [
        {"field": "id_number", "message": values.errors[0]["message"], "level": n.WARNING}
    ]


def test_a_field_the_source_requires_rejects_the_row_when_missing_or_unreadable():
    context = n.RowContext(required=("arrived_at",), now=NOW, reference=dt.date(2022, 3, 5))
    missing = n.normalise_row({"id_number": VALID}, MAPPING, context)
    unreadable = n.normalise_row({"id_number": VALID, "arrived_at": "12345"}, MAPPING, context)
    good = n.normalise_row({"id_number": VALID, "arrived_at": "3月5日 14:30"}, MAPPING, context)
    assert missing.rejected and unreadable.rejected and not good.rejected
    assert [e["level"] for e in unreadable.errors if e["field"] == "arrived_at"] == [n.ERROR]
    assert timezone.localtime(good.arrived_at).replace(tzinfo=None) == dt.datetime(2022, 3, 5, 14, 30)


def test_sex_and_birth_date_differing_from_the_id_number_warn_and_the_id_number_wins():
    values = row(id_number=BORN_1990, sex="女", birth_date="1991-02-03")
    assert not values.rejected
    assert (values.sex, values.birth_date) == ("M", dt.date(1990, 1, 1))
    assert {e["field"] for e in values.errors} == {"sex", "birth_date"}


def test_the_address_is_located_and_an_unknown_one_warns():
    index = AddressIndex([("幸福路12号", 7)])
    context = n.RowContext(now=NOW, locate=index.locate)
    found = n.normalise_row({"id_number": VALID, "address": "幸福路１２号"}, MAPPING, context)
    lost = n.normalise_row({"id_number": VALID, "address": "不存在路1号"}, MAPPING, context)
    assert found.grid_id == 7 and found.errors == []
    assert lost.grid_id is None and lost.errors[0]["field"] == "address" and not lost.rejected


# --- addresses ----------------------------------------------------------------------------------------


def test_address_keys_unify_the_usual_variants():
    a = address_key("山东省烟台市芝罘区A街道幸福路12号3号楼2单元401室", ["芝罘区", "A街道"])
    b = address_key("幸福路 12 号 3 栋 2 单元 401", ["芝罘区", "A街道"])
    c = address_key("幸福路12号三幢2单元401", [])
    assert a == b == c == "幸福路12号3栋2单元401"


def test_prefixes_stop_at_road_and_number():
    assert prefixes("幸福路12号3栋2单元401") == ["幸福路12号3栋2单元", "幸福路12号3栋", "幸福路12号"]


def test_the_index_finds_exact_then_the_longest_unambiguous_prefix():
    index = AddressIndex(
        [
            ("幸福路12号3号楼2单元401室", 1),
            ("幸福路12号4号楼1单元101室", 1),
            ("幸福路12号9号楼1单元101室", 2),  # the same compound spans two grids
            ("和平路8号", 3),
        ]
    )
    assert index.locate("幸福路12号3栋2单元401") == 1  # exact
    assert index.locate("幸福路12号3栋1单元999") == 1  # building 3 is grid 1's
    assert index.locate("幸福路12号5栋") is None  # the compound alone is ambiguous
    assert index.locate("和平路8号2栋") == 3  # road and number
    assert index.locate("和平路") is None  # a road alone says nothing
