""" "My data" through HTTP: the ZIP holds the person's own records from every area (their own ID number and
phone in full), nobody else's, a README in Chinese and English; each download is audited as a self-export
and limited to five an hour."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from epigrid.comparison.services.archive import ArrivalInput, arrival_record
from epigrid.core.models import AuditEntry
from epigrid.core.notices import notice_send
from epigrid.core.testing import shows
from epigrid.healthcode import services as healthcode_services
from epigrid.places.tests.factories import VenueFactory
from epigrid.portal.tests import factories
from epigrid.quarantine import services as quarantine_services
from epigrid.quarantine.tests.factories import hotel
from epigrid.vaccination.services import bookings, doses
from epigrid.vaccination.tests import factories as vaccination_factories
from epigrid.vaccination.tests.test_resident_pages import png

pytestmark = pytest.mark.django_db

DOWNLOAD = "/portal/data/download/"


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def world(users, jurisdiction, person_a, person_b):
    """person_a (the resident) and person_b with records in every area, and a family in person_a's grid."""
    home = factories.family(jurisdiction.grid_a, number=factories.phone(), children=1)

    for person, grid in ((person_a, jurisdiction.grid_a), (person_b, jurisdiction.grid_b)):
        factories.checked_in(person, VenueFactory(grid=grid, name=f"{person.name}常去的店"))
        healthcode_services.facts_update(
            actor=None, person_ids=[person.pk], changes={"fever_at": timezone.now()}
        )
        factories.tested(
            sampler=users["sampler"], lab=users["lab_technician"], people=[person], result="negative"
        )
        arrival_record(
            actor=None,
            person=person,
            data=ArrivalInput(origin="上海市浦东新区", arrived_at=timezone.now() - dt.timedelta(hours=5)),
        )
    vaccine = vaccination_factories.vaccine()
    site = vaccination_factories.site(jurisdiction.grid_a, vaccine)
    bookings.booking_create(
        actor=users["resident"],
        person=person_a,
        slot=vaccination_factories.future_slot(site),
        vaccine=vaccine,
        client_id=uuid.uuid4(),
    )
    report = doses.self_report_submit(
        actor=users["resident"],
        person=person_a,
        vaccine=vaccine,
        given_on=timezone.localdate() - dt.timedelta(days=40),
        place="北京市朝阳区社区卫生服务中心",
        photo=png(),
    )
    quarantine_services.placement_create(actor=None, person=person_a, site=hotel(jurisdiction.grid_a))
    notice_send(actor=None, users=[users["resident"]], kind="test", title="给甲的消息")
    from epigrid.publicity.tests import factories as publicity_factories

    publicity_factories.ticket(users["resident"], question="甲的问题：采样点几点开门？")
    publicity_factories.ticket(publicity_factories.resident_of(person_b), question="乙的问题：要带身份证吗？")
    factories.correction(person_a, field="address", value="幸福路8号")
    factories.correction(person_b, field="address", value="别人的新地址")
    return {"household": home, "report": report}


def test_the_zip_holds_my_records_from_every_area(users, login_client, person_a, world):
    response = login_client(users["resident"]).post(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="epigrid-my-data-')
    files = unzip(response.content)
    data = {name: json.loads(body) for name, body in files.items() if name.endswith(".json")}
    readme = files["README.txt"].decode()
    assert "我的数据" in readme and "My data" in readme and "28" in readme
    person = data["person.json"]
    assert person["id_number"] == person_a.id_number and person["phone"] == person_a.phone  # theirs, in full
    assert person["name"] == person_a.name and person["account"]["username"] == "resident"
    assert [c["venue_name"] for c in data["checkins.json"]] == [f"{person_a.name}常去的店"]
    assert data["health_code.json"]["current"][0]["colour"] in {"yellow", "red"}
    assert data["health_code.json"]["changes"]
    assert [t["meaning_for_you"] for t in data["tests.json"]["tests"]] == ["negative"]
    vaccination = data["vaccination.json"]
    assert len(vaccination["bookings"]) == 1 and vaccination["bookings"][0]["status"] == "booked"
    assert [r["place"] for r in vaccination["self_reports"]] == ["北京市朝阳区社区卫生服务中心"]
    assert files[f"vaccination/self_report_{world['report'].pk}.jpg"][:2] == b"\xff\xd8"
    assert len(data["quarantine.json"]["placements"]) == 1
    assert data["quarantine.json"]["scheduled_tests"]
    assert [a["origin"] for a in data["arrivals.json"]] == ["上海市浦东新区"]
    assert "给甲的消息" in [n["title"] for n in data["notices.json"]]
    assert [c["requested_value"] for c in data["corrections.json"]] == ["幸福路8号"]
    assert [t["question"] for t in data["hotline_tickets.json"]] == ["甲的问题：采样点几点开门？"]
    for name in ("household.json", "visits.json", "contacts.json"):
        assert name in data


def test_the_zip_holds_nobody_elses_data(users, login_client, person_a, person_b, world):
    files = unzip(login_client(users["resident"]).post(DOWNLOAD).content)
    everything = b"".join(files.values()).decode("utf-8", errors="ignore")
    for other in (person_b, *world["household"]["children"], world["household"]["parent"]):
        for value in (other.name, other.id_number, other.phone, other.id_number_masked):
            assert value not in everything, value
    assert "乙的问题" not in everything
    assert "别人的新地址" not in everything and f"{person_b.name}常去的店" not in everything


def test_a_child_account_exports_its_own_household_with_names_masked(login_client, world):
    from epigrid.core.services import resident_account_ensure

    family = world["household"]
    child = family["children"][0]
    files = unzip(login_client(resident_account_ensure(person=child)).post(DOWNLOAD).content)
    household = json.loads(files["household.json"])
    assert household["address"] == family["household"].address
    names = {m["name"] for m in household["members"]}
    assert names == {p.name_masked for p in (family["parent"], child, family["partner"])}
    assert json.loads(files["person.json"])["id_number"] == child.id_number


def test_each_download_is_audited_and_five_an_hour_are_allowed(users, login_client, person_a):
    client = login_client(users["resident"])
    for _ in range(5):
        assert client.post(DOWNLOAD).status_code == 200
    entries = AuditEntry.objects.filter(action="person.self_export", actor=users["resident"])
    assert entries.count() == 5
    entry = entries.first()
    assert entry.object_id == str(person_a.pk) and entry.revealed_fields == ["id_number", "phone"]
    refused = client.post(DOWNLOAD)
    assert refused.status_code == 429
    assert 'data-testid="download-error"' in refused.content.decode()
    assert entries.count() == 5


def test_download_is_a_post_for_residents_only(users, login_client, client):
    assert login_client(users["resident"]).get(DOWNLOAD).status_code == 405
    assert login_client(users["district_admin"]).post(DOWNLOAD).status_code == 404
    assert client.post(DOWNLOAD).status_code == 302


def test_the_page_offers_the_download_and_the_correction_form(users, login_client):
    html = login_client(users["resident"]).get(reverse("portal:data")).content.decode()
    assert f'action="{DOWNLOAD}"' in html and 'name="requested_value"' in html
    assert shows(html, "Download my data (ZIP)")
