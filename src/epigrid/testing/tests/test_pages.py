"""Testing pages through the Django test client: access per role, the lab's typed results and the lab sheet
with its column-mapping step, box receipt, the archive's coverage numbers, a resident's results and recall."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.tests.factories import PersonFactory
from epigrid.testing import services
from epigrid.testing.models import Box, Recall, Tube
from epigrid.testing.models import TestingRound as Round

pytestmark = pytest.mark.django_db


class _FakeUser:
    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def _may(perm: str):
    return lambda role: is_staff_role(role) and has_perm(_FakeUser(role), perm)


PAGES = [
    ("testing:station", _may(Perm.TESTING_SAMPLE)),
    ("testing:lab", _may(Perm.TESTING_LAB)),
    ("testing:archive", _may(Perm.TESTING_VIEW)),
    ("testing:my_results", lambda role: True),
]


@pytest.mark.parametrize(("name", "allowed"), PAGES, ids=[p[0] for p in PAGES])
def test_pages_per_role(name, allowed, users, login_client, client):
    url = reverse(name)
    for role in Role:
        response = login_client(users[role.value]).get(url)
        expected = 200 if allowed(role.value) else 403
        assert response.status_code == expected, (role.value, response.status_code)
    assert client.get(url).status_code == 302  # anonymous: to the login page


def test_navigation_shows_the_testing_pages_to_their_roles(users, login_client):
    for username, name in (
        ("sampler", "testing:station"),
        ("lab_technician", "testing:lab"),
        ("epidemiologist", "testing:archive"),
        ("grid_worker", "testing:archive"),
        ("resident", "testing:my_results"),
    ):
        body = login_client(users[username]).get(reverse("core:home"), follow=True).content.decode()
        assert f'href="{reverse(name)}"' in body, (username, name)


def test_station_offers_the_recommended_pool_size(users, login_client, jurisdiction):
    body = login_client(users["sampler"]).get(reverse("testing:station")).content.decode()
    # no results yet: positivity 0, so the largest pool is best
    assert 'data-recommended="20"' in body
    assert re.search(r'value="20"\s+checked', body)
    assert 'capture="environment"' in body and 'accept="image/*"' in body
    assert "/api/v1/testing/tubes" in body and "/api/v1/ocr/id-card" in body


def test_station_session_posts_need_the_csrf_header(users, jurisdiction):
    """The station's script writes through the API with the session cookie and the CSRF header."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["sampler"])
    page = client.get(reverse("testing:station")).content.decode()
    token = re.search(r'data-csrf="([^"]+)"', page).group(1)
    body = '{"barcode": "CSRF01", "pool_size": 5}'
    assert client.post("/api/v1/testing/tubes", body, content_type="application/json").status_code in (
        401,
        403,
    )
    ok = client.post("/api/v1/testing/tubes", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 201


def sealed_tube(users, barcode: str, people: list, pool: int = 5) -> Tube:
    tube = services.tube_register(actor=users["sampler"], barcode=barcode, pool_size=pool)
    for person in people:
        services.specimen_add(actor=users["sampler"], tube=tube, person=person, client_id=uuid.uuid4())
    return services.tube_seal(actor=users["sampler"], tube=tube)


def outcome_rows(body: str) -> list[tuple[str, str, str]]:
    return re.findall(r'data-row="(\d+)" data-tube="([^"]*)" data-ok="(\w+)"', body)


def test_lab_textarea_records_results_and_shows_row_errors(users, login_client, jurisdiction):
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(3)]
    sealed_tube(users, "PG001", people[:2])
    sealed_tube(users, "PG002", people[2:], pool=1)
    services.tube_register(actor=users["sampler"], barcode="PG003", pool_size=5)  # open
    lines = "PG001 negative\nPG404 negative\nPG002, positive\nPG003 negative\nPG001 maybe\n"
    client = login_client(users["lab_technician"])
    response = client.post(reverse("testing:lab"), {"action": "lines", "res-lines": lines})
    assert response.status_code == 200
    body = response.content.decode()
    assert outcome_rows(body) == [
        ("1", "PG001", "true"),
        ("2", "PG404", "false"),
        ("3", "PG002", "true"),
        ("4", "PG003", "false"),
        ("5", "PG001", "false"),
    ]
    assert "PG404" in body and 'data-testid="outcome-note"' in body  # implicit receipt noted
    assert Tube.objects.get(barcode="PG001").result == "negative"
    assert Tube.objects.get(barcode="PG002").result == "positive"
    assert Tube.objects.get(barcode="PG003").result == ""
    assert Recall.objects.filter(tube__barcode="PG002").count() == 0  # a single tube: a case, not a recall


def test_lab_sheet_upload_maps_columns_and_imports(users, login_client, jurisdiction):
    sealed_tube(users, "XL001", [PersonFactory(grid=jurisdiction.grid_a) for _ in range(2)])
    sealed_tube(users, "XL002", [PersonFactory(grid=jurisdiction.grid_a) for _ in range(3)])
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "样本管", "报告", "检测时间"])
    sheet.append([1, "XL001", "阴性", dt.datetime(2026, 11, 25, 8, 0)])
    sheet.append([2, "XL999", "阴性", None])
    sheet.append([3, "XL002", "阳性", "2026-11-25 09:00"])
    buffer = io.BytesIO()
    book.save(buffer)
    client = login_client(users["lab_technician"])
    upload = SimpleUploadedFile("lab.xlsx", buffer.getvalue())
    response = client.post(reverse("testing:lab"), {"action": "upload", "sheet": upload})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="sheet-mapping"' in body
    for column in ("序号", "样本管", "报告", "检测时间"):
        assert f'<th scope="col">{column}</th>' in body
    key = re.search(r'name="sheet_key" value="([^"]+)"', body).group(1)
    assert not Tube.objects.exclude(result="").exists()  # nothing imported before the mapping

    response = client.post(
        reverse("testing:lab"),
        {"action": "map", "sheet_key": key, "tube": "样本管", "result": "报告", "tested_at": "检测时间"},
    )
    assert response.status_code == 200
    assert outcome_rows(response.content.decode()) == [
        ("2", "XL001", "true"),
        ("3", "XL999", "false"),
        ("4", "XL002", "true"),
    ]
    xl1, xl2 = Tube.objects.get(barcode="XL001"), Tube.objects.get(barcode="XL002")
    assert (xl1.result, xl2.result) == ("negative", "positive")
    assert timezone.localtime(xl1.tested_at).hour == 8
    assert Recall.objects.filter(tube=xl2).count() == 3
    # the stashed sheet is used once
    again = client.post(
        reverse("testing:lab"), {"action": "map", "sheet_key": key, "tube": "样本管", "result": "报告"}
    )
    assert again.status_code == 400


def test_lab_sheet_mapping_to_a_wrong_column_keeps_nothing_half_written(users, login_client, jurisdiction):
    sealed_tube(users, "XL010", [PersonFactory(grid=jurisdiction.grid_a)])
    content = b"tube,result\nXL010,negative\n"
    client = login_client(users["lab_technician"])
    response = client.post(
        reverse("testing:lab"), {"action": "upload", "sheet": SimpleUploadedFile("r.csv", content)}
    )
    key = re.search(r'name="sheet_key" value="([^"]+)"', response.content.decode()).group(1)
    # a result column that is the tube column: every row says why
    response = client.post(
        reverse("testing:lab"), {"action": "map", "sheet_key": key, "tube": "tube", "result": "tube"}
    )
    assert outcome_rows(response.content.decode()) == [("2", "XL010", "false")]
    assert Tube.objects.get(barcode="XL010").result == ""
    # an unknown column name is a form error
    response = client.post(
        reverse("testing:lab"), {"action": "upload", "sheet": SimpleUploadedFile("r.csv", content)}
    )
    key = re.search(r'name="sheet_key" value="([^"]+)"', response.content.decode()).group(1)
    response = client.post(
        reverse("testing:lab"), {"action": "map", "sheet_key": key, "tube": "nope", "result": "result"}
    )
    assert response.status_code == 400 and 'data-testid="sheet-mapping"' in response.content.decode()


def test_lab_rejects_a_file_that_is_not_a_sheet(users, login_client):
    client = login_client(users["lab_technician"])
    response = client.post(
        reverse("testing:lab"),
        {"action": "upload", "sheet": SimpleUploadedFile("x.xlsx", b"not a workbook")},
    )
    assert response.status_code == 400 and 'data-testid="lab-error"' in response.content.decode()


def test_lab_receives_a_box_and_flags_missing_and_extra(users, login_client, jurisdiction):
    for code in ("BX1", "BX2", "BX3"):
        sealed_tube(users, code, [PersonFactory(grid=jurisdiction.grid_a)])
    services.box_pack(actor=users["sampler"], code="BOX-7", barcodes=["BX1", "BX2", "BX3"])
    client = login_client(users["lab_technician"])
    response = client.post(
        reverse("testing:lab"), {"action": "receive", "box-box": "BOX-7", "box-scanned": "BX1\nBX2, BX9\n"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-missing="BX3"' in body and 'data-extra="BX9"' in body
    box = Box.objects.get(code="BOX-7")
    assert box.received_by == users["lab_technician"] and box.missing == ["BX3"]
    assert Tube.objects.get(barcode="BX1").status == "received"
    again = client.post(
        reverse("testing:lab"), {"action": "receive", "box-box": "BOX-7", "box-scanned": "BX1"}
    )
    assert again.status_code == 400
    unknown = client.post(
        reverse("testing:lab"), {"action": "receive", "box-box": "NOPE", "box-scanned": "BX1"}
    )
    assert unknown.status_code == 400


def test_archive_creates_a_round_and_shows_its_coverage(users, login_client, jurisdiction):
    grid_a_people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(4)]
    PersonFactory(grid=jurisdiction.grid_b)
    sampled = grid_a_people[:3]
    tube = sealed_tube(users, "AR001", sampled, pool=5)
    services.results_submit(
        actor=users["lab_technician"], rows=[{"tube": tube.barcode, "result": "negative"}]
    )
    client = login_client(users["epidemiologist"])
    response = client.post(
        reverse("testing:archive"),
        {"name": "A街道第一轮", "area": jurisdiction.street_a.code, "day": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    testing_round = Round.objects.get(name="A街道第一轮")
    assert response["Location"].endswith(f"?round={testing_round.pk}")
    body = client.get(response["Location"]).content.decode()
    coverage = re.search(r'data-testid="coverage"[^>]*', body).group(0)
    target = 4 + (1 if users["resident"].person.org_code.startswith(jurisdiction.street_a.code) else 0)
    assert f'data-target="{target}"' in coverage and 'data-sampled="3"' in coverage
    assert 'data-p50="0' in coverage  # sampled and resulted within the test: well under an hour
    not_sampled = re.findall(r'<tr data-person="(\d+)">', body)
    assert str(grid_a_people[3].pk) in not_sampled and str(sampled[0].pk) not in not_sampled
    assert grid_a_people[3].name_masked in body and grid_a_people[3].name not in body
    assert 'data-recommended="' in body


def test_archive_shows_open_recalls_in_scope_only(users, login_client, jurisdiction):
    people_a = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(5)]
    people_b = [PersonFactory(grid=jurisdiction.grid_b) for _ in range(5)]
    sealed_tube(users, "RC001", people_a)
    sealed_tube(users, "RC002", people_b)
    services.results_submit(
        actor=users["lab_technician"],
        rows=[{"tube": "RC001", "result": "positive"}, {"tube": "RC002", "result": "positive"}],
    )
    district = login_client(users["epidemiologist"]).get(reverse("testing:archive")).content.decode()
    assert 'data-testid="recalls" data-count="10"' in district
    grid = login_client(users["grid_worker"]).get(reverse("testing:archive")).content.decode()
    assert 'data-testid="recalls" data-count="5"' in grid
    shown = set(re.findall(r'data-testid="recall" data-person="(\d+)"', grid))
    assert shown == {str(p.pk) for p in people_a}


def test_archive_round_form_errors_and_scope(users, login_client, jurisdiction):
    client = login_client(users["grid_worker"])
    # street B is outside a grid-A worker's scope: not a choice
    response = client.post(
        reverse("testing:archive"), {"area": jurisdiction.street_b.code, "day": "2026-11-25"}
    )
    assert response.status_code == 400
    assert not Round.objects.exists()


def test_resident_sees_results_and_the_recall_notice(users, login_client, jurisdiction, person_a):
    others = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(4)]
    sealed_tube(users, "MY001", [person_a, *others[:1]])
    services.results_submit(actor=users["lab_technician"], rows=[{"tube": "MY001", "result": "negative"}])
    client = login_client(users["resident"])
    body = client.get(reverse("testing:my_results")).content.decode()
    assert 'data-result="negative"' in body and 'data-testid="recall-notice"' not in body

    sealed_tube(users, "MY002", [person_a, *others], pool=5)
    body = client.get(reverse("testing:my_results")).content.decode()
    assert re.findall(r'data-testid="result" data-result="(\w+)"', body) == ["pending", "negative"]

    services.results_submit(actor=users["lab_technician"], rows=[{"tube": "MY002", "result": "positive"}])
    body = client.get(reverse("testing:my_results")).content.decode()
    assert re.findall(r'data-testid="result" data-result="(\w+)"', body) == ["recall", "negative"]
    assert 'data-testid="recall-notice"' in body
    due = Recall.objects.get(person=person_a).due_at
    assert timezone.localtime(due).strftime("%Y-%m-%d %H:%M") in body
    assert 'data-testid="result-due"' in body


def test_staff_without_a_person_see_an_empty_results_page(users, login_client):
    response = login_client(users["sampler"]).get(reverse("testing:my_results"))
    assert response.status_code == 200 and 'data-testid="recall-notice"' not in response.content.decode()
