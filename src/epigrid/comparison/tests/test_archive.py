"""The key-region archive: arrivals from list rows (risk level at arrival, the person's area, repeats stored
once, health-code facts and the grid's screening task through ``arrivals.identified``), staff entry, and the
archive page (scope, filters, statuses, masking, Excel)."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from epigrid.comparison.models import (
    Arrival,
    ArrivalSource,
    ListImport,
    ListRow,
    ListSource,
    RowStatus,
    SourceKind,
)
from epigrid.comparison.services import archive
from epigrid.core import health
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event
from epigrid.core.testing import shows
from epigrid.core.tests.factories import PersonFactory
from epigrid.grids import services as grid_services
from epigrid.grids.models import Task, TaskType
from epigrid.healthcode import services as healthcode_services
from epigrid.healthcode.models import PersonFacts
from epigrid.healthcode.services import RiskAreaInput


def designate(user, code: str, level: str = "high", *, since: dt.timedelta = dt.timedelta(days=3), name=""):
    return healthcode_services.risk_area_designate(
        actor=user,
        data=RiskAreaInput(
            name=name or f"地区{code}",
            level=level,
            kind="region",
            region_code=code,
            effective_from=timezone.now() - since,
        ),
    )


def list_import(org_code: str) -> ListImport:
    source = ListSource.objects.create(name="火车站到达名单", kind=SourceKind.TRANSPORT, org_code=org_code)
    return ListImport.objects.create(
        source=source, org_code=org_code, file_name="arrivals.xlsx", file_sha256="0" * 64, status="running"
    )


def row(upload: ListImport, person, n: int = 2, **overrides) -> ListRow:
    """A linked row of ``upload`` for ``person`` (the import's own steps are the import engineer's)."""
    data = {
        "list_import": upload,
        "row_number": n,
        "org_code": upload.org_code,  # the importer's area: the arrival goes by the person's
        "name": person.name,
        "person": person,
        "status": RowStatus.LINKED,
        "link_method": "exact_id",
        "origin": "上海市黄浦区",
        "origin_region_code": "310101",
        "travel_mode": "G1234",
        "arrived_at": timezone.now() - dt.timedelta(hours=6),
        "address": "幸福路1号",
    }
    data.update(overrides)
    return ListRow.objects.create(**data)


@pytest.fixture
def upload(jurisdiction) -> ListImport:
    return list_import(jurisdiction.district.code)


# --- arrivals from rows ------------------------------------------------------------------------------


def test_risk_level_at_arrival_and_the_persons_area(users, upload, person_a, person_b):
    designate(users["epidemiologist"], "310000", "high")
    designate(users["epidemiologist"], "440300", "medium")
    rows = [
        row(upload, person_a, 2),
        row(upload, person_b, 3, origin="深圳南山", origin_region_code="440305"),
        row(upload, PersonFactory(), 4, origin="北京朝阳", origin_region_code="110105"),
    ]
    assert archive.arrivals_from_rows(actor=users["community_officer"], rows=rows) == 3
    by_person = {a.person_id: a for a in Arrival.objects.all()}
    a = by_person[person_a.pk]
    assert (a.risk_level, a.org_code, a.source, a.list_row_id) == (
        "high",
        person_a.org_code,
        "list",
        rows[0].pk,
    )
    assert a.org_code != upload.org_code  # the person's grid, not the importer's area
    assert a.arrived_on == timezone.localdate(rows[0].arrived_at)
    assert (a.origin, a.origin_region_code, a.travel_mode, a.address) == (
        "上海市黄浦区",
        "310101",
        "G1234",
        "幸福路1号",
    )
    assert by_person[person_b.pk].risk_level == "medium"
    assert by_person[rows[2].person_id].risk_level == ""
    entry = AuditEntry.objects.get(action="arrival.bulk_record")
    assert entry.detail["count"] == 3 and entry.actor_username == "community_officer"


def test_rows_not_linked_or_without_a_time_make_no_arrival(users, upload, person_a):
    rows = [
        row(upload, person_a, 2, status=RowStatus.REVIEW),
        row(upload, person_a, 3, status=RowStatus.REJECTED),
        row(upload, person_a, 4, arrived_at=None),
        row(
            upload, person_a, 5, status=RowStatus.PROVISIONAL, origin_region_code="31"
        ),  # a bad code is dropped
    ]
    assert archive.arrivals_from_rows(actor=None, rows=rows) == 1
    arrival = Arrival.objects.get()
    assert arrival.list_row_id == rows[3].pk and arrival.origin_region_code == ""


def test_the_level_is_the_one_in_force_at_arrival(users, upload, person_a, person_b):
    # Designated a day ago: an arrival three days ago came from no risk area then...
    designate(users["epidemiologist"], "310000", "high", since=dt.timedelta(days=1))
    early = row(upload, person_a, 2, arrived_at=timezone.now() - dt.timedelta(days=3))
    late = row(upload, person_b, 3, arrived_at=timezone.now() - dt.timedelta(hours=2))
    archive.arrivals_from_rows(actor=None, rows=[early, late])
    assert Arrival.objects.get(person=person_a).risk_level == ""
    assert Arrival.objects.get(person=person_b).risk_level == "high"
    # ...but the health code counts it, as it counts travel declarations from a region designated since.
    assert PersonFacts.objects.get(person=person_a).arrival_level == "high"


def test_region_levels_follow_the_areas_history(users):
    area = designate(users["epidemiologist"], "310000", "high", since=dt.timedelta(days=1))
    later = timezone.now() + dt.timedelta(days=30)
    healthcode_services.risk_areas_downgrade_due(now=later)  # high -> medium, recorded at ``later``
    now = timezone.now()
    assert healthcode_services.region_levels(
        [
            ("310101", now),
            ("310101", later + dt.timedelta(seconds=1)),
            ("310101", now - dt.timedelta(days=2)),  # before the designation
            ("320101", now),
            ("310101", None),  # now: the area's current level
        ]
    ) == ["high", "medium", "", "", "medium"]
    healthcode_services.risk_area_end(actor=users["epidemiologist"], area=area, reason="test")
    assert healthcode_services.region_level("310101") == ""
    assert healthcode_services.region_level("310101", at=now) == "high"  # it was in force then


def test_a_repeat_is_stored_once(users, upload, person_a):
    first = row(upload, person_a, 2)
    same_day = row(upload, person_a, 3, arrived_at=first.arrived_at + dt.timedelta(minutes=30))
    assert archive.arrivals_from_rows(actor=None, rows=[first, same_day]) == 1
    assert archive.arrivals_from_rows(actor=None, rows=[first]) == 0  # the same list again
    other = list_import(upload.org_code)
    assert archive.arrivals_from_rows(actor=None, rows=[row(other, person_a, 2)]) == 0  # another list
    next_day = row(upload, person_a, 4, arrived_at=first.arrived_at - dt.timedelta(days=1))
    elsewhere = row(upload, person_a, 5, origin="北京", origin_region_code="110105")
    assert archive.arrivals_from_rows(actor=None, rows=[next_day, elsewhere]) == 2
    assert Arrival.objects.count() == 3
    assert Event.objects.filter(type="arrival.recorded").count() == 3


def test_long_lists_go_in_chunks_in_one_transaction(users, upload, person_a, person_b, monkeypatch):
    monkeypatch.setattr(archive, "ROWS_PER_CHUNK", 2)
    first = row(upload, person_a, 2)
    rows = [
        first,
        row(upload, person_b, 3),
        row(
            upload, person_a, 4, arrived_at=first.arrived_at + dt.timedelta(minutes=5)
        ),  # next chunk: a repeat
        row(upload, person_a, 5, origin="北京", origin_region_code="110105"),
        row(upload, PersonFactory(), 6),
    ]
    assert archive.arrivals_from_rows(actor=None, rows=rows) == 4
    assert Arrival.objects.count() == 4
    assert sum(e.detail["count"] for e in AuditEntry.objects.filter(action="arrival.bulk_record")) == 4


def test_risk_arrivals_set_facts_and_the_grid_screens_them(
    users, upload, person_a, person_b, django_capture_on_commit_callbacks
):
    designate(users["epidemiologist"], "310000", "high")
    designate(users["epidemiologist"], "440300", "medium")
    rows = [
        row(upload, person_a, 2),
        row(upload, person_b, 3, origin="深圳", origin_region_code="440305"),
        row(upload, PersonFactory(), 4, origin="北京", origin_region_code="110105"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        archive.arrivals_from_rows(actor=None, rows=rows)
    facts = PersonFacts.objects.get(person=person_a)
    assert (facts.arrival_level, facts.arrival_at) == ("high", rows[0].arrived_at)
    assert PersonFacts.objects.get(person=person_b).arrival_level == "medium"
    assert not PersonFacts.objects.filter(person_id=rows[2].person_id, arrival_level__gt="").exists()
    assert health.colour_for(person_a.pk).colour == "red"
    assert health.colour_for(person_b.pk).colour == "yellow"
    identified = Event.objects.filter(type="arrivals.identified").order_by("pk")
    assert [(e.payload["level"], e.payload["source"], len(e.payload["people"])) for e in identified] == [
        ("high", "list", 1),
        ("medium", "list", 1),
    ]
    tasks = Task.objects.filter(type=TaskType.SCREEN_ARRIVAL)
    assert {t.subject_person_id for t in tasks} == {person_a.pk, person_b.pk}
    task = tasks.get(subject_person=person_a)
    assert task.org_code == person_a.org_code and task.params["source"] == "list"
    recorded = Event.objects.filter(type="arrival.recorded")
    assert {e.org_code for e in recorded} == {person_a.org_code, person_b.org_code, rows[2].person.org_code}
    # The same list again: no second task, no second event.
    with django_capture_on_commit_callbacks(execute=True):
        archive.arrivals_from_rows(actor=None, rows=rows)
    assert Task.objects.filter(type=TaskType.SCREEN_ARRIVAL).count() == 2
    assert Event.objects.filter(type="arrivals.identified").count() == 2


def test_a_higher_recent_fact_is_not_lowered_and_old_arrivals_set_none(users, upload, person_a, person_b):
    designate(users["epidemiologist"], "310000", "high", since=dt.timedelta(days=40))
    designate(users["epidemiologist"], "440300", "medium", since=dt.timedelta(days=40))
    high = row(upload, person_a, 2, arrived_at=timezone.now() - dt.timedelta(days=2))
    archive.arrivals_from_rows(actor=None, rows=[high])
    medium = row(upload, person_a, 3, origin="深圳", origin_region_code="440305")
    archive.arrivals_from_rows(actor=None, rows=[medium])
    facts = PersonFacts.objects.get(person=person_a)
    assert (facts.arrival_level, facts.arrival_at) == ("high", high.arrived_at)
    # Older than the health code's window (14 days): archived, but neither a fact nor a screening.
    old = row(upload, person_b, 4, arrived_at=timezone.now() - dt.timedelta(days=20))
    assert archive.arrivals_from_rows(actor=None, rows=[old]) == 1
    assert Arrival.objects.get(person=person_b).risk_level == "high"
    assert not PersonFacts.objects.filter(person=person_b, arrival_level__gt="").exists()
    screened = [p[0] for e in Event.objects.filter(type="arrivals.identified") for p in e.payload["people"]]
    assert person_b.pk not in screened


# --- staff entry -------------------------------------------------------------------------------------


def test_staff_record_an_arrival_in_their_area(users, person_a, person_b):
    designate(users["epidemiologist"], "310000", "high")
    data = archive.ArrivalInput(
        origin="上海", origin_region_code="310101", arrived_at=timezone.now() - dt.timedelta(hours=1)
    )
    client_id = uuid.uuid4()
    arrival = archive.arrival_record(
        actor=users["grid_worker"], person=person_a, data=data, client_id=client_id
    )
    assert (arrival.source, arrival.risk_level, arrival.reported_by) == (
        ArrivalSource.STAFF,
        "high",
        users["grid_worker"],
    )
    again = archive.arrival_record(
        actor=users["grid_worker"], person=person_a, data=data, client_id=client_id
    )
    assert again.pk == arrival.pk and Arrival.objects.count() == 1
    assert AuditEntry.objects.filter(action="arrival.record").count() == 1
    with pytest.raises(Conflict):
        archive.arrival_record(actor=users["district_admin"], person=person_b, data=data, client_id=client_id)
    with pytest.raises(Forbidden):  # grid B is not the grid worker's
        archive.arrival_record(actor=users["grid_worker"], person=person_b, data=data)
    with pytest.raises(Forbidden):  # the lab neither imports lists nor edits people
        archive.arrival_record(actor=users["lab_technician"], person=person_a, data=data)
    future = archive.ArrivalInput(origin="上海", arrived_at=timezone.now() + dt.timedelta(hours=2))
    with pytest.raises(DomainError, match="future"):
        archive.arrival_record(actor=users["grid_worker"], person=person_a, data=future)
    with pytest.raises(DomainError, match="6 digits"):
        archive.arrival_record(
            actor=users["grid_worker"],
            person=person_a,
            data=archive.ArrivalInput(origin="上海", origin_region_code="3101", arrived_at=timezone.now()),
        )


# --- the archive page --------------------------------------------------------------------------------


def _dose(person, given_at):
    from epigrid.vaccination.services import doses
    from epigrid.vaccination.tests import factories

    vaccine = factories.vaccine()
    site = factories.site(person.grid, vaccine)
    batch = factories.batch(vaccine)
    for at in given_at:
        doses.dose_record(actor=None, person=person, vaccine=vaccine, batch=batch, site=site, given_at=at)


def _test(person, at):
    from epigrid.core.roles import Role
    from epigrid.core.tests.factories import UserFactory
    from epigrid.testing import services as testing_services

    sampler = UserFactory(role=Role.SAMPLER, org_unit=person.grid)
    tube = testing_services.tube_register(actor=sampler, barcode=f"T{uuid.uuid4().hex[:10]}", pool_size=1)
    testing_services.specimen_add(actor=sampler, tube=tube, person=person, client_id=uuid.uuid4())
    from epigrid.testing.models import Specimen

    Specimen.objects.filter(tube=tube).update(sampled_at=at)


@pytest.fixture
def archive_data(users, upload, person_a, person_b, jurisdiction):
    """Person A: from a high-risk region, tested, screened and fully vaccinated. Person B (grid B): from a
    high-risk region, nothing done. Person C (grid A): from a normal region, not vaccinated."""
    designate(users["epidemiologist"], "310000", "high")
    person_c = PersonFactory(grid=jurisdiction.grid_a)
    arrived = timezone.now() - dt.timedelta(days=2)
    rows = [
        row(upload, person_a, 2, arrived_at=arrived),
        row(upload, person_b, 3, arrived_at=arrived),
        row(upload, person_c, 4, origin="北京", origin_region_code="110105", arrived_at=arrived),
    ]
    archive.arrivals_from_rows(actor=None, rows=rows)
    _test(person_a, arrived + dt.timedelta(hours=3))
    _dose(person_a, [timezone.now() - dt.timedelta(days=60), timezone.now() - dt.timedelta(days=30)])
    task = grid_services.task_create(
        actor=None,
        spec=grid_services.TaskSpec(
            TaskType.SCREEN_ARRIVAL, "摸排", f"arrival:{person_a.pk}:x", person_id=person_a.pk
        ),
    )
    grid_services.task_act(
        actor=users["grid_worker"],
        task=task,
        action="done",
        result={"residence": "幸福路1号", "health": "normal", "test_status": "negative", "decision": "none"},
    )
    return {"a": person_a, "b": person_b, "c": person_c}


def _page(client, **params):
    response = client.get("/comparison/arrivals/", params)
    assert response.status_code == 200
    return response.content.decode()


def _people(html: str) -> set[str]:
    import re

    return set(re.findall(r'data-testid="arrival-row" data-person="(\d+)"', html))


def test_archive_page_statuses_masked_and_scoped(login_client, users, archive_data):
    a, b, c = archive_data["a"], archive_data["b"], archive_data["c"]
    html = _page(login_client(users["district_admin"]))
    assert _people(html) == {str(a.pk), str(b.pk), str(c.pk)}
    for person in (a, b, c):
        assert person.name not in html and person.name_masked in html
        assert person.id_number not in html and person.id_number_masked in html
        assert person.phone not in html
    assert f'data-person="{a.pk}" data-outstanding=""' in html  # tested, screened, vaccinated
    assert f'data-person="{b.pk}" data-outstanding="test screening vaccination"' in html
    assert f'data-person="{c.pk}" data-outstanding="vaccination"' in html  # no risk: no test nor screening
    assert f'href="/comparison/dossier/{a.pk}/"' in html
    # A grid worker sees their grid only, and cannot open dossiers.
    worker = _page(login_client(users["grid_worker"]))
    assert _people(worker) == {str(a.pk), str(c.pk)}
    assert "/comparison/dossier/" not in worker


def test_archive_filters(login_client, users, archive_data, jurisdiction):
    a, b, c = archive_data["a"], archive_data["b"], archive_data["c"]
    client = login_client(users["district_admin"])
    assert _people(_page(client, outstanding="on")) == {str(b.pk), str(c.pk)}
    assert _people(_page(client, level="high")) == {str(a.pk), str(b.pk)}
    assert _people(_page(client, level="none")) == {str(c.pk)}
    assert _people(_page(client, origin="31")) == {str(a.pk), str(b.pk)}
    assert _people(_page(client, origin="北京")) == {str(c.pk)}
    assert _people(_page(client, grid=jurisdiction.grid_b.code)) == {str(b.pk)}
    assert _people(_page(client, source="self_report")) == set()
    today = timezone.localdate()
    assert _people(_page(client, date_from=today.isoformat())) == set()
    assert len(_people(_page(client, date_from=(today - dt.timedelta(days=3)).isoformat()))) == 3
    bad = _page(client, date_from=today.isoformat(), date_to=(today - dt.timedelta(days=1)).isoformat())
    assert shows(bad, "The end lies before the start.")


def test_archive_needs_the_permission(login_client, users, archive_data):
    assert login_client(users["lab_technician"]).get("/comparison/arrivals/").status_code == 403
    assert login_client(users["resident"]).get("/comparison/arrivals/").status_code == 403
    assert login_client(users["vaccinator"]).get("/comparison/arrivals/").status_code == 403


def test_archive_export_is_masked(login_client, users, archive_data):
    response = login_client(users["district_admin"]).get(
        "/comparison/arrivals/", {"export": "xlsx", "level": "high"}
    )
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell for cell in r] for r in sheet.iter_rows(values_only=True)]
    assert len(values) == 3  # the header and persons A and B
    flat = " ".join(str(v) for r in values for v in r if v is not None)
    a = archive_data["a"]
    assert a.name_masked in flat and a.name not in flat and a.id_number not in flat and a.phone not in flat
