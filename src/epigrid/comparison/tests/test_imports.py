"""The list-import pipeline through its services: the messy acceptance file (per-row errors, no good row
lost), duplicates, geocoding against the district's addresses, the mapping remembered per source,
resumable processing, the processing task, correction of rejected rows and their re-import as a file,
refusals, the audit trail and the event — and raw cells encrypted at rest."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from openpyxl import load_workbook

from epigrid.comparison.models import (
    Arrival,
    ImportStatus,
    LinkMethod,
    ListImport,
    ListRow,
    RowStatus,
    SourceKind,
)
from epigrid.comparison.services import imports
from epigrid.comparison.tests import factories
from epigrid.core import services as core_services
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import IdType, compose_resident_id, parse_resident_id
from epigrid.core.models import AuditEntry, Event, Person

pytestmark = pytest.mark.django_db

ACCEPTED = (RowStatus.LINKED, RowStatus.PROVISIONAL, RowStatus.REVIEW)
# Seven people nobody would take for one another.
PEOPLE = [
    ("赵一鸣", "13512340001"),
    ("钱二虎", "13698760022"),
    ("孙三娘", "15011112223"),
    ("李四海", "18655554444"),
    ("周五福", "17733336665"),
    ("吴六顺", "13987650006"),
    ("郑七星", "15866667777"),
]


@pytest.fixture
def officer(users):
    """The community officer of community A: may import and reveal."""
    return users["community_officer"]


@pytest.fixture
def source(officer):
    return imports.source_create(actor=officer, name="火车站到达旅客", kind=SourceKind.TRANSPORT)


@pytest.fixture
def immediate_tasks(settings):
    """Run enqueued tasks on the spot (the settings' database backend waits for a worker)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def by_number(list_import: ListImport) -> dict[int, ListRow]:
    return {row.row_number: row for row in list_import.rows.filter(corrects__isnull=True)}


def fields(row: ListRow, level: str | None = None) -> set[str]:
    return {e["field"] for e in row.errors if level is None or e["level"] == level}


def messy_import(officer, source, person) -> ListImport:
    list_import = imports.import_upload(
        actor=officer, source=source, file_name="到达名单.xlsx", content=factories.messy_list(person)
    )
    imports.import_set_mapping(actor=officer, list_import=list_import, mapping=list_import.mapping)
    return imports.import_process(list_import_id=list_import.pk)


# --- the acceptance file ------------------------------------------------------------------------------


def test_the_messy_file_is_read_mapped_and_every_good_row_kept(officer, source, person_a):
    list_import = imports.import_upload(
        actor=officer, source=source, file_name="到达名单.xlsx", content=factories.messy_list(person_a)
    )
    assert (list_import.header_row, list_import.blank_rows) == (3, [7])
    assert list_import.total_rows == len(factories.MESSY_ROWS)
    assert list_import.mapping == {
        "name": "姓名",
        "id_number": "身份证号",
        "phone": "手机",
        "birth_date": "出生日期",
        "sex": "性别",
        "address": "住址",
        "origin": "出发地",
        "travel_mode": "交通方式",
        "arrived_at": "到达时间",
    }
    rows = by_number(list_import)
    assert set(rows) == set(factories.MESSY_ROWS)  # stored as they came, numbered as in the file
    assert all(row.status == RowStatus.PENDING for row in rows.values())
    assert rows[6].raw["出发地"] == "上海市浦东新区 310115"  # the merged cell covers rows 4 to 6

    imports.import_set_mapping(actor=officer, list_import=list_import, mapping=list_import.mapping)
    list_import = imports.import_process(list_import_id=list_import.pk)
    assert list_import.status == ImportStatus.DONE
    assert list_import.processed_rows == list_import.total_rows
    rows = by_number(list_import)
    rejected = {n for n, row in rows.items() if row.status == RowStatus.REJECTED}
    assert rejected == factories.MESSY_REJECTED
    assert all(rows[n].status in ACCEPTED for n in set(rows) - rejected), "a good row was lost"

    # The registered person, written in full-width digits, links exactly.
    assert (rows[5].person_id, rows[5].link_method, rows[5].status) == (
        person_a.pk,
        LinkMethod.EXACT_ID,
        RowStatus.LINKED,
    )
    assert rows[5].phone == person_a.phone
    # The old 15-digit number is kept in its 18-character form, with a warning.
    assert rows[6].id_number == parse_resident_id("310115850601123").number
    assert fields(rows[6], "warning") == {"id_number"}
    # Damaged and mistyped ID numbers: errors when nothing else identifies the row, warnings otherwise.
    assert {"identity", "id_number"} <= fields(rows[8], "error")
    assert "last digits are lost" in next(e["message"] for e in rows[8].errors if e["field"] == "id_number")
    assert fields(rows[9]) == {"id_number"} and rows[9].id_number == ""
    assert {"identity", "id_number"} <= fields(rows[10], "error")
    # A number where the arrival time belongs: the transport source needs the time.
    assert fields(rows[11], "error") == {"arrived_at"}
    assert "12345 is a number, not a date." in [e["message"] for e in rows[11].errors]
    # The duplicate follows the first row of the same person.
    assert rows[12].person_id == rows[4].person_id and rows[12].status == rows[4].status
    assert "row" in fields(rows[12], "warning")
    # Rows without an ID number: name with phone, name with birth date (the landline refused).
    assert rows[13].id_number == "" and rows[13].phone == "13800000009"
    assert rows[14].birth_date == dt.date(1980, 5, 6) and fields(rows[14]) == {"phone"}
    # Sex and birth date differing from the ID number: the ID number's are kept.
    assert (rows[15].sex, rows[15].birth_date) == ("F", dt.date(1970, 1, 2))
    assert fields(rows[15], "warning") == {"sex", "birth_date"}
    # Values: names cleaned, origins with their region code, times aware.
    assert rows[6].name == "张三"
    assert rows[4].origin_region_code == rows[6].origin_region_code == "310115"
    assert rows[5].arrived_at.tzinfo is not None
    # Masked copies for the pages; the blind index for look-ups.
    assert rows[4].id_number_masked.startswith("310115") and "*" in rows[4].id_number_masked
    assert rows[4].id_number_index == core_services.person_document_index(IdType.RESIDENT, rows[4].id_number)
    # Every accepted row's person arrived.
    people = {
        row.person_id for row in rows.values() if row.status in (RowStatus.LINKED, RowStatus.PROVISIONAL)
    }
    assert people <= set(Arrival.objects.values_list("person_id", flat=True))
    assert rows[5].org_code == list_import.org_code  # no address: the importer's area


def test_the_import_is_audited_and_announced(officer, source, person_a):
    list_import = messy_import(officer, source, person_a)
    entries = AuditEntry.objects.filter(object_type="comparison.listimport", object_id=str(list_import.pk))
    actions = list(entries.order_by("seq").values_list("action", flat=True))
    assert actions[:2] == ["listimport.upload", "listimport.map"]
    assert "listimport.process" in actions and actions[-1] == "listimport.done"
    event = Event.objects.get(type="lists.imported")
    assert event.payload == {
        "import_id": list_import.pk,
        "rows": len(factories.MESSY_ROWS),
        "rejected": len(factories.MESSY_REJECTED),
    }
    assert event.org_code == officer.org_code


def test_raw_cells_are_encrypted_at_rest(officer, source, person_a):
    list_import = messy_import(officer, source, person_a)
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw FROM comparison_listrow WHERE list_import_id = %s", [list_import.pk])
        stored = " ".join(value for (value,) in cursor.fetchall())
    assert "13800000001" not in stored and "王小明" not in stored
    assert by_number(list_import)[4].raw["手机"] == "13800000001"


# --- duplicates and addresses -------------------------------------------------------------------------


def test_a_person_twice_in_a_list_is_linked_once_even_across_chunks(officer, source):
    number = compose_resident_id("110105", dt.date(1960, 1, 1), 7)
    rows = [["甲", number, "", "北京", "", "2022-03-05 10:00", ""]]
    rows += [[name, "", phone, "北京", "", "2022-03-05 10:00", ""] for name, phone in PEOPLE[:3]]
    rows += [["甲", number, "13912345678", "天津", "", "2022-03-06 10:00", ""]]
    before = Person.objects.count()
    list_import = factories.arrival_list(officer.org_unit, rows, chunk=2)
    first, *_middle, again = list_import.rows.order_by("row_number")
    assert again.person_id == first.person_id
    assert Person.objects.count() - before == 4  # 甲 once, and three others
    assert Arrival.objects.filter(person_id=first.person_id).count() == 2  # two arrivals of one person


def test_addresses_find_their_grid_in_the_district_address_table(officer, source, jurisdiction):
    core_services.household_create(
        actor=None, address="测试区B街道幸福路12号3号楼2单元401室", grid=jurisdiction.grid_b
    )
    header = ["姓名", "手机", "到达时间", "住址"]
    rows = [
        ["甲", "13900000001", "2022-03-05", "幸福路１２号３栋２单元４０１"],  # the same flat
        ["乙", "13900000002", "2022-03-05", "幸福路12号3幢1单元101室"],  # the same building
        ["丙", "13900000003", "2022-03-05", "无名路1号"],  # unknown
    ]
    list_import = factories.arrival_list(officer.org_unit, rows, header=header)
    first, second, third = list_import.rows.order_by("row_number")
    assert first.grid == second.grid == jurisdiction.grid_b
    assert first.org_code == jurisdiction.grid_b.code  # the row belongs to the grid its address is in
    assert third.grid is None and third.org_code == list_import.org_code
    assert fields(third, "warning") == {"address"} and third.status != RowStatus.REJECTED


# --- the mapping --------------------------------------------------------------------------------------


def test_the_mapping_is_remembered_for_the_next_file_of_the_source(officer, source):
    header = ["旅客名", "证件", "电话号", "到站时刻"]  # nothing a synonym guesses
    content = factories.csv_bytes([header, ["张三", "11010519491231002X", "13800000001", "2022-03-05"]])
    first = imports.import_upload(actor=officer, source=source, file_name="a.csv", content=content)
    assert "name" not in first.mapping
    mapping = {"name": "旅客名", "id_number": "证件", "phone": "电话号", "arrived_at": "到站时刻"}
    imports.import_set_mapping(actor=officer, list_import=first, mapping=mapping)
    source.refresh_from_db()
    assert source.mapping == mapping
    content = factories.csv_bytes([[*header, "备注"], ["李四", "", "13800000002", "2022-03-06", ""]])
    second = imports.import_upload(actor=officer, source=source, file_name="b.csv", content=content)
    assert second.mapping == mapping
    # Not remembered when asked not to.
    other = imports.source_create(actor=officer, name="另一来源", kind=SourceKind.OTHER)
    third = imports.import_upload(actor=officer, source=other, file_name="c.csv", content=content)
    imports.import_set_mapping(actor=officer, list_import=third, mapping=mapping, remember=False)
    other.refresh_from_db()
    assert other.mapping == {}


@pytest.mark.parametrize(
    ("mapping", "field", "words"),
    [
        ({"name": "没有这列"}, "name", "no column"),
        ({"name": "姓名", "phone": "姓名", "arrived_at": "到达时间"}, "phone", "chosen for two fields"),
        ({"phone": "手机", "arrived_at": "到达时间"}, "name", "names or of the ID numbers"),
        ({"name": "姓名"}, "arrived_at", "need the column"),
        ({"nonsense": "姓名"}, "mapping", "Unknown field"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_field(officer, source, mapping, field, words):
    content = factories.csv_bytes(
        [factories.ARRIVAL_HEADER, ["张三", "", "13800000001", "", "", "2022-03-05", ""]]
    )
    list_import = imports.import_upload(actor=officer, source=source, file_name="a.csv", content=content)
    with pytest.raises(DomainError, match=words) as caught:
        imports.import_set_mapping(actor=officer, list_import=list_import, mapping=mapping)
    assert caught.value.field == field
    list_import.refresh_from_db()
    assert list_import.status == ImportStatus.MAPPING


def test_mapping_twice_is_a_conflict(officer, source):
    content = factories.csv_bytes(
        [factories.ARRIVAL_HEADER, ["张三", "", "13800000001", "", "", "2022-03-05", ""]]
    )
    list_import = imports.import_upload(actor=officer, source=source, file_name="a.csv", content=content)
    imports.import_set_mapping(actor=officer, list_import=list_import, mapping=list_import.mapping)
    with pytest.raises(Conflict):
        imports.import_set_mapping(actor=officer, list_import=list_import, mapping=list_import.mapping)


# --- resumable processing and the task ----------------------------------------------------------------


def _seven_people(officer, source) -> ListImport:
    rows = [[name, "", phone, "北京", "", "2022-03-05 10:00", ""] for name, phone in PEOPLE]
    list_import = imports.import_upload(
        actor=officer,
        source=source,
        file_name="seven.csv",
        content=factories.csv_bytes([factories.ARRIVAL_HEADER, *rows]),
    )
    imports.import_set_mapping(actor=officer, list_import=list_import, mapping=list_import.mapping)
    return list_import


def test_processing_stops_and_resumes_and_every_row_is_processed_once(officer, source):
    list_import = _seven_people(officer, source)
    before = Person.objects.count()
    part = imports.import_process(list_import_id=list_import.pk, chunk=2, max_chunks=1)
    assert (part.status, part.processed_rows) == (ImportStatus.RUNNING, 2)
    assert list_import.rows.filter(status=RowStatus.PENDING).count() == 5
    # The worker goes away; the task is run again (as the page's "Resume" does) and carries on.
    imports.import_fail(list_import_id=list_import.pk, message="worker lost")
    assert ListImport.objects.get(pk=list_import.pk).status == ImportStatus.FAILED
    part = imports.import_process(list_import_id=list_import.pk, chunk=2, max_chunks=2)
    assert (part.status, part.processed_rows) == (ImportStatus.RUNNING, 6)
    done = imports.import_process(list_import_id=list_import.pk, chunk=2)
    assert (done.status, done.processed_rows, done.error) == (ImportStatus.DONE, 7, "")
    # Once each: one person per row, one arrival per person, one chunk entry per chunk, one event.
    assert Person.objects.count() - before == 7
    assert len({row.person_id for row in done.rows.all()}) == 7
    assert Arrival.objects.filter(list_row__list_import=done).count() == 7
    chunks = AuditEntry.objects.filter(action="listimport.process", object_id=str(done.pk))
    assert sorted(entry.detail["rows"] for entry in chunks) == [1, 2, 2, 2]
    assert Event.objects.filter(type="lists.imported").count() == 1
    # Running it again changes nothing.
    assert imports.import_process(list_import_id=list_import.pk).processed_rows == 7
    assert Person.objects.count() - before == 7


def test_processing_before_the_mapping_is_refused(officer, source):
    content = factories.csv_bytes(
        [factories.ARRIVAL_HEADER, ["张三", "", "13800000001", "", "", "2022-03-05", ""]]
    )
    list_import = imports.import_upload(actor=officer, source=source, file_name="a.csv", content=content)
    with pytest.raises(Conflict):
        imports.import_process(list_import_id=list_import.pk)


def test_the_mapping_queues_the_task_that_processes_the_list(officer, source, immediate_tasks):
    list_import = _seven_people(officer, source)
    list_import.refresh_from_db()
    assert list_import.status == ImportStatus.DONE
    assert list_import.processed_rows == 7


def test_resume_queues_the_task_again(officer, source, immediate_tasks, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # nobody works
    list_import = _seven_people(officer, source)
    assert ListImport.objects.get(pk=list_import.pk).status == ImportStatus.QUEUED
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    resumed = imports.import_resume(actor=officer, list_import=list_import)
    assert resumed.status == ImportStatus.DONE
    with pytest.raises(Conflict):
        imports.import_resume(actor=officer, list_import=resumed)


def test_a_row_that_cannot_be_linked_is_rejected_and_the_list_goes_on(officer, source):
    # A valid ID number alone identifies a row, but a new person needs a name.
    rows = [
        ["", compose_resident_id("110105", dt.date(1960, 1, 1), 9), "", "北京", "", "2022-03-05 10:00", ""],
        ["张三", "", "13800000001", "北京", "", "2022-03-05 10:00", ""],
    ]
    list_import = factories.arrival_list(officer.org_unit, rows)
    nameless, named = list_import.rows.order_by("row_number")
    assert list_import.status == ImportStatus.DONE
    assert named.status in ACCEPTED
    assert nameless.status == RowStatus.REJECTED  # the linking refused it: the reason is kept as an error
    assert any(e["level"] == "error" for e in nameless.errors)


# --- correction and re-import -------------------------------------------------------------------------


def test_a_rejected_row_corrected_by_hand_is_processed_at_once(officer, source, person_a):
    list_import = messy_import(officer, source, person_a)
    old = by_number(list_import)[10]  # 钱七: a bad check character, no phone
    fixed = compose_resident_id("310115", dt.date(1979, 2, 3), 21)
    new = imports.row_correct(actor=officer, row=old, values={"id_number": fixed, "phone": "13800000010"})
    old.refresh_from_db()
    assert old.status == RowStatus.CORRECTED
    assert (new.corrects_id, new.row_number, new.list_import_id) == (old.pk, 10, list_import.pk)
    assert new.status in ACCEPTED and new.id_number == fixed and new.name == "钱七"
    assert Arrival.objects.filter(person_id=new.person_id).exists()
    assert AuditEntry.objects.filter(action="listrow.correct", object_id=str(new.pk)).get().detail[
        "fields"
    ] == [
        "id_number",
        "phone",
    ]
    with pytest.raises(Conflict):
        imports.row_correct(actor=officer, row=old, values={"name": "钱七"})


def test_a_correction_that_is_still_wrong_is_rejected_again_and_can_be_corrected_again(
    officer, source, person_a
):
    list_import = messy_import(officer, source, person_a)
    old = by_number(list_import)[11]  # 孙八: 12345 where the arrival time belongs
    still = imports.row_correct(actor=officer, row=old, values={"arrived_at": "明天"})
    assert still.status == RowStatus.REJECTED and fields(still, "error") == {"arrived_at"}
    again = imports.row_correct(actor=officer, row=still, values={"arrived_at": "2022年3月5日 9:30"})
    assert again.status in ACCEPTED and again.corrects_id == still.pk


def test_a_field_the_list_did_not_have_can_be_added_by_the_correction(officer, source):
    header = ["姓名", "到达时间"]
    list_import = factories.arrival_list(officer.org_unit, [["张三", "2022-03-05"]], header=header)
    old = list_import.rows.get()
    assert old.status == RowStatus.REJECTED  # a name alone identifies nobody
    new = imports.row_correct(actor=officer, row=old, values={"phone": "13800000001"})
    assert new.status in ACCEPTED and new.raw["[phone]"] == "13800000001"


def _workbook_rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def test_rejected_rows_download_in_the_files_layout_and_upload_again(officer, source, person_a):
    list_import = messy_import(officer, source, person_a)
    rejected = list_import.rows.filter(status=RowStatus.REJECTED)
    masked = _workbook_rows(
        imports.import_rows_workbook(actor=officer, list_import=list_import, rows=rejected, layout="file")
    )
    header = list(masked[0])
    assert header[:2] == ["Row in the file", "Problems"] and header[2:] == list_import.header
    assert [line[0] for line in masked[1:]] == sorted(factories.MESSY_REJECTED)
    assert "钱七" not in str(masked) and "钱*" in str(masked)  # names and numbers masked
    assert "Identity" in masked[2][1]  # the reasons

    full = imports.import_rows_workbook(
        actor=officer, list_import=list_import, rows=rejected, layout="file", reveal=True
    )
    exports = AuditEntry.objects.filter(action="listimport.export").order_by("seq")
    assert [e.revealed_fields for e in exports] == [[], ["name", "id_number", "phone"]]
    lines = _workbook_rows(full)
    assert "钱七" in str(lines)
    # Correct the file as a clerk would (the arrival time of 孙八, the phone of 钱七) and upload it again.
    book = load_workbook(io.BytesIO(full))
    sheet = book.active
    columns = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        name = row[columns.index("姓名")].value
        if name == "孙八":
            row[columns.index("到达时间")].value = "2022-03-05 09:30"
        if name == "钱七":
            row[columns.index("手机")].value = "13800000010"
    out = io.BytesIO()
    book.save(out)
    again = imports.import_upload(
        actor=officer, source=source, file_name="退回修改.xlsx", content=out.getvalue()
    )
    assert again.mapping == list_import.mapping  # the source remembers the mapping
    imports.import_set_mapping(actor=officer, list_import=again, mapping=again.mapping)
    again = imports.import_process(list_import_id=again.pk)
    outcome = {row.name: row.status for row in again.rows.all()}
    assert outcome["孙八"] in ACCEPTED and outcome["钱七"] in ACCEPTED
    assert outcome["李四"] == RowStatus.REJECTED  # the damaged ID number needs the real one


def test_revealing_in_a_file_needs_the_permission(users, officer, source, person_a):
    list_import = messy_import(officer, source, person_a)
    with pytest.raises(Forbidden):
        imports.import_rows_workbook(
            actor=users["commander"], list_import=list_import, rows=list_import.rows.all(), reveal=True
        )


def test_the_report_workbook_has_a_line_per_row_masked(officer, source, person_a):
    list_import = messy_import(officer, source, person_a)
    lines = _workbook_rows(
        imports.import_rows_workbook(actor=officer, list_import=list_import, rows=list_import.rows.all())
    )
    assert len(lines) == 1 + len(factories.MESSY_ROWS)
    assert person_a.id_number not in str(lines) and person_a.phone not in str(lines)
    assert lines[0][:3] == ("Row in the file", "Status", "Problems")


# --- refusals -----------------------------------------------------------------------------------------


def test_who_may_import(users, jurisdiction, source, person_a):
    content = factories.messy_list(person_a)
    with pytest.raises(Forbidden):
        imports.import_upload(actor=users["grid_worker"], source=source, file_name="a.xlsx", content=content)
    with pytest.raises(Forbidden):
        imports.source_create(actor=users["grid_worker"], name="x")
    elsewhere = factories.source(jurisdiction.community_b)
    with pytest.raises(Forbidden):
        imports.import_upload(
            actor=users["community_officer"], source=elsewhere, file_name="a.xlsx", content=content
        )
    with pytest.raises(Forbidden):
        imports.source_create(
            actor=users["community_officer"], name="x", org_code=jurisdiction.community_b.code
        )


def test_the_same_file_twice_is_a_conflict_and_a_source_name_once_per_area(officer, source, person_a):
    content = factories.messy_list(person_a)
    imports.import_upload(actor=officer, source=source, file_name="a.xlsx", content=content)
    with pytest.raises(Conflict, match="uploaded to"):
        imports.import_upload(actor=officer, source=source, file_name="again.xlsx", content=content)
    with pytest.raises(Conflict):
        imports.source_create(actor=officer, name="火车站到达旅客")
    with pytest.raises(DomainError):
        imports.source_create(actor=officer, name="  ")


def test_a_garbage_file_stores_nothing(officer, source):
    with pytest.raises(DomainError, match="old Excel file"):
        imports.import_upload(
            actor=officer, source=source, file_name="a.xls", content=b"\xd0\xcf\x11\xe0" + b"0" * 64
        )
    assert not ListImport.objects.exists()


def test_only_a_rejected_row_can_be_corrected(officer, source, person_a):
    list_import = messy_import(officer, source, person_a)
    linked = by_number(list_import)[5]
    with pytest.raises(Conflict):
        imports.row_correct(actor=officer, row=linked, values={"name": "x"})
