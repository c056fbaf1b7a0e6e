"""The command center's map layers: what each layer holds, the counts per grid, scope (a community officer
sees only their community; out of scope is absent), no person on the map, one grouped query per layer
whatever the number of grids, and the API's answers (401/403/400)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epigrid.checkins import services as checkin_services
from epigrid.command.models import Alarm, AlarmStatus, Camera, Severity
from epigrid.command.selectors.layers import LAYERS, MEASURES, map_layers
from epigrid.core import services as core_services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import OrgLevel
from epigrid.core.tests.factories import PersonFactory, square
from epigrid.grids import services as grid_services
from epigrid.grids.models import TaskType
from epigrid.investigation import services as case_services
from epigrid.investigation.models import Classification, Contact
from epigrid.investigation.tests.factories import old_venue
from epigrid.places.tests.factories import VenueFactory
from epigrid.quarantine import services as quarantine_services
from epigrid.quarantine.tests.factories import hotel, household
from epigrid.testing import services as testing_services
from epigrid.testing.models import Specimen

pytestmark = pytest.mark.django_db


def alarm(unit, *, status=AlarmStatus.OPEN, severity=Severity.CRITICAL, kind="case.confirmed") -> Alarm:
    # Test setup only: alarms are raised by the command center's services from events.
    return Alarm.objects.create(
        kind=kind,
        severity=severity,
        source_key=f"test:{uuid.uuid4().hex}",
        org_code=unit.code,
        lat=unit.centroid_lat,
        lng=unit.centroid_lng,
        status=status,
        raised_at=timezone.now(),
    )


def camera(unit, name: str) -> Camera:
    # Test setup only: the camera registry is another module's; the map only reads it.
    return Camera.objects.create(
        name=name,
        lat=unit.centroid_lat,
        lng=unit.centroid_lng,
        stream_url="https://video.example/snap.jpg",
        grid=unit,
        org_code=unit.code,
    )


def present(person, venue, minutes_ago: int = 10, stayed: int | None = None) -> None:
    """``person`` checked in at ``venue`` ``minutes_ago`` and is still there (or left after ``stayed``)."""
    now = timezone.now()
    leave_at = (
        now + dt.timedelta(minutes=30) if stayed is None else now - dt.timedelta(minutes=minutes_ago - stayed)
    )
    result = checkin_services.checkin_bulk_import(
        actor=None,
        rows=[
            checkin_services.CheckinImportRow(
                client_id=uuid.uuid4(),
                person_id=person.pk,
                venue_id=venue.pk,
                scanned_at=now - dt.timedelta(minutes=minutes_ago),
                leave_at=leave_at,
                left_explicitly=stayed is not None,
            )
        ],
    )
    assert result.created == 1, result.errors


@pytest.fixture
def scene(jurisdiction, users):
    """Grid A: two infected cases (and a suspected one, not counted), a household whose other two members
    are the first case's close contacts, one of them in quarantine at A's hotel, two open tasks (one
    overdue), a key place with two people present, a sampling point with one swab, today's testing round
    over community A, a camera and two alarms (one closed). Grid B: one case, a venue, a hotel, a camera,
    an open alarm."""
    j = jurisdiction
    now = timezone.now()
    home = household(j.grid_a, 3)
    index = home[0]
    case_services.case_create(actor=None, person=index, classification=Classification.CONFIRMED)
    case_services.case_create(
        actor=None, person=PersonFactory(grid=j.grid_a), classification=Classification.ASYMPTOMATIC
    )
    case_services.case_create(
        actor=None, person=PersonFactory(grid=j.grid_a), classification=Classification.SUSPECTED
    )
    case_services.case_create(
        actor=None, person=PersonFactory(grid=j.grid_b), classification=Classification.CONFIRMED
    )
    assert set(Contact.objects.values_list("person_id", flat=True)) == {home[1].pk, home[2].pk}

    site_a = hotel(j.grid_a, name="A酒店")
    site_b = hotel(j.grid_b, name="B酒店")
    quarantine_services.placement_create(actor=None, person=home[1], site=site_a)

    for title, hours in (("later", 5), ("late", -2)):
        grid_services.task_create(
            actor=None,
            spec=grid_services.TaskSpec(
                TaskType.PATROL,
                title,
                f"test:{title}",
                grid_id=j.grid_a.pk,
                due_at=now + dt.timedelta(hours=hours),
            ),
        )

    key_place = old_venue(j.grid_a, name="A超市")
    key_place.is_key_place = True
    key_place.save(update_fields=["is_key_place"])
    venue_b = old_venue(j.grid_b, name="B餐厅")
    VenueFactory(grid=j.grid_a, name="A待审", approve=False)
    present(users["resident"].person, key_place)
    present(PersonFactory(grid=j.grid_b), key_place)
    present(PersonFactory(grid=j.grid_b), venue_b, minutes_ago=90, stayed=30)  # left an hour ago

    commander = users["commander"]
    point = testing_services.sampling_point_create(
        actor=commander, name="A采样点", kind="fixed", grid=j.grid_a, lat=37.52, lng=121.22
    )
    tube = testing_services.tube_register(
        actor=users["sampler"], barcode="A-0001", pool_size=5, sampling_point=point
    )
    testing_services.specimen_add(actor=users["sampler"], tube=tube, client_id=uuid.uuid4(), person=home[2])
    earlier = testing_services.tube_register(
        actor=users["sampler"], barcode="A-0000", pool_size=1, sampling_point=point
    )  # swabbed two hours ago and sealed: neither in the queue nor open
    old_swab = testing_services.specimen_add(
        actor=users["sampler"], tube=earlier, client_id=uuid.uuid4(), person=PersonFactory(grid=j.grid_b)
    )
    Specimen.objects.filter(pk=old_swab.specimen.pk).update(sampled_at=now - dt.timedelta(hours=2))
    testing_services.testing_round_create(
        actor=commander, name="A社区核酸", area=j.community_a, day=timezone.localdate()
    )

    cam_a, cam_b = camera(j.grid_a, "A路口"), camera(j.grid_b, "B路口")
    alarms = {
        "a": alarm(j.grid_a),
        "a_closed": alarm(j.grid_a, status=AlarmStatus.CLOSED),
        "b": alarm(j.grid_b, severity=Severity.WARNING),
    }
    return {
        "household": home,
        "site_a": site_a,
        "site_b": site_b,
        "key_place": key_place,
        "venue_b": venue_b,
        "point": point,
        "cameras": (cam_a, cam_b),
        "alarms": alarms,
    }


def by_code(data: dict) -> dict[str, dict]:
    return {f["properties"]["code"]: f["properties"] for f in data["grids"]["features"]}


def test_grid_measures_are_counted_per_grid(scene, jurisdiction, users):
    data = map_layers(actor=users["commander"], layers={"grids"}, measure="cases")
    grids = by_code(data)
    a, b = grids[jurisdiction.grid_a.code], grids[jurisdiction.grid_b.code]
    # Confirmed and asymptomatic count; the suspected case does not.
    assert (a["cases"], b["cases"]) == (2, 1)
    assert (a["contacts"], b["contacts"]) == (2, 0)
    assert (a["quarantined"], b["quarantined"]) == (1, 0)
    assert (a["tasks_open"], a["tasks_overdue"], b["tasks_open"]) == (2, 1, 0)
    # Today's round covers community A: every resident of grid A but the one swabbed today is untested.
    residents_a = core_services.Person.objects.filter(org_code=jurisdiction.grid_a.code).count()
    assert a["untested"] == residents_a - 1
    assert b["untested"] is None  # grid B is in no round today
    assert a["value"] == a["cases"] and data["measure"] == "cases"
    assert data["grids"]["max"]["cases"] == 2
    assert [r["org_code"] for r in data["grids"]["rounds"]] == [jurisdiction.community_a.code]
    assert a["community_code"] == jurisdiction.community_a.code
    assert a["id"] == jurisdiction.grid_a.pk


def test_the_measure_picks_the_value(scene, jurisdiction, users):
    for measure in MEASURES:
        grids = by_code(map_layers(actor=users["commander"], layers={"grids"}, measure=measure))
        for props in grids.values():
            assert props["value"] == props[measure]


def test_no_person_and_no_case_location_reaches_the_map(scene, jurisdiction, users):
    data = map_layers(actor=users["commander"])
    props = data["grids"]["features"][0]["properties"]
    assert set(props) == {
        "id",
        "code",
        "name",
        "community_code",
        "community_name",
        "centroid",
        "value",
        *MEASURES,
    }
    text = json.dumps(data, default=str)
    for person in scene["household"]:
        assert person.name not in text
    assert "person" not in text


def test_places_carry_their_live_numbers(scene, jurisdiction, users):
    data = map_layers(actor=users["commander"])
    venues = {v["id"]: v for v in data["venues"]}
    key_place, venue_b = venues[scene["key_place"].pk], venues[scene["venue_b"].pk]
    assert (key_place["present"], key_place["key_place"]) == (2, True)
    assert (venue_b["present"], venue_b["key_place"]) == (0, False)
    assert len(venues) == 2  # the venue awaiting approval is not on the map

    (point,) = data["sampling_points"]
    assert (point["id"], point["queue"], point["open_tubes"]) == (scene["point"].pk, 1, 1)

    sites = {s["id"]: s for s in data["quarantine_sites"]}
    assert (sites[scene["site_a"].pk]["free"], sites[scene["site_a"].pk]["people"]) == (3, 1)
    assert sites[scene["site_b"].pk]["free"] == 4
    # Sites without coordinates stand at their grid's centre.
    assert (sites[scene["site_a"].pk]["lat"], sites[scene["site_a"].pk]["lng"]) == (
        jurisdiction.grid_a.centroid_lat,
        jurisdiction.grid_a.centroid_lng,
    )

    cameras = {c["id"]: c for c in data["cameras"]}
    cam_a = scene["cameras"][0]
    assert cameras[cam_a.pk]["watch_url"] == f"/command/cameras/{cam_a.pk}/"
    assert "stream_url" not in cameras[cam_a.pk]

    alarms = {a["id"]: a for a in data["alarms"]}
    assert set(alarms) == {scene["alarms"]["a"].pk, scene["alarms"]["b"].pk}  # the closed one is gone
    assert alarms[scene["alarms"]["a"].pk]["severity"] == "critical"
    assert alarms[scene["alarms"]["a"].pk]["lat"] == jurisdiction.grid_a.centroid_lat


def test_venue_occupancy_agrees_with_the_checkins_page(scene, users):
    """The map counts presence itself (as plain values); it must say what the occupancy page says."""
    from epigrid.checkins.selectors import occupancy

    for role in ("commander", "community_officer"):
        page = {row["venue"].pk: row["present"] for row in occupancy(actor=users[role])}
        on_map = {v["id"]: v["present"] for v in map_layers(actor=users[role], layers={"venues"})["venues"]}
        assert on_map == page and sum(page.values()) >= 2, role


def test_only_the_requested_layers_come_and_none_is_unavailable(scene, users):
    data = map_layers(actor=users["commander"], layers={"vaccination_sites", "waste_points", "cameras"})
    assert data["waste_points"] == [] and data["unavailable"] == []  # built; no waste party in this scene
    assert data["vaccination_sites"] == []  # built, and there is no site in this scene
    assert "grids" not in data and "venues" not in data
    assert map_layers(actor=users["commander"], layers={"grids"})["unavailable"] == []


def test_waste_points_count_waiting_bags_and_alarms_in_scope(jurisdiction, users):
    import datetime as dt

    from epigrid.medwaste.models import Stage
    from epigrid.medwaste.services.alarms import waste_alarms_evaluate
    from epigrid.medwaste.tests import wasterows

    now = timezone.now()
    chain_a = wasterows.chain(jurisdiction.grid_a)  # the institution has coordinates, the producer none
    chain_b = wasterows.chain(jurisdiction.grid_b)
    hour = dt.timedelta(hours=1)
    wasterows.bag(chain_a, [(Stage.LABELLED, now - 51 * hour, 1500), (Stage.STORED, now - 49 * hour, 1500)])
    wasterows.bag(chain_a, [(Stage.LABELLED, now - 3 * hour, 500)])
    wasterows.bag(chain_b, [(Stage.LABELLED, now - 2 * hour, 700)])
    waste_alarms_evaluate(now=now)
    points = {
        p["id"]: p for p in map_layers(actor=users["commander"], layers={"waste_points"})["waste_points"]
    }
    storage = points[chain_a.institution.pk]
    assert (storage["open_bags"], storage["open_kg"], storage["alarms"]) == (1, 1.5, 1)
    assert storage["oldest_hours"] == 51.0 and (storage["lat"], storage["lng"]) == (37.51, 121.21)
    producer = points[chain_a.producer.pk]  # at its grid's centre
    assert (producer["lat"], producer["lng"]) == (
        jurisdiction.grid_a.centroid_lat,
        jurisdiction.grid_a.centroid_lng,
    )
    assert producer["open_bags"] == 1 and producer["alarms"] == 0
    assert set(points) >= {chain_b.producer.pk}
    officer = map_layers(actor=users["community_officer"], layers={"waste_points"})["waste_points"]
    assert {p["id"] for p in officer} == {chain_a.institution.pk, chain_a.producer.pk}  # community A only
    assert all("handler" not in str(p) for p in officer)


@pytest.fixture
def clinics(jurisdiction, users):
    """A vaccination site in grid A (no coordinates: it stands at the grid's centre) with two doses given
    today and one yesterday and a booking for tomorrow; one in grid B with its own coordinates; a closed
    site in grid A. Each open site has today's eight half-hour slots of 20 places."""
    from epigrid.vaccination.services import bookings, catalogue, doses
    from epigrid.vaccination.tests import factories

    j = jurisdiction
    vaccine = factories.vaccine()
    batch = factories.batch(vaccine)
    site_a = factories.site(j.grid_a, vaccine, name="A接种点")
    site_b = catalogue.site_create(
        actor=None,
        data=catalogue.SiteInput(
            name="B接种点",
            grid=j.grid_b,
            lat=37.561,
            lng=121.221,
            opening_hours=factories.EVERY_DAY,
            vaccines=[vaccine],
        ),
    )
    catalogue.slots_generate(actor=None, site=site_b, start=timezone.localdate(), days=2)
    closed = factories.site(j.grid_a, vaccine, name="A已停用")
    catalogue.site_update(actor=None, site=closed, active=False)
    now = timezone.now()
    yesterday = now - dt.timedelta(days=1)
    for at in (now - dt.timedelta(minutes=5), now - dt.timedelta(minutes=1), yesterday):
        doses.dose_record(
            actor=users["vaccinator"],
            person=PersonFactory(grid=j.grid_a),
            vaccine=vaccine,
            batch=batch,
            site=site_a,
            given_at=at,
        )
    bookings.booking_create(
        actor=None, person=PersonFactory(grid=j.grid_a), slot=factories.future_slot(site_a), vaccine=vaccine
    )
    return {"a": site_a, "b": site_b, "closed": closed}


def test_vaccination_sites_carry_todays_load(clinics, jurisdiction, users):
    sites = {
        s["id"]: s
        for s in map_layers(actor=users["commander"], layers={"vaccination_sites"})["vaccination_sites"]
    }
    a, b = sites[clinics["a"].pk], sites[clinics["b"].pk]
    assert set(sites) == {clinics["a"].pk, clinics["b"].pk}  # the closed site is not on the map
    # Today's eight slots of 20; the booking is for tomorrow and the dose of yesterday is not today's.
    assert (a["capacity_today"], a["booked_today"], a["doses_today"]) == (160, 0, 2)
    assert (b["capacity_today"], b["booked_today"], b["doses_today"]) == (160, 0, 0)
    assert (a["lat"], a["lng"]) == (jurisdiction.grid_a.centroid_lat, jurisdiction.grid_a.centroid_lng)
    assert (b["lat"], b["lng"]) == (37.561, 121.221)
    assert a["name"] == "A接种点" and a["org_code"] == jurisdiction.grid_a.code


def test_a_community_officer_sees_only_their_communitys_vaccination_sites(clinics, jurisdiction, users):
    from epigrid.core.tests.factories import UserFactory

    mine = map_layers(actor=users["community_officer"], layers={"vaccination_sites"})["vaccination_sites"]
    assert [s["id"] for s in mine] == [clinics["a"].pk]
    officer_b = UserFactory(username="officer_b", role="community_officer", org_unit=jurisdiction.community_b)
    theirs = map_layers(actor=officer_b, layers={"vaccination_sites"})["vaccination_sites"]
    assert [s["id"] for s in theirs] == [clinics["b"].pk]


def test_community_officer_sees_only_their_community(scene, jurisdiction, users):
    data = map_layers(actor=users["community_officer"])
    assert set(by_code(data)) == {jurisdiction.grid_a.code}
    assert {v["id"] for v in data["venues"]} == {scene["key_place"].pk}
    assert {s["id"] for s in data["quarantine_sites"]} == {scene["site_a"].pk}
    assert {c["id"] for c in data["cameras"]} == {scene["cameras"][0].pk}
    assert {a["id"] for a in data["alarms"]} == {scene["alarms"]["a"].pk}
    assert [p["id"] for p in data["sampling_points"]] == [scene["point"].pk]
    a = by_code(data)[jurisdiction.grid_a.code]
    assert (a["cases"], a["contacts"], a["quarantined"], a["tasks_open"]) == (2, 2, 1, 2)
    assert data["grids"]["max"]["cases"] == 2  # grid B's case does not count toward the legend either


def test_community_b_officer_sees_none_of_community_a(scene, jurisdiction):
    from epigrid.core.tests.factories import UserFactory

    officer_b = UserFactory(username="officer_b", role="community_officer", org_unit=jurisdiction.community_b)
    data = map_layers(actor=officer_b)
    assert set(by_code(data)) == {jurisdiction.grid_b.code}
    assert by_code(data)[jurisdiction.grid_b.code]["untested"] is None  # community A's round is not theirs
    assert data["grids"]["rounds"] == []
    assert {v["id"] for v in data["venues"]} == {scene["venue_b"].pk}
    assert data["sampling_points"] == []
    assert {a["id"] for a in data["alarms"]} == {scene["alarms"]["b"].pk}


def test_a_district_round_counts_for_a_community_officer(jurisdiction, users):
    PersonFactory(grid=jurisdiction.grid_a)
    testing_services.testing_round_create(
        actor=users["commander"], name="全区", area=jurisdiction.district, day=timezone.localdate()
    )
    data = map_layers(actor=users["community_officer"], layers={"grids"})
    residents_a = core_services.Person.objects.filter(org_code=jurisdiction.grid_a.code).count()
    assert by_code(data)[jurisdiction.grid_a.code]["untested"] == residents_a


def test_roles_without_command_view_are_refused(scene, users):
    for role in ("grid_worker", "sampler", "resident", "quarantine_manager"):
        with pytest.raises(Forbidden):
            map_layers(actor=users[role])


def test_unknown_measure_or_layer_is_an_error(users, jurisdiction):
    with pytest.raises(DomainError):
        map_layers(actor=users["commander"], measure="colour")
    with pytest.raises(DomainError):
        map_layers(actor=users["commander"], layers={"grids", "rivers"})


def test_queries_do_not_grow_with_grids_and_places(scene, jurisdiction, users):
    """Every count is one grouped query: ten more grids with cases, venues and alarms cost no query more."""
    commander = users["commander"]
    map_layers(actor=commander)  # warm process caches (policies)
    with CaptureQueriesContext(connection) as before:
        map_layers(actor=commander)
    community = jurisdiction.community_b
    for n in range(2, 12):
        grid = core_services.orgunit_create(
            actor=None,
            code=f"{community.code}{n:03d}",
            level=OrgLevel.GRID,
            name=f"B{n}网格",
            parent=community,
            boundary=square(37.55, 121.20 + n * 0.001, 0.001),
            centroid=(37.5505, 121.2005 + n * 0.001),
        )
        case_services.case_create(actor=None, person=PersonFactory(grid=grid), trace=False)
        present(PersonFactory(grid=grid), old_venue(grid))
        alarm(grid)
        camera(grid, f"B{n}")
    with CaptureQueriesContext(connection) as after:
        data = map_layers(actor=commander)
    assert len(data["grids"]["features"]) == 12 and len(data["venues"]) == 12
    assert len(after.captured_queries) == len(before.captured_queries), [
        q["sql"][:120] for q in after.captured_queries
    ]


def test_boundaries_can_be_left_out(scene, jurisdiction, users):
    with_shapes = map_layers(actor=users["commander"], layers={"grids"})
    without = map_layers(actor=users["commander"], layers={"grids"}, boundaries=False)
    assert with_shapes["grids"]["features"][0]["geometry"]["type"] == "Polygon"
    assert all(f["geometry"] is None for f in without["grids"]["features"])
    assert by_code(without) == by_code(with_shapes)


# --- HTTP -----------------------------------------------------------------------------------------------


def test_api_map_per_role(scene, users, api_client, login_client, jurisdiction):
    url = "/api/v1/command/map"
    assert api_client(None).get(url).status_code == 401
    for role in ("grid_worker", "resident", "sampler"):
        response = api_client(users[role]).get(url)
        assert response.status_code == 403, role
        assert "detail" in response.json()
    response = login_client(users["commander"]).get(
        url, {"layers": "grids,alarms", "measure": "tasks_overdue"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"grids", "alarms", "measure", "unavailable"} and "venues" not in body
    assert by_code(body)[jurisdiction.grid_a.code]["value"] == 1
    officer = api_client(users["community_officer"]).get(url).json()
    assert set(by_code(officer)) == {jurisdiction.grid_a.code}
    assert set(officer) >= set(LAYERS)
    assert officer["unavailable"] == []


def test_api_map_rejects_unknown_names(users, api_client, jurisdiction):
    client = api_client(users["commander"])
    response = client.get("/api/v1/command/map", {"layers": "grids,rivers"})
    assert response.status_code == 400 and "rivers" in response.json()["detail"]
    assert client.get("/api/v1/command/map", {"measure": "colour"}).status_code == 400
    response = client.get("/api/v1/command/map", {"layers": "grids", "boundaries": "false"})
    assert response.status_code == 200
    assert all(f["geometry"] is None for f in response.json()["grids"]["features"])


# --- the bench ---------------------------------------------------------------------------------------------


def test_command_bench_reports_agrees_with_the_naive_reads_and_leaves_no_rows(
    jurisdiction, capsys, monkeypatch
):
    from epigrid.command import bench as command_bench
    from epigrid.core.models import OrgUnit, Person
    from epigrid.simulation import bench

    # The browser part needs committed rows and a server: test_bench_latency runs it.
    monkeypatch.setattr(command_bench, "PARTS", [command_bench.map_and_situation])
    before = (OrgUnit.objects.count(), Person.objects.count(), Alarm.objects.count())
    assert bench.run("command", scale=2000) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    by_metric = {row["metric"]: row for row in rows}
    assert {row["bench"] for row in rows} == {"command"}
    assert by_metric["map_disagreements"]["value"] == 0
    whole = by_metric["map_all_p50"]
    assert whole["value"] > 0 and whole["baseline"] > 0 and whole["residents"] == 2000
    assert by_metric["map_http_p50"]["bytes"] > 0 and by_metric["situation_p50"]["value"] > 0
    assert (OrgUnit.objects.count(), Person.objects.count(), Alarm.objects.count()) == before
