"""Information comparison in a browser (#10 acceptance): a clerk uploads a list of arrivals, confirms the column
mapping and watches the progress bar while a worker processes it, decides the uncertain match in the review
queue, saves and runs a comparison rule, creates grid tasks for its action list, and opens a dossier from it."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from epigrid.comparison import matching
from epigrid.comparison.models import ComparisonHit, ComparisonRun, LinkMethod, ListRow, RowStatus
from epigrid.core import services as core_services
from epigrid.core.identity import compose_resident_id
from epigrid.core.tests.factories import TEST_PASSWORD
from epigrid.grids.models import Task, TaskType
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.services import RiskAreaInput

pytestmark = pytest.mark.browser

ADDRESS = "山东省烟台市测试区A街道长江路12号金沙滩小区3号楼2单元501室"
HEADER = ["姓名", "证件号码", "手机号码", "性别", "现住址", "出发地", "交通方式", "到达时间"]


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    # The linkage model is trained on the test district and kept apart from the real one's.
    settings.LINKAGE_MODEL_DIR = tmp_path / "linkage"
    matching.forget_snapshots()
    yield
    matching.forget_snapshots()


def _log_in(page, username: str) -> None:
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def _resident(grid, name: str, birth: dt.date, seq: int, phone: str):
    return core_services.person_register(
        actor=None,
        data=core_services.PersonInput(
            id_number=compose_resident_id("370602", birth, seq),
            name=name,
            phone=phone,
            address=ADDRESS,
            grid_id=grid.pk,
        ),
    )


def _workbook(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["烟台站到站旅客名单"])  # a title above the header, as stations send them
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _worker() -> threading.Thread:
    """``epigrid worker`` in a thread: processes the queued tasks (the list), then stops."""
    from django_tasks_db.management.commands.db_worker import Worker

    def work() -> None:
        try:
            Worker(
                queue_names=["*"],
                interval=0.2,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id="browser-test-worker",
                excluded_queue_names=[],
            ).run()
        finally:
            connection.close()

    thread = threading.Thread(target=work, name="worker", daemon=True)
    thread.start()
    return thread


def test_import_review_compare_tasks_and_dossier(transactional_db, users, jurisdiction, page):
    admin = users["district_admin"]
    healthcode_services.risk_area_designate(
        actor=admin,
        data=RiskAreaInput(
            name="上海市浦东新区",
            level="high",
            kind="region",
            region_code="310115",
            effective_from=timezone.now() - dt.timedelta(days=10),
        ),
    )
    grid = jurisdiction.grid_a
    li = _resident(grid, "李秀英", dt.date(1972, 11, 2), 32, "13700002222")
    zhang = _resident(grid, "张伟明", dt.date(1985, 3, 14), 11, "13812345678")
    arrived = timezone.localtime(timezone.now() - dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    origin = "上海市浦东新区（310115）"
    content = _workbook(
        [
            # A resident, by document number: linked at once.
            ["李秀英", li.id_number, "137 0000 2222", "女", ADDRESS, origin, "G1234", arrived],
            # 张伟明's name, birth date, sex and address with another document number: a clerk decides.
            ["张伟明", compose_resident_id("370602", dt.date(1985, 3, 14), 13), "", "男", ADDRESS, origin, "G1234",
             arrived],
            # Nobody the district knows: a new person with the list's document.
            ["欧阳娜娜", compose_resident_id("310115", dt.date(1990, 5, 5), 22), "13655554444", "女", ADDRESS, origin,
             "G1234", arrived],
        ]
    )  # fmt: skip
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    _log_in(page, "district_admin")

    # Upload the list as a new source's first file; the next page guesses the mapping from the headers.
    page.goto(reverse("comparison:imports"))
    page.fill("input[name=new_source_name]", "烟台站到站旅客")
    page.select_option("select[name=new_source_kind]", "transport")
    page.set_input_files(
        "input[type=file][name=file]",
        files=[
            {
                "name": "到站旅客.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": content,
            }
        ],
    )
    page.click("[data-testid=upload-submit]")
    page.locator("[data-testid=mapping-form]").wait_for()
    assert page.locator("[data-testid=preview]").count() == 1
    page.click("[data-testid=mapping-submit]")

    # The progress bar polls while a worker processes the rows; at the end the page becomes the report.
    page.locator("[data-testid=progress]").wait_for()
    worker = _worker()
    page.locator("[data-testid=import-status][data-status=done]").wait_for(timeout=60_000)
    worker.join(timeout=30)
    rows = {r.name: r for r in ListRow.objects.all()}
    assert (rows["李秀英"].status, rows["李秀英"].person_id) == (RowStatus.LINKED, li.pk)
    assert rows["张伟明"].status == RowStatus.REVIEW
    assert rows["欧阳娜娜"].status == RowStatus.PROVISIONAL
    assert page.locator("[data-testid=counts]").count() == 1

    # The review queue: 张伟明's row beside its candidate; the clerk says it is him (the list's typo).
    page.goto(reverse("comparison:review"))
    page.click("[data-testid=start]")
    page.locator(f"[data-testid=candidate][data-person='{zhang.pk}']").wait_for()
    page.click(f"[data-testid=choose][data-person='{zhang.pk}']")
    page.wait_for_load_state()
    reviewed = ListRow.objects.get(pk=rows["张伟明"].pk)
    assert (reviewed.status, reviewed.person_id, reviewed.link_method) == (
        RowStatus.LINKED,
        zhang.pk,
        LinkMethod.CLERICAL,
    )

    # A rule: arrivals from high- and medium-risk areas not tested within 48 hours; run it now.
    page.goto(reverse("comparison:rules"))
    page.fill("[data-testid=rule-create] input[name=name]", "抵达48小时未检")
    page.select_option("[data-testid=rule-create] select[name=kind]", "not_tested")
    assert page.locator("[data-param=hours]").is_visible()
    assert not page.locator("[data-param=venue_id]").is_visible()  # another kind's parameter
    page.click("[data-testid=rule-submit]")
    page.click("[data-testid=run-now]")
    page.locator("[data-testid=hits]").wait_for()
    run = ComparisonRun.objects.get()
    newcomer = ListRow.objects.get(pk=rows["欧阳娜娜"].pk).person_id
    assert set(ComparisonHit.objects.filter(run=run).values_list("person_id", flat=True)) == {
        li.pk,
        zhang.pk,
        newcomer,
    }
    assert page.locator("[data-testid=hit-row]").count() == 3
    html = page.content()
    assert "李秀英" not in html and li.name_masked in html and li.id_number not in html

    # One click: a test task per person, each to their grid; the list says so.
    page.click("[data-testid=run-tasks-submit]")
    page.locator("[data-testid=hit-row][data-task=true]").first.wait_for()
    assert page.locator("[data-testid=hit-row][data-task=true]").count() == 3
    tasks = Task.objects.filter(type=TaskType.ARRIVAL_TEST)
    assert {t.subject_person_id for t in tasks} == {li.pk, zhang.pk, newcomer}
    assert {t.grid_id for t in tasks if t.subject_person_id in (li.pk, zhang.pk)} == {grid.pk}

    # The dossier of a person on the list: their arrival is there.
    page.click(f"[data-testid=hit-row][data-person='{li.pk}'] [data-testid=dossier-link]")
    page.locator("[data-testid=dossier-person]").wait_for()
    assert page.locator("[data-testid=dossier-arrival]").count() >= 1
    assert not errors, errors
