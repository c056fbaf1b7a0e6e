"""Grid pages through the Django test client: access per role and scope (403/404), the board with overdue and
escalated tasks, forms that call the services and show their refusals, staffing with duty lists, sentinel
points with masked phones, patrol routes, emergencies, the assessment and its masked Excel export, and the
phone app's shell, manifest, service worker and icons."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image

from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows, zh
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.grids import services, views
from epigrid.grids.models import Emergency, GridAssignment, PatrolRoute, SentinelPoint, Task, TaskType
from epigrid.places.tests.factories import VenueFactory

pytestmark = pytest.mark.django_db


def task_in(grid, *, due_in_hours: float = 12, key: str = "", **kwargs) -> Task:
    person = kwargs.pop("person", None) or PersonFactory(grid=grid)
    return services.task_create(
        actor=None,
        spec=services.TaskSpec(
            kwargs.pop("type", TaskType.RESAMPLE),
            kwargs.pop("title", "复采单管"),
            key or f"t:{uuid.uuid4()}",
            person_id=person.pk,
            due_at=timezone.now() + dt.timedelta(hours=due_in_hours),
            **kwargs,
        ),
    )


def jpeg(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "green").save(out, format="JPEG")
    return out.getvalue()


# --- access ---------------------------------------------------------------------------------------------------


def test_pages_per_role(users, jurisdiction, login_client, client):
    task = task_in(jurisdiction.grid_a)
    pages = {
        reverse("grids:board"): Perm.TASK_VIEW,
        reverse("grids:task_detail", args=[task.pk]): Perm.TASK_VIEW,
        reverse("grids:staffing"): Perm.TASK_VIEW,
        reverse("grids:sentinels"): Perm.TASK_VIEW,
        reverse("grids:patrols"): Perm.TASK_VIEW,
        reverse("grids:assessment"): Perm.TASK_VIEW,
        reverse("grids:assessment_xlsx"): Perm.TASK_VIEW,
        reverse("grids:emergencies"): None,  # any staff reports
        reverse("grids:app"): Perm.TASK_WORK,
    }
    for role in Role:
        browser = login_client(users[role.value])
        for url, perm in pages.items():
            expected = 200 if may(role.value, perm) else 403
            assert browser.get(url).status_code == expected, (role.value, url)
    for url in pages:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    # what the browser fetches without cookies is public and holds nothing personal
    for url in (reverse("grids:manifest"), reverse("grids:sw"), reverse("grids:icon", args=["any", 192])):
        assert client.get(url).status_code == 200, url


def test_writes_need_their_permission(users, jurisdiction, login_client):
    task = task_in(jurisdiction.grid_a)
    worker = login_client(users["grid_worker"])
    assert worker.post(reverse("grids:task_cancel", args=[task.pk]), {"reason": "x"}).status_code == 403
    assert worker.post(reverse("grids:task_assign", args=[task.pk]), {}).status_code == 403
    assert worker.post(reverse("grids:task_dispatch"), {}).status_code == 403
    assert worker.post(reverse("grids:sentinels"), {"name": "x"}).status_code == 403
    assert worker.post(reverse("grids:patrols"), {"name": "x"}).status_code == 403
    assert worker.post(reverse("grids:staff_assign"), {}).status_code == 403
    leader = login_client(users["grid_leader"])  # manages the grid, does not dispatch emergencies
    emergency = services.emergency_report(
        actor=users["grid_worker"], kind="crowd", place="广场", description="聚集"
    )
    assert (
        leader.post(reverse("grids:emergency_close", args=[emergency.pk]), {"note": "x"}).status_code == 403
    )
    task.refresh_from_db()
    assert task.state == "new"


def test_outside_the_scope_or_missing_answers_404(users, jurisdiction, login_client):
    elsewhere = task_in(jurisdiction.grid_b)
    services.task_act(actor=None, task=elsewhere, action="done", result={"sampled": True}, photo=jpeg())
    emergency = services.emergency_report(
        actor=users["commander"],
        kind="fever",
        place="B区",
        description="发热",
        lat=jurisdiction.grid_b.centroid_lat,
        lng=jurisdiction.grid_b.centroid_lng,
        photo=jpeg(),
    )
    assert emergency.org_code == jurisdiction.grid_b.code
    leader = login_client(users["grid_leader"])  # grid A
    for name in ("task_detail", "task_photo"):
        assert leader.get(reverse(f"grids:{name}", args=[elsewhere.pk])).status_code == 404, name
    for name in ("task_assign", "task_cancel"):
        assert leader.post(reverse(f"grids:{name}", args=[elsewhere.pk]), {"reason": "x"}).status_code == 404
    assert leader.get(reverse("grids:task_detail", args=[elsewhere.pk + 1000])).status_code == 404
    assert leader.get(reverse("grids:emergency_photo", args=[emergency.pk])).status_code == 404
    board = leader.get(reverse("grids:board") + "?state=").content.decode()
    assert f'data-task="{elsewhere.pk}"' not in board
    officer_b = UserFactory(role=Role.COMMUNITY_OFFICER, org_unit=jurisdiction.community_b)
    other = login_client(officer_b)
    assert other.get(reverse("grids:task_detail", args=[elsewhere.pk])).status_code == 200
    assert other.get(reverse("grids:task_photo", args=[elsewhere.pk])).status_code == 200
    assert other.get(reverse("grids:emergency_photo", args=[emergency.pk])).status_code == 200
    # a dispatcher elsewhere cannot give an emergency to a grid outside their jurisdiction: not a choice
    outside = other.post(
        reverse("grids:emergency_assign", args=[emergency.pk]), {"grid": jurisdiction.grid_a.code}
    )
    assert outside.status_code == 400 and shows(outside.content.decode(), "Choose a grid.")
    emergency.refresh_from_db()
    assert emergency.status == "open"


# --- the task board ---------------------------------------------------------------------------------------------


def test_board_highlights_overdue_and_escalated_tasks_and_filters(users, jurisdiction, login_client):
    late = task_in(jurisdiction.grid_a, due_in_hours=-1, title="逾期复采")
    fresh = task_in(jurisdiction.grid_a, type=TaskType.SCREEN_ARRIVAL, title="摸排")
    done = task_in(jurisdiction.grid_a, title="已完成")
    services.task_act(actor=None, task=done, action="done", result={"sampled": True})
    assert services.tasks_escalate() == 1
    html = login_client(users["grid_leader"]).get(reverse("grids:board")).content.decode()
    assert re.search(
        rf'data-task="{late.pk}" data-state="new" data-escalation="1"\s+class="g-p3 g-overdue"', html
    )
    assert f'data-task="{fresh.pk}"' in html and f'data-task="{done.pk}"' not in html  # open by default
    assert shows(html, "to the grid leader")
    assert re.search(r'data-count="overdue">1<', html) and re.search(r'data-count="escalated">1<', html)
    browser = login_client(users["grid_leader"])
    only = browser.get(
        reverse("grids:board"), {"state": "", "type": TaskType.SCREEN_ARRIVAL}
    ).content.decode()
    assert f'data-task="{fresh.pk}"' in only and f'data-task="{late.pk}"' not in only
    overdue = browser.get(reverse("grids:board"), {"state": "open", "overdue": "on"}).content.decode()
    assert f'data-task="{late.pk}"' in overdue and f'data-task="{fresh.pk}"' not in overdue
    finished = browser.get(reverse("grids:board"), {"state": "done"}).content.decode()
    assert f'data-task="{done.pk}"' in finished
    partial = browser.get(reverse("grids:board"), {"state": "done"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and f'data-task="{done.pk}"' in partial


def test_dispatch_by_hand_makes_one_task_and_shows_errors(users, jurisdiction, login_client):
    browser = login_client(users["community_officer"])
    client_id = str(uuid.uuid4())
    form = {
        "client_id": client_id,
        "type": TaskType.INSTRUCTION,
        "title": "通知居民周六全员核酸",
        "grid": jurisdiction.grid_a.code,
        "subject_text": "幸福小区",
        "priority": "4",
        "due_at": "",
    }
    first = browser.post(reverse("grids:task_dispatch"), form)
    assert first.status_code == 302
    task = Task.objects.get(dedupe_key=f"manual:{client_id}")
    assert (task.org_code, task.priority, task.source) == (jurisdiction.grid_a.code, 4, "manual")
    assert browser.post(reverse("grids:task_dispatch"), form).status_code == 302  # a double click
    assert Task.objects.filter(title="通知居民周六全员核酸").count() == 1
    missing = browser.post(
        reverse("grids:task_dispatch"), {**form, "client_id": str(uuid.uuid4()), "title": ""}
    )
    assert missing.status_code == 400
    # a grid outside the jurisdiction is not a choice
    outside = browser.post(
        reverse("grids:task_dispatch"),
        {**form, "client_id": str(uuid.uuid4()), "grid": jurisdiction.grid_b.code},
    )
    assert outside.status_code == 400 and Task.objects.count() == 1


def test_assign_and_cancel_call_the_services_and_show_refusals(users, jurisdiction, login_client):
    task = task_in(jurisdiction.grid_a)
    worker = users["grid_worker"]
    browser = login_client(users["grid_leader"])
    page = browser.get(reverse("grids:task_detail", args=[task.pk])).content.decode()
    assert f'value="{worker.pk}"' in page
    assert (
        browser.post(reverse("grids:task_assign", args=[task.pk]), {"assignee": worker.pk}).status_code == 302
    )
    task.refresh_from_db()
    assert task.assignee == worker and task.version == 2
    # an account of another grid is not offered (and not accepted)
    other = UserFactory(role=Role.GRID_WORKER, org_unit=jurisdiction.grid_b)
    assert (
        browser.post(reverse("grids:task_assign", args=[task.pk]), {"assignee": other.pk}).status_code == 400
    )
    no_reason = browser.post(reverse("grids:task_cancel", args=[task.pk]), {"reason": ""})
    assert no_reason.status_code == 400
    assert (
        browser.post(reverse("grids:task_cancel", args=[task.pk]), {"reason": "重复派发"}).status_code == 302
    )
    task.refresh_from_db()
    assert (task.state, task.cannot_reason) == ("cancelled", "重复派发")
    again = browser.post(reverse("grids:task_cancel", args=[task.pk]), {"reason": "再次"})
    assert again.status_code == 400
    assert shows(again.content.decode(), "Only open tasks can be cancelled.")


def test_task_detail_shows_the_result_with_labels_evidence_and_phone_changes(
    users, jurisdiction, login_client, api_client
):
    task = task_in(jurisdiction.grid_a, type=TaskType.SCREEN_ARRIVAL)
    [answer] = services.tasks_sync(
        actor=users["grid_worker"],
        items=[
            services.SyncItem(
                str(uuid.uuid4()),
                task.pk,
                "done",
                base_version=1,
                result={
                    "residence": "黄河路1号",
                    "health": "normal",
                    "test_status": "none",
                    "decision": "test",
                },
                photo=jpeg(),
                lat=37.52,
                lng=121.22,
            )
        ],
    )
    assert answer.outcome == "applied"
    browser = login_client(users["grid_leader"])
    html = browser.get(reverse("grids:task_detail", args=[task.pk])).content.decode()
    assert shows(html, "Test and report") and "黄河路1号" in html
    assert 'data-testid="evidence-photo"' in html and "37.52000" in html
    assert 'data-outcome="applied"' in html
    photo = browser.get(reverse("grids:task_photo", args=[task.pk]))
    assert photo["Content-Type"] == "image/jpeg" and photo.content[:2] == b"\xff\xd8"
    assert task.subject_person.name not in html and task.subject_person.name_masked in html


# --- staffing -----------------------------------------------------------------------------------------------


def test_staffing_coverage_assign_remove_and_duties(users, jurisdiction, login_client, monkeypatch):
    browser = login_client(users["community_officer"])  # community A: grid A only
    page = browser.get(reverse("grids:staffing")).content.decode()
    assert re.search(rf'data-grid="{jurisdiction.grid_a.code}" class="g-missing"', page)
    assert jurisdiction.grid_b.code not in page
    assert shows(page, "Takes over overdue tasks and reports what the grid cannot solve")
    form = {"grid": jurisdiction.grid_a.code, "user": users["grid_leader"].pk, "role": "leader"}
    assert browser.post(reverse("grids:staff_assign"), form).status_code == 302
    twice = browser.post(reverse("grids:staff_assign"), form)
    assert twice.status_code == 400
    assert shows(twice.content.decode(), "This account is already on the staff of this grid.")
    browser.post(
        reverse("grids:staff_assign"),
        {"grid": jurisdiction.grid_a.code, "user": users["grid_worker"].pk, "role": "worker"},
    )
    page = browser.get(reverse("grids:staffing")).content.decode()
    assert f'data-grid="{jurisdiction.grid_a.code}" class="g-missing"' not in page
    assignment = GridAssignment.objects.get(user=users["grid_leader"], active=True)
    assert browser.post(reverse("grids:staff_remove", args=[assignment.pk])).status_code == 302
    assert not GridAssignment.objects.filter(pk=assignment.pk, active=True).exists()
    # duty lists come from the general rule when it names the role
    monkeypatch.setattr(
        views.core_selectors, "general_rule", lambda name, default=None: {"leader": ["每日巡查两次"]}
    )
    page = browser.get(reverse("grids:staffing")).content.decode()
    assert "每日巡查两次" in page and shows(page, "Reports emergencies at once")


# --- sentinel points and patrols --------------------------------------------------------------------------------


def test_sentinel_points_with_masked_phone_and_errors(users, jurisdiction, login_client):
    browser = login_client(users["grid_leader"])
    form = {
        "kind": "construction",
        "name": "海港路工地",
        "unit": jurisdiction.grid_a.code,
        "responsible_name": "王建国",
        "responsible_phone": "13912345678",
        "checklist": "实名登记\n体温检测\n",
    }
    assert browser.post(reverse("grids:sentinels"), form).status_code == 302
    point = SentinelPoint.objects.get()
    assert point.checklist == ["实名登记", "体温检测"]
    html = browser.get(reverse("grids:sentinels")).content.decode()
    assert "139****5678" in html and "13912345678" not in html
    bad = browser.post(reverse("grids:sentinels"), {**form, "responsible_phone": "12345"})
    assert bad.status_code == 400 and SentinelPoint.objects.count() == 1
    blank = browser.post(reverse("grids:sentinels"), {**form, "name": ""})
    assert blank.status_code == 400


def test_patrol_routes_offer_the_grids_venues_and_create_routes(users, jurisdiction, login_client):
    key = VenueFactory(grid=jurisdiction.grid_a, name="农贸市场", key_place=True)
    VenueFactory(grid=jurisdiction.grid_b, name="别处商场")
    browser = login_client(users["grid_leader"])
    page = browser.get(reverse("grids:patrols")).content.decode()
    assert "农贸市场" in page and "别处商场" not in page
    form = {
        "name": "周一三五市场巡查",
        "grid": jurisdiction.grid_a.code,
        "venues": [key.pk],
        "checklist": "扫码\n口罩",
        "weekdays": ["0", "2", "4"],
    }
    assert browser.post(reverse("grids:patrols"), form).status_code == 302
    route = PatrolRoute.objects.get()
    assert (route.weekdays, route.checklist, list(route.venues.all())) == ([0, 2, 4], ["扫码", "口罩"], [key])
    none = browser.post(reverse("grids:patrols"), {**form, "venues": [], "name": "空"})
    assert none.status_code == 400 and PatrolRoute.objects.count() == 1
    html = browser.get(reverse("grids:patrols")).content.decode()
    assert "周一三五市场巡查" in html


# --- emergencies -----------------------------------------------------------------------------------------------


def test_any_staff_reports_dispatchers_assign_and_close(users, jurisdiction, login_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    sampler = login_client(users["sampler"])
    page = sampler.get(reverse("grids:emergencies")).content.decode()
    assert 'data-testid="emergency-report"' in page and 'data-testid="emergencies"' not in page
    response = sampler.post(
        reverse("grids:emergencies"),
        {
            "kind": "fever",
            "place": "采样点3号",
            "description": "排队人员发热",
            "photo": SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg"),
            "lat": str(jurisdiction.grid_a.centroid_lat),
            "lng": str(jurisdiction.grid_a.centroid_lng),
        },
    )
    assert response.status_code == 302
    emergency = Emergency.objects.get()
    assert emergency.grid == jurisdiction.grid_a and emergency.photo
    empty = sampler.post(reverse("grids:emergencies"), {"kind": "fever", "place": "", "description": ""})
    assert empty.status_code == 400
    commander = login_client(users["commander"])
    listing = commander.get(reverse("grids:emergencies")).content.decode()
    assert f'data-emergency="{emergency.pk}"' in listing
    assigned = commander.post(
        reverse("grids:emergency_assign", args=[emergency.pk]), {"grid": jurisdiction.grid_a.code}
    )
    assert assigned.status_code == 302
    emergency.refresh_from_db()
    assert emergency.status == "assigned" and emergency.task.type == TaskType.EMERGENCY
    no_note = commander.post(reverse("grids:emergency_close", args=[emergency.pk]), {"note": ""})
    assert no_note.status_code == 400
    assert (
        commander.post(reverse("grids:emergency_close", args=[emergency.pk]), {"note": "已送医"}).status_code
        == 302
    )
    emergency.refresh_from_db()
    assert emergency.status == "closed"
    closed = commander.post(
        reverse("grids:emergency_assign", args=[emergency.pk]), {"grid": jurisdiction.grid_a.code}
    )
    assert closed.status_code == 400 and shows(closed.content.decode(), "This emergency is closed.")


# --- assessment ----------------------------------------------------------------------------------------------


def test_assessment_ranks_and_exports_masked_excel(users, jurisdiction, login_client):
    worker = users["grid_worker"]
    worker.first_name = "=李四光"
    worker.save()
    second = UserFactory(username="gw2", role=Role.GRID_WORKER, org_unit=jurisdiction.grid_a)
    second.first_name = "赵六"
    second.save()
    for actor, count in ((worker, 2), (second, 1)):
        for _ in range(count):
            task = task_in(jurisdiction.grid_a, due_in_hours=2)
            services.task_act(actor=actor, task=task, action="done", result={"sampled": True})
    task_in(jurisdiction.grid_a, due_in_hours=-1)  # overdue, open
    browser = login_client(users["grid_leader"])
    month = timezone.localdate().strftime("%Y-%m")
    html = browser.get(reverse("grids:assessment"), {"month": month, "by": "worker"}).content.decode()
    ranks = re.findall(r'<tr data-key="([^"]+)">\s*<td class="num">(\d+)</td>', html)
    assert ranks == [(worker.username, "1"), ("gw2", "2")]
    assert "李四光" not in html and "=**光" in html
    by_grid = browser.get(reverse("grids:assessment"), {"month": month, "by": "grid"}).content.decode()
    assert f'data-key="{jurisdiction.grid_a.code}"' in by_grid
    sheet = load_workbook(
        io.BytesIO(browser.get(reverse("grids:assessment_xlsx"), {"month": month, "by": "worker"}).content)
    ).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == zh("Rank") and len(rows) == 3
    assert rows[1][:5] == (1, worker.username, "'=**光", 2, 2)
    assert rows[2][1:3] == ("gw2", "赵*")
    assert not any("李四光" in str(cell) for row in rows for cell in row)


# --- the phone app's shell ---------------------------------------------------------------------------------------


def test_app_shell_manifest_worker_and_icons(users, login_client, client):
    html = login_client(users["grid_worker"]).get(reverse("grids:app")).content.decode()
    assert f'<link rel="manifest" href="{reverse("grids:manifest")}">' in html
    config = json.loads(
        re.search(r'<script id="app-config" type="application/json">(.*?)</script>', html, re.S)[1]
    )
    assert config["api"] == {
        "myTasks": "/api/v1/grid/my-tasks",
        "types": "/api/v1/grid/task-types",
        "sync": "/api/v1/grid/sync",
    }
    assert config["scope"] == reverse("grids:app") and config["user"] == "grid_worker"
    assert config["types"]["resample"] == zh("Re-sample in a single tube")
    manifest = client.get(reverse("grids:manifest"))
    assert manifest["Content-Type"] == "application/manifest+json"
    body = manifest.json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/grid/app/", "/grid/app/", "standalone")
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    for entry in body["icons"]:
        png = client.get(entry["src"])
        image = Image.open(io.BytesIO(png.content))
        assert (image.format, f"{image.width}x{image.height}") == ("PNG", entry["sizes"])
    worker = client.get(reverse("grids:sw"))
    assert worker["Content-Type"].startswith("application/javascript")
    assert worker["Service-Worker-Allowed"] == "/grid/app/" and worker["Cache-Control"] == "no-cache"
    script = worker.content.decode()
    assert "/static/grids/app.js" in script and "/api/v1/grid/my-tasks" in script
    assert client.get(reverse("grids:icon", args=["any", 100])).status_code == 404
