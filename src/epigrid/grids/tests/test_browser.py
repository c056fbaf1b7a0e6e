"""The grid worker's app in a real browser (Debian's chromium through Playwright) at a phone's size — the
issue's acceptance: a worker opens the app, goes offline, completes two tasks with a photo, comes back online
and the queue syncs once (each task done once, one TaskUpdate per change, a resend after a lost answer
changes nothing); the grid leader sees them done on the board; an overdue task escalates and the board
shows it."""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from epigrid.core.models import Event
from epigrid.core.tests.factories import TEST_PASSWORD, PersonFactory
from epigrid.grids import services
from epigrid.grids.models import Task, TaskType, TaskUpdate

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def photo(width: int = 2000, height: int = 1500) -> bytes:
    """A camera-sized JPEG: the app must shrink it to at most 1280 px before sending."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def make_task(grid, kind: str, title: str, *, hours: float, lat: float, lng: float) -> Task:
    person = PersonFactory(grid=grid)
    return services.task_create(
        actor=None,
        spec=services.TaskSpec(
            kind,
            title,
            f"browser:{title}",
            person_id=person.pk,
            lat=lat,
            lng=lng,
            due_at=timezone.now() + dt.timedelta(hours=hours),
        ),
    )


def queue_is(page, n: int) -> None:
    page.wait_for_function(
        "n => { const r = document.getElementById('grid-app');"
        " return r.dataset.queue === String(n) && r.dataset.syncing === 'false'; }",
        arg=n,
    )


def open_task(page, task: Task) -> None:
    page.click(f"[data-testid=task-card][data-task-id='{task.pk}']")
    page.locator("[data-testid=task-detail]").wait_for()


def attach_photo(page) -> None:
    page.set_input_files(
        "[data-testid=photo]", files=[{"name": "evidence.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
    )
    page.wait_for_function("document.querySelector('form.ga-form').dataset.photo === 'ready'")


def test_worker_offline_two_tasks_with_photos_sync_once_leader_sees_them_and_escalation(
    transactional_db, users, jurisdiction, phone_page
):
    started = time.monotonic()
    grid = jurisdiction.grid_a
    lat, lng = grid.centroid_lat, grid.centroid_lng
    near = make_task(grid, TaskType.RESAMPLE, "复采：黄河路1号", hours=3, lat=lat + 0.001, lng=lng)
    far = make_task(grid, TaskType.SCREEN_ARRIVAL, "摸排：长江路8号", hours=3, lat=lat + 0.01, lng=lng)
    late = make_task(grid, TaskType.RESAMPLE, "复采：逾期", hours=-2, lat=lat, lng=lng + 0.002)
    page = phone_page
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": lat, "longitude": lng})
    script_errors: list[str] = []
    page.on("pageerror", lambda err: script_errors.append(str(err)))

    # 1. the worker opens the app from the navigation; the service worker takes the page over
    sign_in(page, "grid_worker")
    page.click(f"a[href='{reverse('grids:app')}']")
    page.locator("#grid-app[data-state=ready]").wait_for()
    page.wait_for_function("navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)")
    cards = page.locator("[data-testid=task-card]")
    assert cards.count() == 3
    # today's work (all three, one overdue) by priority, then nearest first (selectors.worker_tasks)
    order = [int(cards.nth(i).get_attribute("data-task-id")) for i in range(3)]
    assert order == [near.pk, late.pk, far.pk]
    assert [cards.nth(i).get_attribute("data-overdue") for i in range(3)] == ["false", "true", "false"]
    distance = page.locator(f"[data-task-id='{near.pk}'] .ga-dist").inner_text()
    assert distance == zh("{n} m").replace("{n}", "111")  # 0.001° of latitude from the phone
    page.click("[data-testid=tab-map]")
    page.wait_for_function("document.getElementById('grid-app').dataset.markers === '4'")  # 3 tasks + me
    page.click("[data-testid=tab-list]")

    # 2. offline: the app still opens (from the service worker's cache) and keeps every change on the phone
    page.context.set_offline(True)
    page.reload()
    page.locator("#grid-app[data-state=ready]").wait_for()
    assert page.locator("#grid-app").get_attribute("data-online") == "false"
    assert page.locator("[data-testid=task-card]").count() == 3

    open_task(page, near)
    page.click("[data-testid=action-accept]")
    queue_is(page, 1)
    assert page.locator("[data-testid=detail-state]").inner_text() == zh("Accepted")
    page.click("[data-testid=action-done]")
    page.check("input[name=sampled][value=true]")
    page.fill("input[name=tube]", "S-0001")
    attach_photo(page)
    page.click("[data-testid=submit-done]")
    queue_is(page, 2)

    open_task(page, far)
    page.click("[data-testid=action-done]")
    page.click("[data-testid=submit-done]")  # incomplete: the form says what is missing, nothing queued
    assert page.locator("[data-form-error]").is_visible()
    page.fill("input[name=residence]", "长江路8号3单元")
    page.check("input[name=health][value=normal]")
    page.check("input[name=test_status][value=none]")
    page.check("input[name=decision][value=home_monitoring]")
    attach_photo(page)
    page.click("[data-testid=submit-done]")
    queue_is(page, 3)
    assert page.locator("[data-testid=queue-count]").inner_text() == "3"
    assert page.locator("[data-testid=task-queued]").count() == 2
    assert TaskUpdate.objects.count() == 0 and Task.objects.filter(state="done").count() == 0

    # 3. online again: the queue goes out by itself, once; the server's answer to the first try is lost
    def lose_answer(route) -> None:
        route.fetch()
        route.abort()

    page.route("**/api/v1/grid/sync", lose_answer, times=1)
    page.context.set_offline(False)
    queue_is(page, 0)
    assert page.locator("#grid-app").get_attribute("data-online") == "true"
    page.evaluate("window.EpiGridGridApp.drain()")  # nothing left to send
    queue_is(page, 0)

    updates = list(TaskUpdate.objects.order_by("pk").values_list("task_id", "action", "outcome"))
    assert updates == [
        (near.pk, "accept", "applied"),
        (near.pk, "done", "applied"),
        (far.pk, "done", "applied"),
    ]
    for task in (near, far):
        task.refresh_from_db()
        assert task.state == "done" and task.finished_by == users["grid_worker"]
        assert Event.objects.filter(type="task.done", payload__task_id=task.pk).count() == 1
        shot = Image.open(io.BytesIO(bytes(task.evidence_photo)))
        assert max(shot.size) <= 1280
        assert task.evidence_lat == pytest.approx(lat, abs=1e-5)
    near.refresh_from_db()
    assert near.result == {"sampled": True, "tube": "S-0001"} and near.version == 3
    assert far.result["decision"] == "home_monitoring"
    # Left: the overdue task, and the door seal the home monitoring just decided for the screened arrival
    # asks for (quarantine.home_placed -> a door-seal task for the grid).
    page.evaluate("window.EpiGridGridApp.refresh()")
    page.wait_for_function("document.querySelectorAll('[data-testid=task-card]').length === 2")
    assert Task.objects.filter(type="door_seal", subject_person_id=far.subject_person_id).count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH + 1

    # a new urgent task reaches the phone at the next poll (the hook the event stream will call) as a banner
    assert not page.locator("[data-testid=urgent-banner]").is_visible()
    urgent = make_task(grid, TaskType.CONTACT_CONTROL, "密接管控：海滨路2号", hours=1, lat=lat, lng=lng)
    page.evaluate("window.EpiGridGridApp.refresh()")
    banner = page.locator("[data-testid=urgent-banner]")
    banner.wait_for()
    assert urgent.title in banner.inner_text()

    # 4. the grid leader sees both done on the board
    sign_in(page, "grid_leader")
    page.click(f"a[href='{reverse('grids:board')}']")
    page.wait_for_load_state()  # htmx binds the filters once the page has loaded
    page.select_option("select[name=state]", "done")
    page.click("[data-testid=filters] button[type=submit]")
    page.locator(f"tr[data-task='{far.pk}']").wait_for()
    for task in (near, far):
        assert page.locator(f"tr[data-task='{task.pk}']").get_attribute("data-state") == "done"

    # 5. the overdue task escalates to the grid leader, and the board says so
    assert services.tasks_escalate() == 1
    page.goto(reverse("grids:board"))
    row = page.locator(f"tr[data-task='{late.pk}']")
    assert row.get_attribute("data-escalation") == "1" and row.get_attribute("data-overdue") == "true"
    assert row.locator("[data-testid=escalation]").is_visible()
    assert not script_errors
    assert time.monotonic() - started < 90
