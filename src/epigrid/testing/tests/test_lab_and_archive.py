"""Lab sheets with their own columns, pool-size advice, round coverage and turnaround."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.utils import timezone
from openpyxl import Workbook

from epigrid.core.errors import DomainError
from epigrid.core.tests.factories import PersonFactory
from epigrid.testing import selectors, services
from epigrid.testing.models import Tube


def sealed_tube(users, barcode: str, people: list, pool: int = 5) -> Tube:
    tube = services.tube_register(actor=users["sampler"], barcode=barcode, pool_size=pool)
    for person in people:
        services.specimen_add(actor=users["sampler"], tube=tube, person=person, client_id=uuid.uuid4())
    return services.tube_seal(actor=users["sampler"], tube=tube)


def test_excel_sheet_with_chinese_columns_and_words(users, jurisdiction):
    a = sealed_tube(users, "LAB001", [PersonFactory(grid=jurisdiction.grid_a) for _ in range(2)])
    b = sealed_tube(users, "LAB002", [PersonFactory(grid=jurisdiction.grid_a)])
    book = Workbook()
    sheet = book.active
    sheet.append(["试管编码", "检测结果", "检测时间"])
    sheet.append(["LAB001", "阴性", "2026-11-25 08:00"])
    sheet.append(["LAB404", "阴性", None])
    sheet.append(["LAB002", "阳性", None])
    sheet.append([None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    rows = services.read_sheet(filename="结果.xlsx", content=buffer.getvalue())
    outcomes = services.results_import(
        actor=users["lab_technician"],
        rows=rows,
        mapping={"tube": "试管编码", "result": "检测结果", "tested_at": "检测时间"},
    )
    assert [(o.row, o.ok) for o in outcomes] == [(2, True), (3, False), (4, True), (5, False)]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.result, b.result) == ("negative", "positive")


def test_csv_in_gbk_and_a_missing_column(users, jurisdiction):
    sealed_tube(users, "LAB010", [PersonFactory(grid=jurisdiction.grid_a)])
    content = "试管,结果\nLAB010,阴性\n".encode("gbk")
    rows = services.read_sheet(filename="r.csv", content=content)
    outcomes = services.results_import(
        actor=users["lab_technician"], rows=rows, mapping={"tube": "试管", "result": "结果"}
    )
    assert outcomes[0].ok and Tube.objects.get(barcode="LAB010").result == "negative"
    with pytest.raises(DomainError, match="no column"):
        services.results_import(actor=users["lab_technician"], rows=rows, mapping={"tube": "barcode"})
    with pytest.raises(DomainError, match="Excel"):
        services.read_sheet(filename="x.xlsx", content=b"not a workbook")


@pytest.mark.parametrize(("p", "k"), [(0.0001, 20), (0.0025, 20), (0.01, 10), (0.03, 5), (0.4, 1)])
def test_pool_size_recommendation_follows_dorfman(p, k):
    assert selectors.recommend_pool_size(p) == k


def test_positivity_estimate_from_pools(users, jurisdiction):
    people = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(20)]
    tubes = [sealed_tube(users, f"POS{i}", people[i * 5 : i * 5 + 5]) for i in range(4)]
    services.results_submit(
        actor=users["lab_technician"],
        rows=[
            {"tube": t.barcode, "result": "positive" if i == 0 else "negative"} for i, t in enumerate(tubes)
        ],
    )
    p, persons = selectors.recent_positivity()
    assert persons == 20
    assert p == pytest.approx(1 - 0.75 ** (1 / 5))


def test_round_coverage_and_turnaround(users, jurisdiction, person_a):
    residents = [PersonFactory(grid=jurisdiction.grid_a) for _ in range(6)]
    testing_round = services.testing_round_create(
        actor=users["district_admin"],
        name="A街道全员核酸",
        area=jurisdiction.street_a,
        day=timezone.localdate(),
    )
    assert testing_round.target_population == 7  # and person_a, who lives in grid A too
    tube = sealed_tube(users, "RND1", residents[:4])
    services.results_submit(actor=users["lab_technician"], rows=[{"tube": "RND1", "result": "negative"}])
    Tube.objects.filter(pk=tube.pk).update(resulted_at=timezone.now() + dt.timedelta(hours=6))
    coverage = selectors.round_coverage(actor=users["grid_worker"], testing_round=testing_round)
    assert (coverage["target"], coverage["sampled"]) == (7, 4)
    assert set(coverage["not_sampled"]) == {*residents[4:], person_a}
    assert coverage["turnaround_hours_p50"] == pytest.approx(6, abs=0.1)
