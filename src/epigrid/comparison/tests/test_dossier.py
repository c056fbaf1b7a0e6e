"""The one-person dossier (一人一档): every archive's section, masked, scoped (404 out of scope), denied
sections said so, permissions, and an audit entry for every opening."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from epigrid.comparison.services import archive
from epigrid.core import services as core_services
from epigrid.core.models import AuditEntry
from epigrid.core.roles import Perm, Role
from epigrid.core.testing import may, shows
from epigrid.core.tests.factories import PersonFactory, UserFactory
from epigrid.grids import services as grid_services
from epigrid.grids.models import TaskType
from epigrid.healthcode import services as healthcode_services

SECTIONS = (
    "identity",
    "household",
    "grid",
    "checkins",
    "tests",
    "vaccinations",
    "arrivals",
    "cases",
    "quarantine",
    "healthcode",
    "tasks",
)
NOT_AVAILABLE = "Not available to your role."


def _sample(person) -> None:
    from epigrid.testing import services as testing_services

    sampler = UserFactory(role=Role.SAMPLER, org_unit=person.grid)
    tube = testing_services.tube_register(actor=sampler, barcode=f"T{uuid.uuid4().hex[:10]}", pool_size=1)
    testing_services.specimen_add(actor=sampler, tube=tube, person=person, client_id=uuid.uuid4())


def _dose(person) -> None:
    from epigrid.vaccination.services import doses
    from epigrid.vaccination.tests import factories

    vaccine = factories.vaccine()
    doses.dose_record(
        actor=None,
        person=person,
        vaccine=vaccine,
        batch=factories.batch(vaccine, lot="LOT-DOSSIER"),
        site=factories.site(person.grid, vaccine, name="幸福社区接种点"),
        given_at=timezone.now() - dt.timedelta(days=40),
    )


def _contact(person) -> None:
    """``person`` becomes a close contact of a case: both stayed at a restaurant two days ago."""
    from epigrid.investigation import services as case_services
    from epigrid.investigation.tests.factories import local, old_venue, stay

    venue = old_venue(person.grid, name="海味餐厅")
    source = PersonFactory(grid=person.grid)
    stay(source, venue, local(-2, 12), 60)
    stay(person, venue, local(-2, 12), 60)
    case_services.case_create(actor=None, person=source, first_positive_at=local(-1, 9))


@pytest.fixture
def subject(jurisdiction, users):
    """A resident of grid A with something in every archive, and a household member."""
    from epigrid.quarantine import services as quarantine_services

    household = core_services.household_create(actor=None, address="幸福路1号", grid=jurisdiction.grid_a)
    person = PersonFactory(grid=jurisdiction.grid_a, household_id=household.pk, name="欧阳娜娜")
    PersonFactory(grid=jurisdiction.grid_a, household_id=household.pk, name="欧阳锋")
    _contact(person)  # a check-in and a contact record
    _sample(person)
    _dose(person)
    healthcode_services.risk_area_designate(
        actor=users["epidemiologist"],
        data=healthcode_services.RiskAreaInput(
            name="上海市", level="high", kind="region", region_code="310000",
            effective_from=timezone.now() - dt.timedelta(days=3),
        ),
    )  # fmt: skip
    archive.arrival_record(
        actor=None,
        person=person,
        data=archive.ArrivalInput(
            origin="上海市黄浦区",
            origin_region_code="310101",
            arrived_at=timezone.now() - dt.timedelta(hours=5),
        ),
    )  # the health code turns red: a colour change
    quarantine_services.placement_create(actor=None, person=person, tier="secondary")
    grid_services.task_create(
        actor=None,
        spec=grid_services.TaskSpec(
            TaskType.SCREEN_ARRIVAL, "摸排来返人员", f"t:{uuid.uuid4()}", person_id=person.pk
        ),
    )
    return person


def _open(client, person):
    return client.get(f"/comparison/dossier/{person.pk}/")


def _section(html: str, key: str) -> str:
    match = re.search(rf'<section id="{key}".*?</section>', html, re.S)
    assert match, key
    return match.group(0)


def test_every_archive_has_its_section(login_client, users, subject):
    response = _open(login_client(users["district_admin"]), subject)
    assert response.status_code == 200
    html = response.content.decode()
    for key in SECTIONS:
        assert not shows(_section(html, key), NOT_AVAILABLE), key
    assert "幸福路1号" in _section(html, "household")
    assert 'data-testid="household-member"' in _section(html, "household")
    assert "A网格" in _section(html, "grid")
    assert "海味餐厅" in _section(html, "checkins") and 'data-testid="checkin-row"' in html
    assert 'data-testid="test-row" data-result="pending"' in _section(html, "tests")
    assert "LOT-DOSSIER" in _section(html, "vaccinations")
    arrivals = _section(html, "arrivals")
    assert 'data-testid="dossier-arrival" data-level="high"' in arrivals and "上海市黄浦区" in arrivals
    assert 'data-testid="arrival-fact"' in arrivals
    assert 'data-testid="contact-row"' in _section(html, "cases")
    assert 'data-testid="placement-row"' in _section(html, "quarantine")
    codes = _section(html, "healthcode")
    assert 'data-colour="red"' in codes and 'data-testid="colour-change"' in codes
    tasks = _section(html, "tasks")
    assert "摸排来返人员" in tasks and 'data-type="screen_arrival"' in tasks


def test_personal_data_is_masked(login_client, users, subject):
    html = _open(login_client(users["district_admin"]), subject).content.decode()
    assert subject.name not in html and subject.name_masked in html  # 欧**娜
    assert subject.id_number not in html and subject.id_number_masked in html
    assert subject.phone not in html and subject.phone_masked in html
    assert "欧阳锋" not in html and "欧*锋" in html
    # The full values only through the core reveal flow, which needs the permission and is audited.
    assert 'id="reveal-button"' in html and f'hx-post="/people/{subject.pk}/reveal/"' in html
    community = _open(login_client(users["community_officer"]), subject).content.decode()
    assert 'id="reveal-button"' in community  # community officers may reveal
    commander = _open(login_client(users["commander"]), subject).content.decode()
    assert 'id="reveal-button"' not in commander


def test_reveal_from_the_dossier_is_the_audited_core_flow(login_client, users, subject):
    client = login_client(users["district_admin"])
    html = _open(client, subject).content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', _section(html, "identity")).group(1)
    response = client.post(action, {"fields": ["id_number", "phone"]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert subject.id_number in response.content.decode()
    entry = AuditEntry.objects.get(action="person.reveal", object_id=str(subject.pk))
    assert entry.actor_username == "district_admin"


def test_every_opening_is_audited(login_client, users, subject):
    client = login_client(users["epidemiologist"])
    assert _open(client, subject).status_code == 200
    assert _open(client, subject).status_code == 200
    entries = AuditEntry.objects.filter(action="dossier.view", object_id=str(subject.pk)).order_by("seq")
    assert entries.count() == 2
    entry = entries.first()
    assert entry.actor_username == "epidemiologist"
    assert entry.object_type == "core.person" and entry.org_code == subject.org_code
    assert "tasks" not in entry.detail["sections"] and "cases" in entry.detail["sections"]


def test_out_of_scope_is_404_and_not_audited(login_client, users, subject, person_b):
    client = login_client(users["community_officer"])  # community A
    assert _open(client, subject).status_code == 200
    assert _open(client, person_b).status_code == 404  # grid B
    assert client.get("/comparison/dossier/999999/").status_code == 404
    assert not AuditEntry.objects.filter(action="dossier.view", object_id=str(person_b.pk)).exists()


def test_sections_the_role_may_not_see_say_so(login_client, users, subject):
    # The epidemiologist sees cases but not grid tasks; the community officer the reverse.
    epi = _open(login_client(users["epidemiologist"]), subject).content.decode()
    assert shows(_section(epi, "tasks"), NOT_AVAILABLE) and "摸排来返人员" not in epi
    assert not shows(_section(epi, "cases"), NOT_AVAILABLE)
    community = _open(login_client(users["community_officer"]), subject).content.decode()
    assert shows(_section(community, "cases"), NOT_AVAILABLE) and 'data-testid="contact-row"' not in community
    assert "摸排来返人员" in _section(community, "tasks")


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_only_roles_with_the_permission_open_it(login_client, users, subject, role):
    status = _open(login_client(users[role]), subject).status_code
    if may(role, Perm.DOSSIER_VIEW):
        assert status == 200
    else:
        assert status == 403
        assert not AuditEntry.objects.filter(action="dossier.view").exists()


def test_anonymous_is_sent_to_log_in(client, subject):
    response = _open(client, subject)
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_person_page_links_to_the_dossier(login_client, users, subject):
    admin = login_client(users["district_admin"]).get(f"/people/{subject.pk}/").content.decode()
    assert f'href="/comparison/dossier/{subject.pk}/"' in admin
    worker = login_client(users["grid_worker"]).get(f"/people/{subject.pk}/").content.decode()
    assert "/comparison/dossier/" not in worker  # grid workers have no dossier permission
