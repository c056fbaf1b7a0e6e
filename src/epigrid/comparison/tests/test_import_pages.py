"""The list pages through the Django test client: who may see and upload, the upload with a new source, the
mapping step with its guess and masked preview, the progress bar (HTMX and without), the report per status,
a grid worker's view of their grid's rows only, the Excel downloads (masked; full values only for a revealing
role, audited), the correction form, the sources page — and that no full ID number or phone reaches a page."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from epigrid.comparison.models import ImportStatus, ListImport, ListRow, ListSource, RowStatus, SourceKind
from epigrid.comparison.services import imports
from epigrid.comparison.tests import factories
from epigrid.core import services as core_services
from epigrid.core.models import AuditEntry
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows

pytestmark = pytest.mark.django_db

IMPORTS = reverse("comparison:imports")
SOURCES = reverse("comparison:sources")
HTMX = {"HTTP_HX_REQUEST": "true"}


def detail(list_import: ListImport, query: str = "") -> str:
    return reverse("comparison:import_detail", args=[list_import.pk]) + query


def export(list_import: ListImport, query: str = "") -> str:
    return reverse("comparison:import_rows_export", args=[list_import.pk]) + query


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def officer(users, login_client):
    return login_client(users["community_officer"])


@pytest.fixture
def messy(users, person_a):
    """The acceptance file, uploaded by the community officer and processed."""
    officer = users["community_officer"]
    source = imports.source_create(actor=officer, name="火车站到达旅客", kind=SourceKind.TRANSPORT)
    list_import = imports.import_upload(
        actor=officer, source=source, file_name="到达名单.xlsx", content=factories.messy_list(person_a)
    )
    return factories.process(list_import, actor=officer)


def no_personal_data(html: str, person) -> bool:
    return person.id_number not in html and person.phone not in html


# --- access -------------------------------------------------------------------------------------------


def test_list_pages_per_role(users, login_client, client, messy):
    for role in Role:
        browser = login_client(users[role.value])
        for url in (IMPORTS, SOURCES):
            expected = 200 if may(role.value, Perm.COMPARISON_VIEW) else 403
            assert browser.get(url).status_code == expected, (role.value, url)
    for url in (IMPORTS, SOURCES, detail(messy)):
        assert client.get(url).status_code == 302  # anonymous: to the login page


def test_a_grid_worker_may_not_upload_or_add_sources(users, login_client, person_a):
    worker = login_client(users["grid_worker"])
    page = worker.get(IMPORTS).content.decode()
    assert 'data-testid="upload-form"' not in page
    upload = io.BytesIO(factories.messy_list(person_a))
    upload.name = "a.xlsx"
    assert worker.post(IMPORTS, {"new_source_name": "x", "file": upload}).status_code == 403
    assert worker.post(SOURCES, {"name": "x", "kind": "other"}).status_code == 403
    assert not ListImport.objects.exists() and not ListSource.objects.exists()


# --- upload, mapping, progress, report ----------------------------------------------------------------


def test_upload_map_and_read_the_report(officer, person_a, immediate_tasks):
    upload = io.BytesIO(factories.messy_list(person_a))
    upload.name = "到达名单.xlsx"
    response = officer.post(
        IMPORTS,
        {"new_source_name": "火车站到达旅客", "new_source_kind": SourceKind.TRANSPORT, "file": upload},
    )
    list_import = ListImport.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(list_import)
    assert list_import.source.name == "火车站到达旅客"

    page = officer.get(detail(list_import)).content.decode()
    assert 'data-testid="mapping-form"' in page
    assert '<option value="身份证号" selected>' in page  # the guess, preselected
    assert 'data-testid="preview"' in page
    assert no_personal_data(page, person_a)  # the preview is masked
    assert person_a.id_number[:6] + "*" in page.replace("＊", "*")

    mapping = {name: column for name, column in list_import.mapping.items()}
    response = officer.post(detail(list_import), {"action": "mapping", "remember": "on", **mapping})
    assert response.status_code == 302
    list_import.refresh_from_db()
    assert list_import.status == ImportStatus.DONE

    page = officer.get(detail(list_import)).content.decode()
    assert 'data-status="rejected" data-count="3"' in page
    assert f'data-count="{len(factories.MESSY_ROWS)}"' in page
    assert no_personal_data(page, person_a)
    assert shows(page, "%(v)s is a number, not a date.", v="12345")
    rejected = officer.get(detail(list_import, "?status=rejected")).content.decode()
    assert rejected.count('data-testid="row"') == 3
    assert rejected.count('data-testid="correct"') == 3
    assert 'data-testid="export-rejected-full"' in rejected  # the officer may reveal
    # HTMX pagination and filtering ask for the rows only.
    partial = officer.get(detail(list_import, "?status=rejected"), **HTMX).content.decode()
    assert partial.count('data-testid="row"') == 3 and "<html" not in partial


def test_a_bad_mapping_is_shown_beside_the_form(officer, users):
    source = imports.source_create(actor=users["community_officer"], name="外市协查", kind=SourceKind.NOTICE)
    content = factories.csv_bytes([["姓名", "手机"], ["张三", "13800000001"]])
    list_import = imports.import_upload(
        actor=users["community_officer"], source=source, file_name="a.csv", content=content
    )
    response = officer.post(detail(list_import), {"action": "mapping", "name": "姓名", "phone": "姓名"})
    assert response.status_code == 400
    assert shows(response.content.decode(), "The column %(c)s is chosen for two fields.", c="姓名")
    list_import.refresh_from_db()
    assert list_import.status == ImportStatus.MAPPING


def test_a_garbage_file_is_refused_on_the_page(officer):
    upload = io.BytesIO(b"\xd0\xcf\x11\xe0" + b"0" * 64)
    upload.name = "old.xls"
    response = officer.post(IMPORTS, {"new_source_name": "某站", "new_source_kind": "other", "file": upload})
    assert response.status_code == 400
    assert shows(
        response.content.decode(),
        "This is an old Excel file (.xls): open it in Excel or WPS and save it as .xlsx.",
    )
    assert not ListImport.objects.exists()


def test_the_progress_bar_polls_and_reloads_when_done(officer, users):
    rows = [
        [f"张{ch}", "", f"1380000000{i}", "北京", "", "2022-03-05", ""] for i, ch in enumerate("甲乙丙丁")
    ]
    list_import = imports.import_upload(
        actor=users["community_officer"],
        source=factories.source(users["community_officer"].org_unit),
        file_name="four.csv",
        content=factories.csv_bytes([factories.ARRIVAL_HEADER, *rows]),
    )
    factories.process(list_import, chunk=2, max_chunks=1)
    progress = reverse("comparison:import_progress", args=[list_import.pk])
    page = officer.get(detail(list_import)).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh"' in page  # without JavaScript the page reloads itself
    assert 'data-testid="resume-form"' in page
    partial = officer.get(progress, **HTMX)
    assert 'data-processed="2"' in partial.content.decode() and "HX-Refresh" not in partial
    assert officer.get(progress)["Location"] == detail(list_import)  # not HTMX: the page
    imports.import_process(list_import_id=list_import.pk)
    done = officer.get(progress, **HTMX)
    assert done["HX-Refresh"] == "true"
    assert 'hx-trigger="every 1s"' not in officer.get(detail(list_import)).content.decode()


def test_resume_on_the_page(officer, users, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # no worker
    content = factories.csv_bytes(
        [factories.ARRIVAL_HEADER, ["张三", "", "13800000001", "北京", "", "2022-03-05", ""]]
    )
    list_import = imports.import_upload(
        actor=users["community_officer"],
        source=factories.source(users["community_officer"].org_unit),
        file_name="a.csv",
        content=content,
    )
    imports.import_set_mapping(
        actor=users["community_officer"], list_import=list_import, mapping=list_import.mapping
    )
    assert ListImport.objects.get(pk=list_import.pk).status == ImportStatus.QUEUED
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert officer.post(detail(list_import), {"action": "resume"}).status_code == 302
    assert ListImport.objects.get(pk=list_import.pk).status == ImportStatus.DONE


# --- who sees which rows --------------------------------------------------------------------------------


def test_a_grid_worker_sees_the_rows_of_their_grid_only(users, login_client, jurisdiction):
    for grid in (jurisdiction.grid_a, jurisdiction.grid_b):
        core_services.household_create(actor=None, address=f"{grid.name}幸福路{grid.pk}号", grid=grid)
    header = ["姓名", "手机", "到达时间", "住址"]
    rows = [
        ["甲一", "13800000001", "2022-03-05", f"{jurisdiction.grid_a.name}幸福路{jurisdiction.grid_a.pk}号"],
        ["乙二", "13800000002", "2022-03-05", f"{jurisdiction.grid_b.name}幸福路{jurisdiction.grid_b.pk}号"],
        ["丙三", "13800000003", "2022-03-05", ""],
    ]
    district_list = factories.arrival_list(jurisdiction.district, rows, header=header)
    elsewhere = factories.arrival_list(jurisdiction.district, [rows[1]], header=header)
    worker = login_client(users["grid_worker"])

    listing = worker.get(IMPORTS).content.decode()
    assert f'data-import="{district_list.pk}"' in listing and f'data-import="{elsewhere.pk}"' not in listing
    page = worker.get(detail(district_list)).content.decode()
    assert page.count('data-testid="row"') == 1 and 'data-count="1"' in page
    assert "甲*" in page and "乙*" not in page and "丙*" not in page
    assert shows(page, "You see the rows of your area only.")
    assert 'data-testid="correct"' not in page and 'data-testid="resume-form"' not in page
    assert worker.get(detail(elsewhere)).status_code == 404
    assert worker.get(export(elsewhere)).status_code == 404
    lines = list(load_workbook(io.BytesIO(worker.get(export(district_list)).content)).active.values)
    assert len(lines) == 2  # the header and their one row
    # The district sees all three rows.
    admin_page = login_client(users["district_admin"]).get(detail(district_list)).content.decode()
    assert admin_page.count('data-testid="row"') == 3


# --- files --------------------------------------------------------------------------------------------


def test_downloads_are_masked_and_full_values_need_the_reveal_permission(
    officer, users, login_client, messy, person_a
):
    masked = officer.get(export(messy))
    assert masked.status_code == 200 and masked["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "no-store" in masked["Cache-Control"]
    text = str(list(load_workbook(io.BytesIO(masked.content)).active.values))
    assert person_a.id_number not in text and person_a.phone not in text

    commander = login_client(users["commander"])  # comparison.view, no person.reveal
    assert commander.get(export(messy, "?status=rejected&layout=file&reveal=1")).status_code == 403

    full = officer.get(export(messy, "?status=rejected&layout=file&reveal=1"))
    lines = list(load_workbook(io.BytesIO(full.content)).active.values)
    assert len(lines) == 1 + len(factories.MESSY_REJECTED)
    assert "钱七" in str(lines)
    entry = AuditEntry.objects.filter(action="listimport.export").latest("seq")
    assert entry.revealed_fields == ["name", "id_number", "phone"]
    assert entry.actor_username == "community_officer"


# --- correction ---------------------------------------------------------------------------------------


def test_correcting_a_rejected_row_on_its_page(officer, users, login_client, messy):
    row = messy.rows.get(row_number=10)  # 钱七: a bad check character and no phone
    url = reverse("comparison:row_correct", args=[row.pk])
    assert login_client(users["grid_worker"]).get(url).status_code == 403
    page = officer.get(url).content.decode()
    assert 'value="钱七"' in page  # prefilled with the list's values for a revealing role...
    assert AuditEntry.objects.filter(action="listrow.reveal", object_id=str(row.pk)).exists()  # ...audited
    assert shows(page, "Identity")

    data = {name: "" for name in ("name", "id_type", "id_number", "phone", "birth_date", "sex")}
    data.update({"name": "钱七", "phone": "13800000010", "arrived_at": "2022-03-05 10:00", "origin": "北京"})
    response = officer.post(url, data)
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == RowStatus.CORRECTED
    new = ListRow.objects.get(corrects=row)
    assert new.status in (RowStatus.LINKED, RowStatus.PROVISIONAL, RowStatus.REVIEW)
    assert new.id_number == ""  # emptied by the revealing clerk: the bad number is gone
    # The old row is not rejected any more: its page sends back to the list.
    assert officer.get(url).status_code == 302


def test_a_correction_still_wrong_comes_back_to_its_form(officer, messy):
    row = messy.rows.get(row_number=11)  # 孙八: 12345 as the arrival time
    response = officer.post(
        reverse("comparison:row_correct", args=[row.pk]), {"name": "孙八", "arrived_at": "后天"}
    )
    new = ListRow.objects.get(corrects=row)
    assert new.status == RowStatus.REJECTED
    assert response["Location"] == reverse("comparison:row_correct", args=[new.pk])


# --- sources ------------------------------------------------------------------------------------------


def test_the_sources_page_shows_the_remembered_mappings_and_adds_sources(officer, messy):
    page = officer.get(SOURCES).content.decode()
    assert "火车站到达旅客" in page and "<code>身份证号</code>" in page
    assert officer.post(SOURCES, {"name": "通信大数据", "kind": SourceKind.TELECOM}).status_code == 302
    assert ListSource.objects.filter(name="通信大数据", kind=SourceKind.TELECOM).exists()
    again = officer.post(SOURCES, {"name": "通信大数据", "kind": SourceKind.TELECOM})
    assert again.status_code == 400
    assert shows(again.content.decode(), "A source named %(name)s exists already.", name="通信大数据")
