"""Investigation pages through the Django test client: access per role and scope, the case list and new case,
the case detail with its forms (each calls its service and shows its refusal), exports masked, the chains page."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from openpyxl import load_workbook

from epigrid.core.models import Event
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.investigation import services
from epigrid.investigation.models import Case, CaseLink, Contact, ContactStatus, TrajectoryEntry
from epigrid.investigation.tests.factories import local, old_venue, stay

pytestmark = pytest.mark.django_db


class _FakeUser:
    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def may_view(role: str) -> bool:
    return is_staff_role(role) and has_perm(_FakeUser(role), Perm.CASE_VIEW)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def shows(html: str, message: str, **params: object) -> bool:
    """The page shows ``message`` in English or through the zh-Hans catalogue (the requests' default)."""
    chinese = zh(message)
    if params:
        message, chinese = message % params, chinese % params
    return escape(message) in html or escape(chinese) in html


@pytest.fixture
def epi(users):
    return users["epidemiologist"]


@pytest.fixture
def scene(jurisdiction, epi):
    """A confirmed case in grid A with two check-ins; one close contact at the restaurant, one secondary."""
    venue = old_venue(jurisdiction.grid_a, name="长江路小馆")
    shop = old_venue(jurisdiction.grid_a, name="黄河路超市")
    case_person = PersonFactory(grid=jurisdiction.grid_a)
    close = PersonFactory(grid=jurisdiction.grid_a)
    secondary = PersonFactory(grid=jurisdiction.grid_b)
    stay(case_person, venue, local(-2, 12), 60)
    stay(case_person, shop, local(-2, 15), 30)
    stay(close, venue, local(-2, 12, 10), 40)
    stay(close, shop, local(-1, 8), 60)
    stay(secondary, shop, local(-1, 8, 10), 40)
    case = services.case_create(
        actor=epi, person=case_person, classification="confirmed", first_positive_at=local(-1, 9)
    )
    return type(
        "Scene", (), {"venue": venue, "shop": shop, "case": case, "close": close, "secondary": secondary}
    )


def detail(case) -> str:
    return reverse("investigation:case_detail", args=[case.pk])


def json_data(html: str, element_id: str):
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, f"no {element_id} on the page"
    return json.loads(found.group(1))


# --- access ---------------------------------------------------------------------------------------


def test_pages_per_role(scene, users, login_client, client):
    case = scene.case
    urls = [
        reverse("investigation:case_list"),
        reverse("investigation:chains"),
        detail(case),
        reverse("investigation:case_report", args=[case.pk]),
        reverse("investigation:trajectory_csv", args=[case.pk]),
    ]
    for role in Role:
        browser = login_client(users[role.value])
        for url in urls:
            expected = 200 if may_view(role.value) else 403
            assert browser.get(url).status_code == expected, (role.value, url)
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page


def test_cases_outside_the_scope_or_missing_answer_404(scene, jurisdiction, login_client):
    elsewhere = UserFactory(username="epi_b", role=Role.EPIDEMIOLOGIST, org_unit=jurisdiction.street_b)
    browser = login_client(elsewhere)
    case = scene.case
    for name in ("case_detail", "case_report", "trajectory_csv", "trajectory_xlsx"):
        assert browser.get(reverse(f"investigation:{name}", args=[case.pk])).status_code == 404, name
    for name in ("case_edit", "case_trace", "contacts_notify", "contacts_dispatch", "case_merge"):
        assert browser.post(reverse(f"investigation:{name}", args=[case.pk])).status_code == 404, name
    assert f'data-case="{case.pk}"' not in browser.get(reverse("investigation:case_list")).content.decode()
    assert browser.get(reverse("investigation:case_detail", args=[case.pk + 1000])).status_code == 404
    # and a person outside the scope cannot be made a case from there
    response = browser.post(
        reverse("investigation:case_create"), {"person": case.person_id, "classification": "confirmed"}
    )
    assert response.status_code == 404


def test_viewers_see_no_forms_and_may_not_write(scene, users, login_client):
    browser = login_client(users["commander"])
    html = browser.get(detail(scene.case)).content.decode()
    assert 'data-testid="contacts"' in html
    assert reverse("investigation:case_edit", args=[scene.case.pk]) not in html
    assert reverse("investigation:contacts_dispatch", args=[scene.case.pk]) not in html
    assert browser.post(reverse("investigation:case_trace", args=[scene.case.pk])).status_code == 403
    assert 'data-testid="case-create"' not in browser.get(reverse("investigation:case_list")).content.decode()


def test_navigation_shows_the_investigation_pages_to_case_viewers(users, login_client):
    for role in Role:
        html = login_client(users[role.value]).get(reverse("core:home"), follow=True).content.decode()
        for name in ("investigation:case_list", "investigation:chains"):
            assert (f'href="{reverse(name)}"' in html) == may_view(role.value), (role.value, name)


# --- case list and new case -----------------------------------------------------------------------


def test_case_list_counts_filters_and_masks(scene, epi, login_client):
    browser = login_client(epi)
    person = scene.case.person
    html = browser.get(reverse("investigation:case_list")).content.decode()
    assert f'data-case="{scene.case.pk}"' in html
    assert person.name_masked in html and person.id_number_masked in html
    assert person.id_number not in html and person.phone not in html
    assert 'data-classification="confirmed"><strong>1</strong>' in html
    for query, present in (
        ({"classification": "asymptomatic"}, False),
        ({"classification": "confirmed"}, True),
        ({"status": "done"}, False),
        ({"q": f"#{scene.case.pk}"}, True),
        ({"q": person.name}, True),
    ):
        found = (
            f'data-case="{scene.case.pk}"'
            in browser.get(reverse("investigation:case_list"), query).content.decode()
        )
        assert found == present, query
    partial = browser.get(
        reverse("investigation:case_list"), {"classification": "asymptomatic"}, HTTP_HX_REQUEST="true"
    )
    assert "<html" not in partial.content.decode()


def test_new_case_from_the_person_picker(jurisdiction, epi, login_client):
    person = PersonFactory(grid=jurisdiction.grid_a)
    browser = login_client(epi)
    picked = browser.get(reverse("investigation:case_list"), {"person_q": person.id_number}).content.decode()
    assert f'name="person" value="{person.pk}"' in picked
    listed = picked[picked.index('data-testid="person-options"') :]
    listed = listed[: listed.index("</ul>")]
    # what was typed is echoed back in the search box; the list itself is masked
    assert (
        person.name_masked in listed and person.id_number_masked in listed and person.id_number not in listed
    )
    options = browser.get(
        reverse("investigation:person_options"), {"person_q": person.phone}
    ).content.decode()
    assert f'value="{person.pk}"' in options and "<html" not in options

    form = {
        "person": person.pk,
        "classification": "asymptomatic",
        "first_positive_at": local(-1, 10).strftime("%Y-%m-%dT%H:%M"),
        "notes": "社区筛查发现",
    }
    response = browser.post(reverse("investigation:case_create"), form)
    case = Case.objects.get(person=person)
    assert response.status_code == 302 and response["Location"] == detail(case)
    assert (case.classification, case.first_positive_at, case.notes) == (
        "asymptomatic",
        local(-1, 10),
        "社区筛查发现",
    )
    assert case.traced_at is not None  # opened and traced by the service

    again = browser.post(reverse("investigation:case_create"), form)
    assert again.status_code == 400
    assert shows(again.content.decode(), "This person already has an open case (#%(id)s).", id=case.pk)
    missing = browser.post(reverse("investigation:case_create"), {"classification": "confirmed"})
    assert missing.status_code == 400
    assert shows(missing.content.decode(), "Choose the person from the search results.")


# --- case detail ----------------------------------------------------------------------------------


def test_detail_shows_facts_trajectory_contacts_evidence_and_chain(scene, epi, login_client):
    case = scene.case
    html = login_client(epi).get(detail(case)).content.decode()
    person = case.person
    assert person.name_masked in html and person.id_number_masked in html and person.phone_masked in html
    for full in (person.id_number, person.phone, scene.close.id_number, scene.close.phone, scene.close.name):
        assert full not in html
    points = json_data(html, "trajectory-points")
    assert [(p["n"], p["place"]) for p in points] == [(1, "长江路小馆"), (2, "黄河路超市")]
    assert json_data(html, "map-config")["tileUrl"] == settings.MAP_TILE_URL
    rows = re.findall(r'data-testid="contact" data-person="(\d+)" data-tier="(\w+)"', html)
    assert rows == [(str(scene.close.pk), "close"), (str(scene.secondary.pk), "secondary")]
    assert scene.close.name_masked in html and "长江路小馆" in html
    assert escape(zh("Same venue, overlapping stay")) in html
    graph = json_data(html, "case-chain-data")
    assert [n["id"] for n in graph["nodes"]] == [str(case.pk)] and graph["nodes"][0]["current"]


def test_editing_the_facts_calls_the_service_and_shows_its_refusal(scene, epi, login_client):
    browser = login_client(epi)
    case = scene.case
    url = reverse("investigation:case_edit", args=[case.pk])
    base = {
        "classification": "confirmed",
        "first_positive_at": local(-1, 9).strftime("%Y-%m-%dT%H:%M"),
        "outcome": "treatment",
        "status": "in_progress",
        "notes": "",
    }
    isolated = local(-1, 18)
    response = browser.post(
        url, {**base, "isolated_at": isolated.strftime("%Y-%m-%dT%H:%M"), "take_over": "on"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.isolated_at, case.window_end, case.investigator) == (isolated, isolated, epi)

    future = browser.post(url, {**base, "onset_date": local(3, 0).date().isoformat()})
    assert future.status_code == 400
    assert shows(future.content.decode(), "The onset date cannot be in the future.")
    case.refresh_from_db()
    assert case.onset_date is None


def test_interview_places_are_added_and_removed_check_ins_stay(scene, epi, login_client):
    browser = login_client(epi)
    case = scene.case
    response = browser.post(
        reverse("investigation:trajectory_add", args=[case.pk]),
        {
            "place": "朋友家（黄河路5号）",
            "start": local(-2, 19).strftime("%Y-%m-%dT%H:%M"),
            "end": local(-2, 21).strftime("%Y-%m-%dT%H:%M"),
            "lat": "37.52",
            "lng": "121.22",
        },
    )
    assert response.status_code == 302
    entry = TrajectoryEntry.objects.get(case=case, source="interview")
    assert (entry.place, entry.start, entry.lat) == ("朋友家（黄河路5号）", local(-2, 19), 37.52)

    backwards = browser.post(
        reverse("investigation:trajectory_add", args=[case.pk]),
        {
            "place": "x",
            "start": local(-2, 21).strftime("%Y-%m-%dT%H:%M"),
            "end": local(-2, 19).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert backwards.status_code == 400
    assert shows(backwards.content.decode(), "The end must be after the start.")

    checkin = TrajectoryEntry.objects.filter(case=case, source="checkin").first()
    refused = browser.post(reverse("investigation:trajectory_remove", args=[case.pk, checkin.pk]))
    assert refused.status_code == 400
    assert shows(refused.content.decode(), "Check-ins cannot be removed from a trajectory.")
    assert (
        browser.post(reverse("investigation:trajectory_remove", args=[case.pk, entry.pk])).status_code == 302
    )
    assert not TrajectoryEntry.objects.filter(pk=entry.pk).exists()


def test_an_interview_place_at_a_venue_finds_new_contacts(scene, epi, login_client, jurisdiction):
    browser = login_client(epi)
    case = scene.case
    cafe = old_venue(jurisdiction.grid_a, name="海滨咖啡")
    guest = PersonFactory(grid=jurisdiction.grid_a)
    stay(guest, cafe, local(-2, 17), 60)
    picker = browser.get(
        reverse("investigation:venue_options", args=[case.pk]), {"venue_q": "海滨"}
    ).content.decode()
    assert f'value="{cafe.pk}"' in picker and f'value="{scene.venue.pk}"' not in picker
    response = browser.post(
        reverse("investigation:trajectory_add", args=[case.pk]),
        {
            "venue": cafe.pk,
            "venue_q": "黄河",  # the page was loaded with another search; the live search offered the cafe
            "start": local(-2, 17).strftime("%Y-%m-%dT%H:%M"),
            "end": local(-2, 18).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    assert Contact.objects.get(case=case, person=guest).venue == cafe
    form = {
        "start": local(-2, 17).strftime("%Y-%m-%dT%H:%M"),
        "end": local(-2, 18).strftime("%Y-%m-%dT%H:%M"),
    }
    unknown = browser.post(reverse("investigation:trajectory_add", args=[case.pk]), {**form, "venue": 999999})
    assert unknown.status_code == 400
    assert shows(unknown.content.decode(), "Choose a venue from the list.")


def test_retrace_notify_and_dispatch(scene, epi, login_client):
    browser = login_client(epi)
    case = scene.case
    Contact.objects.filter(case=case).update(status=ContactStatus.IDENTIFIED, notified_at=None)
    close = Contact.objects.get(case=case, person=scene.close)

    traced = browser.post(reverse("investigation:case_trace", args=[case.pk]), follow=True)
    assert traced.status_code == 200
    assert Contact.objects.filter(case=case).count() == 2  # nobody twice

    notified = browser.post(
        reverse("investigation:contacts_notify", args=[case.pk]), {"contacts": [close.pk]}
    )
    assert notified.status_code == 302
    assert Contact.objects.get(pk=close.pk).status == ContactStatus.NOTIFIED

    neither = browser.post(
        reverse("investigation:contacts_dispatch", args=[case.pk]), {"contacts": [close.pk]}
    )
    assert neither.status_code == 400
    assert shows(neither.content.decode(), "Choose quarantine placement, grid tasks or both.")

    sent = browser.post(
        reverse("investigation:contacts_dispatch", args=[case.pk]),
        {"contacts": [close.pk], "quarantine": "on", "grid_tasks": "on"},
    )
    assert sent.status_code == 302
    assert Contact.objects.get(pk=close.pk).status == ContactStatus.ACTIONED
    requested = Event.objects.get(type="contacts.quarantine_requested")
    assert [p["person_id"] for p in requested.payload["people"]] == [scene.close.pk]
    assert Event.objects.filter(type="contacts.grid_task_requested").count() == 1
    stale = browser.post(reverse("investigation:contacts_notify", args=[case.pk]), {"contacts": [999999]})
    assert stale.status_code == 404


def test_naming_a_source_and_merging_cases(scene, epi, login_client, jurisdiction):
    browser = login_client(epi)
    case = scene.case
    other = services.case_create(
        actor=epi, person=PersonFactory(grid=jurisdiction.grid_a), first_positive_at=local(-3, 9), trace=False
    )
    named = browser.post(
        reverse("investigation:source_name", args=[case.pk]), {"source-other": f"#{other.pk}"}
    )
    assert named.status_code == 302
    link = CaseLink.objects.get(source=other, target=case)
    assert link.kind == "named"
    html = browser.get(detail(case)).content.decode()
    assert reverse("investigation:link_delete", args=[case.pk, link.pk]) in html
    assert len(json_data(html, "case-chain-data")["links"]) == 1

    itself = browser.post(
        reverse("investigation:source_name", args=[case.pk]), {"source-other": str(case.pk)}
    )
    assert itself.status_code == 400
    assert shows(itself.content.decode(), "A case cannot be its own source.")
    unknown = browser.post(reverse("investigation:case_merge", args=[case.pk]), {"merge-other": "99999"})
    assert unknown.status_code == 400
    assert shows(unknown.content.decode(), "No case with this number in your area.")

    assert browser.post(reverse("investigation:link_delete", args=[case.pk, link.pk])).status_code == 302
    assert not CaseLink.objects.filter(pk=link.pk).exists()

    merged = browser.post(reverse("investigation:case_merge", args=[case.pk]), {"merge-other": str(other.pk)})
    assert merged.status_code == 302
    other.refresh_from_db()
    assert other.merged_into_id == case.pk
    again = browser.post(reverse("investigation:case_merge", args=[case.pk]), {"merge-other": str(other.pk)})
    assert again.status_code == 400
    assert shows(again.content.decode(), "One of these cases was already merged.")
    # the merged record says where it went and offers no forms
    gone = browser.get(detail(other)).content.decode()
    assert detail(case) in gone and reverse("investigation:case_edit", args=[other.pk]) not in gone


# --- exports --------------------------------------------------------------------------------------


def test_trajectory_exports_are_masked_and_safe_in_spreadsheets(scene, epi, login_client):
    browser = login_client(epi)
    case = scene.case
    services.trajectory_add(
        actor=epi, case=case, start=local(-2, 19), end=local(-2, 20), place='=HYPERLINK("http://x")'
    )
    person = case.person
    response = browser.get(reverse("investigation:trajectory_csv", args=[case.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="case-{case.pk}-trajectory.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 3
    assert rows[1][1:3] == [person.name_masked, person.id_number_masked]
    assert rows[1][4] == "长江路小馆" and rows[1][6] == local(-2, 12).strftime("%Y-%m-%d %H:%M")
    assert any(r[4] == '\'=HYPERLINK("http://x")' for r in rows)
    for full in (person.name, person.id_number, person.phone):
        assert full not in text

    book = load_workbook(
        io.BytesIO(browser.get(reverse("investigation:trajectory_xlsx", args=[case.pk])).content)
    )
    values = list(book.active.iter_rows(values_only=True))
    assert values[1][1:3] == (person.name_masked, person.id_number_masked)
    cells = [str(v) for row in values for v in row if v is not None]
    assert not any(v.startswith("=") for v in cells)
    assert person.id_number not in cells and person.name not in cells


# --- chains ---------------------------------------------------------------------------------------


def test_chains_page_statistics_graph_and_epicurve(scene, epi, login_client):
    browser = login_client(epi)
    case = scene.case
    onward = services.case_create(
        actor=epi, person=scene.close, first_positive_at=local(0, 0)
    )  # a traced contact
    assert CaseLink.objects.filter(source=case, target=onward).exists()
    html = browser.get(reverse("investigation:chains")).content.decode()
    assert re.search(rf'data-chain="{case.pk}" data-size="2" data-generations="2"', html)
    graph = json_data(html, "all-chains-data")
    assert {n["id"] for n in graph["nodes"]} == {str(case.pk), str(onward.pk)}
    assert graph["links"] == [
        {"source": str(case.pk), "target": str(onward.pk), "kind": zh("Was a traced contact")}
    ]
    curve = json_data(html, "epicurve-data")
    assert len(curve["days"]) == 28 and sum(curve["series"][0]["data"]) + sum(curve["series"][1]["data"]) == 2
    assert 'data-known="1" data-unknown="1"' in html
    chosen = browser.get(reverse("investigation:chains"), {"chain": case.pk}).content.decode()
    assert len(json_data(chosen, "all-chains-data")["nodes"]) == 2
