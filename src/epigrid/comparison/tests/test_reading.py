"""Reading uploaded lists: CSV in its encodings and separators, .xlsx with a title above the header, merged
cells, blank rows and cells of every type, and clear refusals of what is not a list."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook

from epigrid.comparison import reading
from epigrid.comparison.tests.factories import csv_bytes, xlsx_bytes
from epigrid.core.errors import DomainError

HEADER = ["姓名", "身份证号", "手机"]
ROW = ["张三", "11010519491231002X", "13812345678"]


# --- CSV ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030", "utf-16"])
def test_csv_in_every_usual_encoding(encoding):
    sheet = reading.read_list(file_name="list.csv", content=csv_bytes([HEADER, ROW], encoding=encoding))
    assert sheet.header == HEADER
    assert sheet.rows == [(2, dict(zip(HEADER, ROW, strict=True)))]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_csv_with_other_separators(delimiter):
    sheet = reading.read_list(file_name="list.txt", content=csv_bytes([HEADER, ROW], delimiter=delimiter))
    assert sheet.rows[0][1]["身份证号"] == ROW[1]


def test_csv_quoted_cells_with_commas_and_newlines():
    content = '姓名,住址\n张三,"幸福路12号,3栋\n2单元"\n'.encode()
    assert reading.read_list(file_name="a.csv", content=content).rows[0][1]["住址"] == "幸福路12号,3栋\n2单元"


def test_blank_rows_are_skipped_and_the_others_keep_their_numbers():
    content = csv_bytes([HEADER, ROW, [], ["", "", ""], ["李四", "", ""], [], []])
    sheet = reading.read_list(file_name="a.csv", content=content)
    assert [number for number, _cells in sheet.rows] == [2, 5]
    assert sheet.blank_rows == [3, 4]  # the blank tail is not reported


# --- Excel --------------------------------------------------------------------------------------------


def test_the_header_is_found_below_a_merged_title_and_notes():
    content = xlsx_bytes(
        [
            ["2022年3月到达人员名单"],
            ["填报单位：某某站", None, None, "填报日期：2022-03-06"],
            [*HEADER, "到达时间"],
            [*ROW, "2022-03-05 14:30"],
        ],
        merges=["A1:D1"],
    )
    sheet = reading.read_list(file_name="list.xlsx", content=content)
    assert sheet.header_row == 3
    assert sheet.header == [*HEADER, "到达时间"]
    assert sheet.rows[0][0] == 4


def test_a_merged_cell_applies_to_every_cell_it_covers():
    content = xlsx_bytes(
        [["姓名", "出发地", "车次"], ["张三", "北京", "G1"], ["李四", None, None], ["王五", None, "G2"]],
        merges=["B2:B4", "C2:C3"],
    )
    rows = dict(reading.read_list(file_name="list.xlsx", content=content).rows)
    assert [rows[n]["出发地"] for n in (2, 3, 4)] == ["北京", "北京", "北京"]
    assert (rows[3]["车次"], rows[4]["车次"]) == ("G1", "G2")


def test_cell_types_become_the_texts_the_normaliser_reads():
    content = xlsx_bytes(
        [
            ["到达时间", "出生日期", "手机", "身份证号", "旧证号", "人数", "比例", "是否"],
            [
                dt.datetime(2022, 3, 5, 14, 30),
                dt.date(1990, 1, 1),
                13812345678.0,  # a phone typed as a number
                3.70602199001011e17,  # an 18-digit ID Excel kept as a float: damaged
                370602900101123,  # an old 15-digit ID as a number: exact
                3,
                0.25,
                True,
            ],
        ]
    )
    cells = reading.read_list(file_name="list.xlsx", content=content).rows[0][1]
    assert cells == {
        "到达时间": "2022-03-05 14:30",
        "出生日期": "1990-01-01",
        "手机": "13812345678",
        "身份证号": "3.70602199001011E+17",
        "旧证号": "370602900101123",
        "人数": "3",
        "比例": "0.25",
        "是否": "TRUE",
    }


def test_empty_and_repeated_header_cells_get_names():
    content = xlsx_bytes([["姓名", None, "电话", "电话"], ["张三", "备注", "1", "2"]])
    sheet = reading.read_list(file_name="list.xlsx", content=content)
    assert sheet.header == ["姓名", "[B]", "电话", "电话 (2)"]
    assert sheet.rows[0][1] == {"姓名": "张三", "[B]": "备注", "电话": "1", "电话 (2)": "2"}


def test_a_workbook_with_wrong_dimensions_is_read_in_full():
    content = xlsx_bytes([HEADER, ROW, ["李四", "", "13912345678"]])
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:C3"/>', b'<dimension ref="A1"/>')
            target.writestr(item, data)
    sheet = reading.read_list(file_name="list.xlsx", content=broken.getvalue())
    assert len(sheet.rows) == 2 and sheet.rows[1][1]["手机"] == "13912345678"


# --- refusals and limits ------------------------------------------------------------------------------


def _message(content: bytes, name: str = "list.xlsx") -> str:
    with pytest.raises(DomainError) as caught:
        reading.read_list(file_name=name, content=content)
    assert caught.value.field == "file"
    return caught.value.message


def test_garbage_files_are_refused_with_a_reason():
    assert "old Excel file (.xls)" in _message(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "a.xls")
    assert "not a readable Excel workbook" in _message(b"PK\x03\x04" + b"\x00" * 100)
    assert "not a readable Excel workbook" in _message(b"plain text pretending", "list.xlsx")
    assert "neither an Excel workbook" in _message(bytes(range(256)) * 4, "list.csv")
    assert "empty" in _message(b"", "list.csv")
    picture = io.BytesIO()
    with zipfile.ZipFile(picture, "w") as z:
        z.writestr("image.png", b"\x89PNG")
    assert "not a readable Excel workbook" in _message(picture.getvalue())


def test_a_file_without_a_header_or_rows_is_refused():
    assert "no header row" in _message(csv_bytes([["1", "2"], ["3", "4"]]), "a.csv")
    assert "no rows under it" in _message(csv_bytes([HEADER]), "a.csv")
    empty_book = Workbook()
    out = io.BytesIO()
    empty_book.save(out)
    assert "empty" in _message(out.getvalue())


def test_the_size_limit():
    assert "larger than 20 MB" in _message(b"a" * (reading.MAX_BYTES + 1), "a.csv")


def test_the_row_limit():
    content = ("姓名\n" + "张三\n" * (reading.MAX_ROWS + 1)).encode()
    assert "more than 200,000 rows" in _message(content, "a.csv")
    content = ("姓名\n" + "张三\n" * reading.MAX_ROWS).encode()
    assert len(reading.read_list(file_name="a.csv", content=content).rows) == reading.MAX_ROWS


def test_the_column_limit():
    wide = [[f"列{i}" for i in range(reading.MAX_COLUMNS + 1)], ["x"] * (reading.MAX_COLUMNS + 1)]
    assert "more than 200 columns" in _message(csv_bytes(wide), "a.csv")
