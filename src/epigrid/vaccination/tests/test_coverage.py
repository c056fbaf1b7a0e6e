"""Coverage and overdue lists: the numbers per unit and age band for a small known population, scope (a grid
worker sees their grid), the grace period and open bookings on the overdue list, one-click grid tasks (one
per person, to their grid, none on a repeat, 403 without dispatch rights), the Excel files (masked data only),
the person page and the coverage API."""

from __future__ import annotations

import datetime as dt
import io
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from epigrid.core.tests.factories import UserFactory
from epigrid.grids.models import Task, TaskType
from epigrid.vaccination import selectors
from epigrid.vaccination.services import bookings
from epigrid.vaccination.services.doses import ImportedDose, doses_import
from epigrid.vaccination.tests import factories

pytestmark = pytest.mark.django_db


def born(years: int):
    """A birth date that makes a person ``years`` old today (and for some months yet)."""
    today = timezone.localdate()
    return today.replace(year=today.year - years) - dt.timedelta(days=30)


def doses(person, vaccine, *days_ago: int) -> None:
    """Doses given ``days_ago`` (imported: a dose record from elsewhere may lie far back)."""
    now = timezone.now()
    items = [ImportedDose(vaccine=vaccine, given_at=now - dt.timedelta(days=d)) for d in days_ago]
    outcomes = doses_import(actor=None, person=person, items=items)
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes


@pytest.fixture
def town(jurisdiction, users):
    """Grid A: a child with the full series, six people of 60-69 (one with series and booster, four with one
    dose given 40, 35, 34 and 40 days ago — the last one booked for the next — and one with none), and the
    fixture's resident (18-59, no dose). Grid B: one person of 60-69 with one dose 40 days ago.

    The vaccine: two doses 21 days apart, one booster after 180 days; overdue after a grace of 14 days, so
    a first dose 35 or more days ago is overdue, one 34 days ago not yet."""
    vaccine = factories.vaccine()
    a, b = jurisdiction.grid_a, jurisdiction.grid_b
    people = SimpleNamespace(
        child=factories.person_born(a, born(10)),
        boosted=factories.person_born(a, born(65)),
        overdue=factories.person_born(a, born(65)),
        edge=factories.person_born(a, born(66)),
        recent=factories.person_born(a, born(67)),
        booked=factories.person_born(a, born(68)),
        none=factories.person_born(a, born(65)),
        overdue_b=factories.person_born(b, born(64)),
    )
    doses(people.child, vaccine, 200, 170)
    doses(people.boosted, vaccine, 400, 370, 180)
    doses(people.overdue, vaccine, 40)
    doses(people.edge, vaccine, 35)
    doses(people.recent, vaccine, 34)
    doses(people.booked, vaccine, 40)
    doses(people.overdue_b, vaccine, 40)
    site = factories.site(a, vaccine)
    bookings.booking_create(
        actor=None, person=people.booked, slot=factories.future_slot(site), vaccine=vaccine
    )
    return SimpleNamespace(vaccine=vaccine, site=site, people=people, disease=vaccine.disease)


def rows_of(html: str) -> dict[tuple[str, str, str], tuple[int, int, int, int]]:
    """(kind, unit, band) → (population, first, full, booster) from the coverage table."""
    found = re.findall(
        r'data-kind="(\w+)" data-unit="(\d*)" data-band="([^"]*)"\s+data-population="(\d+)" '
        r'data-first="(\d+)" data-full="(\d+)" data-booster="(\d+)"',
        html,
    )
    return {(k, u, b): (int(p), int(f), int(s), int(x)) for k, u, b, p, f, s, x in found}


def sheet_rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True))


# --- coverage -------------------------------------------------------------------------------------------------


def test_coverage_by_grid_and_age_band(town, jurisdiction, users):
    rows = {
        (r.unit_code, r.band): (r.population, r.first_dose, r.full_series, r.booster)
        for r in selectors.coverage(actor=users["commander"], disease_id=town.disease.pk)
    }
    a, b = jurisdiction.grid_a.code, jurisdiction.grid_b.code
    assert rows[(a, "60-69")] == (6, 5, 1, 1)
    assert rows[(a, "3-11")] == (1, 1, 1, 0)
    assert rows[(a, "18-59")] == (1, 0, 0, 0)  # the fixture's resident
    assert rows[(b, "60-69")] == (1, 1, 0, 0)
    assert set(rows) == {(a, "60-69"), (a, "3-11"), (a, "18-59"), (b, "60-69")}


def test_coverage_page_shows_bands_unit_totals_and_the_overall_total(town, jurisdiction, users, login_client):
    html = login_client(users["commander"]).get(reverse("vaccination:coverage")).content.decode()
    rows = rows_of(html)
    a, b = jurisdiction.grid_a.code, jurisdiction.grid_b.code
    assert rows[("band", a, "60-69")] == (6, 5, 1, 1)
    assert rows[("unit", a, "")] == (8, 6, 2, 1)
    assert rows[("unit", b, "")] == (1, 1, 0, 0)
    assert rows[("total", "", "")] == (9, 7, 2, 1)
    assert 'data-disease="covid19"' in html  # the default_disease general rule
    assert "83.3" in html  # 5 of 6 with a first dose in grid A, 60-69


def test_coverage_per_community_and_within_a_unit(town, jurisdiction, users, login_client):
    client = login_client(users["commander"])
    html = client.get(reverse("vaccination:coverage"), {"level": "community"}).content.decode()
    rows = rows_of(html)
    assert rows[("unit", jurisdiction.community_a.code, "")] == (8, 6, 2, 1)
    assert rows[("unit", jurisdiction.community_b.code, "")] == (1, 1, 0, 0)
    html = client.get(
        reverse("vaccination:coverage"), {"level": "grid", "within": jurisdiction.street_b.code}
    ).content.decode()
    assert set(rows_of(html)) == {
        ("band", jurisdiction.grid_b.code, "60-69"),
        ("unit", jurisdiction.grid_b.code, ""),
        ("total", "", ""),
    }


def test_a_grid_worker_sees_only_their_grid(town, jurisdiction, users, login_client):
    client = login_client(users["grid_worker"])
    rows = rows_of(client.get(reverse("vaccination:coverage")).content.decode())
    assert {unit for _kind, unit, _band in rows} == {jurisdiction.grid_a.code, ""}
    assert rows[("total", "", "")] == (8, 6, 2, 1)
    # Another grid is outside their area: 404, as if it did not exist.
    response = client.get(reverse("vaccination:coverage"), {"within": jurisdiction.grid_b.code})
    assert response.status_code == 404


def test_pages_need_vaccination_view(town, users, login_client):
    for role, status in (
        ("sampler", 403),
        ("resident", 403),
        ("vaccinator", 200),
        ("community_officer", 200),
    ):
        for name in ("coverage", "overdue", "coverage_export", "overdue_export"):
            response = login_client(users[role]).get(reverse(f"vaccination:{name}"))
            assert response.status_code == status, (role, name)


def test_coverage_export_opens_in_excel_with_the_numbers(town, jurisdiction, users, login_client):
    response = login_client(users["commander"]).get(reverse("vaccination:coverage_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "coverage-covid19-" in response["Content-Disposition"]
    rows = sheet_rows(response.content)
    assert len(rows[0]) == 10 and rows[0][0]  # the header
    band = next(r for r in rows if r[0] == jurisdiction.grid_a.code and r[2] == "60-69")
    sixth = pytest.approx(1 / 6, abs=1e-4)
    assert band[3:] == (6, 5, pytest.approx(5 / 6, abs=1e-4), 1, sixth, 1, sixth)
    total = next(r for r in rows if len(r) > 3 and r[0] is None and r[3] == 9)  # the overall total
    assert (total[4], total[6], total[8]) == (7, 2, 1)


# --- overdue --------------------------------------------------------------------------------------------------


def overdue_people(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-testid="overdue-row" data-person="(\d+)"', html)}


def test_overdue_respects_the_grace_period_and_open_bookings(town, users):
    listed = {s.person_id for s in selectors.overdue(actor=users["commander"], disease_id=town.disease.pk)}
    p = town.people
    # Due 19 and 14 days ago (grace 14): listed. Due 13 days ago: not yet. Booked: not listed. Series and
    # booster done, or the booster not yet due: not listed.
    assert listed == {p.overdue.pk, p.edge.pk, p.overdue_b.pk}
    assert selectors.overdue_grace_days() == 14


def test_overdue_page_is_scoped_masked_and_offers_tasks_to_dispatchers(town, users, login_client):
    p = town.people
    html = login_client(users["commander"]).get(reverse("vaccination:overdue")).content.decode()
    assert overdue_people(html) == {p.overdue.pk, p.edge.pk, p.overdue_b.pk}
    assert p.overdue.name_masked in html and p.overdue.name not in html
    assert p.overdue.id_number_masked in html and p.overdue.id_number not in html
    assert 'data-testid="overdue-tasks"' in html and 'data-count="3"' in html

    html = login_client(users["grid_worker"]).get(reverse("vaccination:overdue")).content.decode()
    assert overdue_people(html) == {p.overdue.pk, p.edge.pk}
    assert 'data-testid="overdue-tasks"' not in html  # no dispatch rights: no button


def test_one_click_makes_one_task_per_person_in_their_grid_and_a_repeat_makes_none(
    town, jurisdiction, users, login_client
):
    client = login_client(users["commander"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages below in their source language
    url = reverse("vaccination:overdue_tasks")
    response = client.post(url, {"disease": "covid19"}, follow=True)
    assert response.status_code == 200
    tasks = Task.objects.filter(type=TaskType.VACCINATION_FOLLOWUP)
    p = town.people
    assert {(t.subject_person_id, t.grid_id) for t in tasks} == {
        (p.overdue.pk, jurisdiction.grid_a.pk),
        (p.edge.pk, jurisdiction.grid_a.pk),
        (p.overdue_b.pk, jurisdiction.grid_b.pk),
    }
    assert [str(m) for m in response.context["messages"]] == ["3 new grid tasks for the people on this list."]

    response = client.post(url, {"disease": "covid19"}, follow=True)
    assert tasks.count() == 3
    assert [str(m) for m in response.context["messages"]] == [
        "No new tasks: everybody on this list has a follow-up task already."
    ]


def test_tasks_follow_the_chosen_unit_and_the_actors_area(town, jurisdiction, users, login_client):
    url = reverse("vaccination:overdue_tasks")
    login_client(users["commander"]).post(url, {"disease": "covid19", "within": jurisdiction.grid_b.code})
    tasks = Task.objects.filter(type=TaskType.VACCINATION_FOLLOWUP)
    assert [t.subject_person_id for t in tasks] == [town.people.overdue_b.pk]
    # A grid leader (grid.manage) makes tasks for their own grid's list only.
    login_client(users["grid_leader"]).post(url, {"disease": "covid19"})
    assert {t.subject_person_id for t in tasks.all()} == {
        town.people.overdue_b.pk,
        town.people.overdue.pk,
        town.people.edge.pk,
    }


def test_a_grid_worker_without_dispatch_rights_gets_403(town, users, login_client):
    response = login_client(users["grid_worker"]).post(
        reverse("vaccination:overdue_tasks"), {"disease": "covid19"}
    )
    assert response.status_code == 403
    assert not Task.objects.filter(type=TaskType.VACCINATION_FOLLOWUP).exists()
    assert login_client(users["commander"]).get(reverse("vaccination:overdue_tasks")).status_code == 405


def test_overdue_export_holds_masked_names_and_id_numbers_only(town, users, login_client):
    response = login_client(users["commander"]).get(reverse("vaccination:overdue_export"))
    assert response.status_code == 200
    rows = sheet_rows(response.content)
    header, body = rows[0], rows[1:]
    assert len(body) == 3 and len(header) == 9
    cells = [str(c) for row in rows for c in row if c is not None]
    for person in (town.people.overdue, town.people.edge, town.people.overdue_b):
        assert person.name_masked in cells and person.id_number_masked in cells
        assert not any(person.name in c or person.id_number in c or person.phone in c for c in cells)
    first = next(r for r in body if r[0] == town.people.overdue.name_masked)
    assert first[4] == 1 and first[8] == 19  # one dose, due 19 days ago

    worker = sheet_rows(login_client(users["grid_worker"]).get(reverse("vaccination:overdue_export")).content)
    assert len(worker) == 1 + 2  # their grid's two


# --- the person page and the API --------------------------------------------------------------------------------


def test_person_page_scoped_masked_and_linking_to_fhir(town, jurisdiction, users, login_client):
    p = town.people.boosted
    response = login_client(users["grid_worker"]).get(reverse("vaccination:person", args=[p.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert p.name_masked in html and p.name not in html and p.id_number not in html
    assert html.count('data-testid="dose"') == 3
    assert f"/api/v1/vaccination/persons/{p.pk}/immunizations" in html
    assert 'data-status="booked"' not in html
    booked = login_client(users["grid_worker"]).get(
        reverse("vaccination:person", args=[town.people.booked.pk])
    )
    assert 'data-status="booked"' in booked.content.decode()
    other = reverse("vaccination:person", args=[town.people.overdue_b.pk])
    assert login_client(users["grid_worker"]).get(other).status_code == 404
    assert login_client(users["resident"]).get(other).status_code == 403


def test_coverage_api(town, jurisdiction, users, api_client):
    url = "/api/v1/vaccination/coverage"
    body = api_client(users["commander"]).get(url, {"level": "grid"}).json()
    assert body["disease"] == "covid19" and body["level"] == "grid"
    band = next(
        r for r in body["rows"] if r["unit_code"] == jurisdiction.grid_a.code and r["band"] == "60-69"
    )
    assert (band["population"], band["first_dose"], band["full_series"], band["booster"]) == (6, 5, 1, 1)
    assert band["first_dose_pct"] == 83.3
    assert body["total"]["population"] == 9
    units = {u["unit_code"]: u["population"] for u in body["units"]}
    assert units == {jurisdiction.grid_a.code: 8, jurisdiction.grid_b.code: 1}

    worker = api_client(users["grid_worker"])
    assert worker.get(url).json()["total"]["population"] == 8
    assert worker.get(url, {"within": jurisdiction.grid_b.code}).status_code == 404
    assert api_client(users["sampler"]).get(url).status_code == 403
    assert api_client(users["commander"]).get(url, {"level": "planet"}).status_code == 400
    assert api_client(None).get(url).status_code == 401
    officer_b = UserFactory(role="community_officer", org_unit=jurisdiction.community_b)
    assert api_client(officer_b).get(url).json()["total"]["population"] == 1
