"""The command center page through Django's test client: who may open it, that it renders in Chinese (the
default) and English with the situation's numbers, and what it hands its script (API paths, tile URL,
permissions)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from epigrid.checkins import services as checkin_services
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.tests.factories import PersonFactory
from epigrid.investigation.tests.factories import old_venue

pytestmark = pytest.mark.django_db
URL = "/command/"


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def json_data(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def counter_cells(html: str, key: str) -> tuple[str, str]:
    match = re.search(
        rf'<tr data-counter="{key}">.*?<td class="cc-today"[^>]*>(.*?)</td>\s*<td class="cc-yesterday">(.*?)</td>',
        html,
        re.S,
    )
    assert match, key
    return match.group(1).strip(), match.group(2).strip()


class _Role:
    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def test_url_is_the_command_center():
    assert reverse("command:center") == URL


def test_who_may_open_it(jurisdiction, users, login_client, client):
    assert client.get(URL).status_code == 302  # to the login page
    for role in Role:
        may = is_staff_role(role) and has_perm(_Role(role), Perm.COMMAND_VIEW)
        status = login_client(users[role.value]).get(URL).status_code
        assert status == (200 if may else 403), role


def test_renders_in_chinese_by_default_with_the_numbers(jurisdiction, users, login_client):
    venue = old_venue(jurisdiction.grid_a)
    for _ in range(2):
        result = checkin_services.checkin_bulk_import(
            actor=None,
            rows=[
                checkin_services.CheckinImportRow(
                    client_id=uuid.uuid4(),
                    person_id=PersonFactory(grid=jurisdiction.grid_a).pk,
                    venue_id=venue.pk,
                    scanned_at=timezone.now(),
                    leave_at=timezone.now() + timezone.timedelta(minutes=30),
                )
            ],
        )
        assert result.created == 1
    response = login_client(users["commander"]).get(URL)
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert zh("Command center") in html and zh("Situation") in html and zh("Alarms") in html
    assert counter_cells(html, "checkins") == ("2", "0")
    assert counter_cells(html, "vaccination_doses") == ("0", "0")
    assert zh("Vaccination sites") in html and zh("Medical-waste points") in html
    assert zh("not available yet") not in html  # every layer's module is built
    situation = json_data(html, "cc-situation-data")
    assert situation["counters"]["checkins"] == {"today": 2, "yesterday": 0}


def test_renders_in_english(jurisdiction, users, login_client):
    client = login_client(users["commander"])
    client.post(reverse("set_language"), {"language": "en", "next": URL})
    html = client.get(URL).content.decode()
    assert '<html lang="en">' in html
    for text in ("Command center", "Layers", "Colour grids by", "Open cases", "Send to the selected grids"):
        assert text in html, text


def test_the_script_gets_paths_permissions_and_the_tile_url(jurisdiction, users, login_client, settings):
    settings.MAP_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    html = login_client(users["commander"]).get(URL).content.decode()
    config = json_data(html, "cc-config")
    assert config["tileUrl"] == settings.MAP_TILE_URL
    assert config["api"]["map"] == "/api/v1/command/map"
    assert config["api"]["stream"] == "/api/v1/events/stream"
    assert config["canDispatch"] is True and config["canHandleAlarms"] is True
    assert config["notBuilt"] == []
    assert config["labels"]["waste_open_bags"]  # the medical-waste points' popup
    assert config["labels"]["doses_today"]  # the vaccination sites' popup
    assert 'id="cc-instruction-form"' in html

    settings.MAP_TILE_URL = ""
    epi = login_client(users["epidemiologist"]).get(URL).content.decode()
    config = json_data(epi, "cc-config")
    assert config["tileUrl"] == ""  # boundaries only, offline
    # The epidemiologist may follow instructions but not send them, nor handle alarms.
    assert config["canDispatch"] is False and config["canHandleAlarms"] is False
    assert 'id="cc-instruction-form"' not in epi


def test_a_video_consultation_is_one_click_from_the_map_once_a_meeting_server_is_set(
    jurisdiction, users, login_client, settings
):
    commander = login_client(users["commander"])
    settings.VIDEO_MEETING_URL = ""
    html = commander.get(URL).content.decode()
    assert json_data(html, "cc-config")["consultationUrl"] == ""
    assert 'data-testid="consult"' not in html
    settings.VIDEO_MEETING_URL = "https://meet.example.org/{room}"
    html = commander.get(URL).content.decode()
    # Each alarm row links to /command/consultations/new/?alarm=<id>; the page links to a blank one.
    assert json_data(html, "cc-config")["consultationUrl"] == reverse("command:consultation_new")
    assert 'data-testid="consult"' in html and reverse("command:camera_list") in html
    # Who cannot handle alarms gets no consultation link.
    epi = login_client(users["epidemiologist"]).get(URL).content.decode()
    assert json_data(epi, "cc-config")["consultationUrl"] == "" and 'data-testid="consult"' not in epi


def test_community_officer_page_counts_only_their_community(jurisdiction, users, login_client):
    for grid in (jurisdiction.grid_a, jurisdiction.grid_b):
        result = checkin_services.checkin_bulk_import(
            actor=None,
            rows=[
                checkin_services.CheckinImportRow(
                    client_id=uuid.uuid4(),
                    person_id=PersonFactory(grid=grid).pk,
                    venue_id=old_venue(grid).pk,
                    scanned_at=timezone.now(),
                    leave_at=timezone.now() + timezone.timedelta(minutes=30),
                )
            ],
        )
        assert result.created == 1
    html = login_client(users["community_officer"]).get(URL).content.decode()
    assert counter_cells(html, "checkins") == ("1", "0")
    assert json_data(html, "cc-situation-data")["epicurve"] is None


# --- in a real browser ------------------------------------------------------------------------------------


def sign_in(page, username: str) -> None:
    from epigrid.core.tests.factories import TEST_PASSWORD

    page.context.clear_cookies()
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


@pytest.mark.browser
def test_the_commander_sees_grids_numbers_and_alarms_on_the_map(transactional_db, jurisdiction, users, page):
    from epigrid.command.models import Alarm, Severity
    from epigrid.grids import services as grid_services
    from epigrid.grids.models import Task, TaskType
    from epigrid.investigation import services as case_services

    case_services.case_create(actor=None, person=PersonFactory(grid=jurisdiction.grid_a), trace=False)
    grid = jurisdiction.grid_b
    alarm = Alarm.objects.create(  # test setup only: alarms come from the command center's services
        kind="case.confirmed",
        severity=Severity.CRITICAL,
        source_key="test:browser",
        org_code=grid.code,
        lat=grid.centroid_lat,
        lng=grid.centroid_lng,
        raised_at=timezone.now(),
    )
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    sign_in(page, "commander")
    page.goto(URL)
    page.locator("#cc-map[data-loaded=true]").wait_for()
    assert page.locator("#cc-map").get_attribute("data-grids") == "2"
    assert page.locator("path.cc-grid").count() == 2
    # Grid A has the case: coloured by open cases, its tooltip says so.
    assert page.locator("#cc-legend-items li").count() >= 2
    today_cases = page.locator('#cc-counters tr[data-counter="new_cases"] .cc-today')
    assert today_cases.get_attribute("data-value") == "1"
    assert page.locator('#cc-counters tr[data-counter="vaccination_doses"] .cc-today').inner_text() == "0"
    page.locator("#cc-epicurve[data-rendered='1'] canvas").wait_for()
    # The open alarm is a marker on the map and a row in the panel.
    page.locator(f".alarm-marker[data-alarm-id='{alarm.pk}']").wait_for()
    page.locator(f"#cc-alarm-list li[data-alarm-id='{alarm.pk}']").wait_for()
    # (The case raised an alarm of its own where the command center's handlers are installed.)
    active = Alarm.objects.exclude(status="closed").count()
    assert page.locator("#command-center").get_attribute("data-alarms") == str(active)
    assert page.locator("#cc-alarm-list li[data-alarm-id]").count() == active
    # Clicking grids selects them for an instruction.
    # (away from the grid's centre, where an alarm about the case may stand)
    page.locator(f"path.cc-grid[data-grid-code='{jurisdiction.grid_a.code}']").click(
        position={"x": 12, "y": 12}
    )
    page.wait_for_function("document.getElementById('command-center').dataset.selected === '1'")
    assert page.locator("path.cc-grid.cc-grid-selected").count() == 1
    page.click("#cc-select-view")
    page.wait_for_function("document.getElementById('command-center').dataset.selected === '2'")
    # Another measure recolours the grids and the legend follows.
    page.select_option("#cc-measure", "tasks_open")
    assert page.locator("#cc-legend-title").inner_text() == zh("Open tasks")

    # One instruction to both grids: it is listed, chosen, and the map colours its grids by their tasks.
    page.fill("#cc-instruction-text", "全员核酸动员")
    page.click("#cc-instruction-send")
    page.locator("#cc-instruction-list li[data-instruction-id]").wait_for()
    page.wait_for_function("document.getElementById('command-center').dataset.instruction !== ''")
    assert page.locator("path.cc-grid[data-task-state=new]").count() == 2
    assert page.locator("#command-center").get_attribute("data-selected") == "0"
    tasks = {t.org_code: t for t in Task.objects.filter(type=TaskType.INSTRUCTION)}
    assert set(tasks) == {jurisdiction.grid_a.code, jurisdiction.grid_b.code}
    # Grid A's worker does it; the map shows it done from the event stream, without a reload.
    grid_services.task_act(
        actor=users["grid_worker"],
        task=tasks[jurisdiction.grid_a.code],
        action="done",
        result={"note": "已完成"},
    )
    page.locator(
        f"path.cc-grid[data-grid-code='{jurisdiction.grid_a.code}'][data-task-state=done]"
    ).wait_for()
    page.locator("#cc-instruction-list [data-done='1'][data-total='2']").wait_for()
    assert errors == []


@pytest.mark.browser
def test_vaccination_sites_and_todays_doses_on_the_map(transactional_db, jurisdiction, users, page):
    from epigrid.vaccination.services.doses import dose_record
    from epigrid.vaccination.tests import factories

    vaccine = factories.vaccine()
    batch = factories.batch(vaccine)
    site = factories.site(jurisdiction.grid_a, vaccine, name="A接种点")

    def dose() -> None:
        dose_record(
            actor=users["vaccinator"],
            person=PersonFactory(grid=jurisdiction.grid_a),
            vaccine=vaccine,
            batch=batch,
            site=site,
            given_at=timezone.now() - timezone.timedelta(seconds=5),
        )

    dose()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    sign_in(page, "commander")
    page.goto(URL)
    page.locator("#cc-map[data-loaded=true]").wait_for()
    counter = page.locator('#cc-counters tr[data-counter="vaccination_doses"] .cc-today')
    assert counter.get_attribute("data-value") == "1"
    # The layer can be switched on now; its sites come from the map API and are drawn without error.
    box = page.locator("#cc-controls input[name=layer][value=vaccination_sites]")
    assert box.is_enabled()
    with page.expect_response(
        lambda r: "/api/v1/command/map" in r.url and "vaccination_sites" in r.url
    ) as info:
        box.check()
    assert [s["name"] for s in info.value.json()["vaccination_sites"]] == ["A接种点"]
    # A dose recorded meanwhile reaches the counter through the event stream, without a reload.
    dose()
    page.wait_for_function(
        """document.querySelector('#cc-counters tr[data-counter="vaccination_doses"] .cc-today')"""
        """.dataset.value === '2'""",
        timeout=20_000,
    )
    assert errors == []
