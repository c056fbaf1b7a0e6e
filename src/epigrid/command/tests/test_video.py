"""Cameras (registry, scope, the player per kind, the demo picture) and video consultations (room on the
configured server, invitations through the inbox, refusals)."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from PIL import Image

from epigrid.command.models import Camera, CameraKind, Consultation
from epigrid.command.selectors import video as selectors
from epigrid.command.services import video as services
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import AuditEntry, Event, Notice
from epigrid.core.tests.factories import UserFactory

IN_A = (37.525, 121.225)
IN_B = (37.575, 121.225)
MEET = "https://meet.example.org/{room}"


@pytest.fixture
def meeting(settings):
    settings.VIDEO_MEETING_URL = MEET


def _camera(actor, point=IN_A, **kwargs) -> Camera:
    args = {"name": "路口", "lat": point[0], "lng": point[1], "stream_url": "https://cams.example/a.jpg"}
    return services.camera_create(actor=actor, **{**args, **kwargs})


# --- cameras -----------------------------------------------------------------------------------------------


def test_a_camera_belongs_to_the_grid_of_its_point(users, jurisdiction, django_capture_on_commit_callbacks):
    camera = _camera(users["commander"], kind=CameraKind.HLS, stream_url="https://v.example/live.m3u8")
    assert camera.grid == jurisdiction.grid_a and camera.org_code == jurisdiction.grid_a.code
    assert AuditEntry.objects.filter(action="camera.create", object_id=str(camera.pk)).exists()
    assert Event.objects.filter(type="camera.changed", payload__camera_id=camera.pk).exists()
    moved = services.camera_update(actor=users["commander"], camera=camera, lat=IN_B[0], lng=IN_B[1])
    assert moved.org_code == jurisdiction.grid_b.code


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stream_url": "javascript:alert(1)"}, "stream_url"),
        ({"stream_url": "rtsp://cam.example/1"}, "stream_url"),
        ({"stream_url": "//cam.example/1"}, "stream_url"),
        ({"stream_url": "https://"}, "stream_url"),
        ({"stream_url": "https://cam.example/a b"}, "stream_url"),
        ({"lat": 91}, "lat"),
        ({"lng": -181}, "lng"),
        ({"lat": float("nan")}, "lat"),
        ({"lat": 10.0, "lng": 10.0}, "lat"),  # outside every grid
        ({"name": "  "}, "name"),
        ({"kind": "rtsp"}, "kind"),
    ],
)
def test_bad_cameras_are_refused(users, kwargs, field):
    args = {
        "name": "路口",
        "lat": IN_A[0],
        "lng": IN_A[1],
        "stream_url": "https://cams.example/a.jpg",
        **kwargs,
    }
    with pytest.raises(DomainError) as err:
        services.camera_create(actor=users["commander"], **args)
    assert err.value.field == field
    assert not Camera.objects.exists()


def test_cameras_are_managed_within_ones_own_area_only(users, jurisdiction):
    officer = users["community_officer"]  # community A: no camera.manage
    with pytest.raises(Forbidden):
        _camera(officer)
    local_admin = UserFactory(role="district_admin", org_unit=jurisdiction.community_a)
    with pytest.raises(DomainError) as err:
        _camera(local_admin, point=IN_B)
    assert err.value.field == "lat"
    theirs = _camera(users["commander"], point=IN_B)
    with pytest.raises(Forbidden):
        services.camera_update(actor=local_admin, camera=theirs, name="改名")
    with pytest.raises(Forbidden):
        services.camera_deactivate(actor=local_admin, camera=theirs)
    mine = _camera(local_admin)
    services.camera_deactivate(actor=local_admin, camera=mine)
    assert not Camera.objects.get(pk=mine.pk).is_active
    assert mine not in selectors.camera_list(actor=local_admin)
    assert selectors.camera_get(actor=local_admin, pk=mine.pk) == mine  # still on record


def test_every_staff_account_sees_the_cameras_of_its_area(users):
    a, b = _camera(users["commander"]), _camera(users["commander"], point=IN_B)
    assert set(selectors.camera_list(actor=users["grid_worker"])) == {a}
    assert set(selectors.camera_list(actor=users["commander"])) == {a, b}
    assert list(selectors.camera_list(actor=users["resident"])) == []


def test_camera_api(users, api_client):
    commander = api_client(users["commander"])
    created = commander.post(
        "/api/v1/cameras",
        {
            "name": "菜市场",
            "lat": IN_A[0],
            "lng": IN_A[1],
            "kind": "mjpeg",
            "stream_url": "http://c.example/m",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["grid"] == users["grid_worker"].org_code and body["kind"] == "mjpeg"
    assert body["player_url"] == f"/command/cameras/{body['id']}/"

    worker = api_client(users["grid_worker"])
    assert [c["id"] for c in worker.get("/api/v1/cameras").json()] == [body["id"]]
    assert worker.get(f"/api/v1/cameras/{body['id']}").json()["name"] == "菜市场"
    refused = worker.post(
        "/api/v1/cameras",
        {"name": "x", "lat": IN_A[0], "lng": IN_A[1], "stream_url": "http://c.example/m"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    bad = commander.post(
        "/api/v1/cameras",
        {"name": "x", "lat": IN_A[0], "lng": IN_A[1], "stream_url": "file:///etc/passwd"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "stream_url"


@pytest.mark.parametrize(
    ("kind", "url", "expect", "absent"),
    [
        ("hls", "https://v.example/live.m3u8", ['<video', 'data-testid="hls-note"', "hls.js"], ["camera.js"]),
        ("video", "https://v.example/clip.mp4", ["<video", "autoplay"], ['data-testid="hls-note"']),
        ("mjpeg", "https://v.example/mjpeg", ['data-testid="picture"'], ["<video", "camera.js"]),
        ("snapshot", "https://v.example/snap.jpg", ['data-snapshot-src="https://v.example/snap.jpg"', "camera.js"],
         ["<video"]),
    ],
)  # fmt: skip
def test_the_player_fits_the_kind_of_picture(users, login_client, kind, url, expect, absent):
    camera = _camera(users["commander"], kind=kind, stream_url=url)
    page = login_client(users["grid_worker"]).get(f"/command/cameras/{camera.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in expect:
        assert text in html
    for text in absent:
        assert text not in html
    assert 'data-testid="demo-camera"' not in html


def test_the_demo_picture_is_drawn_only_for_demo_cameras(users, login_client):
    commander = users["commander"]
    demo = _camera(commander, stream_url="/")
    services.camera_update(actor=commander, camera=demo, stream_url=services.demo_stream_url(demo.pk))
    real = _camera(commander)
    client = login_client(users["grid_worker"])
    response = client.get(f"/command/cameras/{demo.pk}/demo.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    assert Image.open(io.BytesIO(response.content)).size == (640, 360)
    assert client.get(f"/command/cameras/{real.pk}/demo.jpg").status_code == 404
    page = client.get(f"/command/cameras/{demo.pk}/").content.decode()
    assert 'data-testid="demo-camera"' in page and "camera.js" in page


def test_camera_pages_register_edit_and_take_off(users, login_client, jurisdiction):
    client = login_client(users["commander"])
    assert client.get("/command/cameras/new/").status_code == 200
    bad = client.post(
        "/command/cameras/new/",
        {"name": "x", "lat": 10, "lng": 10, "kind": "snapshot", "stream_url": "https://c.example/s.jpg"},
    )
    with translation.override("zh-hans"):  # the page speaks the site's default language
        outside = translation.gettext("This point lies outside every grid of the district.")
    assert bad.status_code == 400 and outside in bad.content.decode()
    made = client.post(
        "/command/cameras/new/",
        {
            "name": "小区南门",
            "lat": IN_A[0],
            "lng": IN_A[1],
            "kind": "snapshot",
            "stream_url": "https://c.example/s.jpg",
        },
    )
    camera = Camera.objects.get(name="小区南门")
    assert made.status_code == 302 and made["Location"] == f"/command/cameras/{camera.pk}/"
    edited = client.post(
        f"/command/cameras/{camera.pk}/edit/",
        {
            "name": "小区北门",
            "lat": IN_B[0],
            "lng": IN_B[1],
            "kind": "snapshot",
            "stream_url": "https://c.example/s.jpg",
        },
    )
    assert edited.status_code == 302
    camera.refresh_from_db()
    assert camera.name == "小区北门" and camera.org_code == jurisdiction.grid_b.code
    assert client.post(f"/command/cameras/{camera.pk}/deactivate/").status_code == 302
    assert f'data-camera="{camera.pk}"' not in client.get("/command/cameras/").content.decode()
    assert f'data-camera="{camera.pk}"' in client.get("/command/cameras/?inactive=1").content.decode()

    worker = login_client(users["grid_worker"])
    assert worker.get("/command/cameras/").status_code == 200
    assert worker.get("/command/cameras/new/").status_code == 403
    assert worker.get(f"/command/cameras/{camera.pk}/").status_code == 404  # grid B: out of scope


# --- consultations -----------------------------------------------------------------------------------------


@pytest.fixture
def leaders(jurisdiction):
    return [
        UserFactory(username="leader_a", role="grid_leader", org_unit=jurisdiction.grid_a),
        UserFactory(username="leader_b", role="grid_leader", org_unit=jurisdiction.grid_b),
    ]


def test_consultations_are_off_without_a_server(settings, users, leaders):
    settings.VIDEO_MEETING_URL = ""
    with pytest.raises(DomainError) as err:
        services.consultation_start(actor=users["commander"], topic="会商", invitees=leaders)
    assert "EPIGRID_VIDEO_MEETING_URL" in err.value.message
    assert not Consultation.objects.exists() and not Notice.objects.exists()


def test_a_consultation_opens_a_random_room_and_invites_through_the_inbox(
    meeting, users, leaders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.consultation_start(
            actor=users["commander"], topic="聚集性疫情会商", invitees=leaders
        )
        second = services.consultation_start(actor=users["commander"], topic="再会商", invitees=leaders[:1])
    assert first.room != second.room and len(first.room) >= 30
    assert first.url == MEET.format(room=first.room)
    assert set(first.invitees.all()) == set(leaders)
    invitations = Notice.objects.filter(kind="consultation", url=first.url)
    assert set(invitations.values_list("user_id", flat=True)) == {u.pk for u in leaders}
    assert all(first.url in n.body for n in invitations)
    started = Event.objects.get(type="consultation.started", payload__consultation_id=first.pk)
    assert started.org_code == users["commander"].org_code and started.payload["count"] == 2
    sent = Event.objects.filter(type="notice.sent").order_by("pk").first()
    assert set(sent.payload["user_ids"]) == {u.pk for u in leaders}
    assert AuditEntry.objects.filter(action="consultation.start", object_id=str(first.pk)).exists()


def test_invitees_must_be_staff_of_the_actors_area(meeting, users, leaders):
    officer = users["community_officer"]  # community A
    with pytest.raises(DomainError) as err:
        services.consultation_start(actor=officer, topic="会商", invitees=[leaders[1]])
    assert "leader_b" in err.value.message
    with pytest.raises(DomainError):
        services.consultation_start(actor=officer, topic="会商", invitees=[users["resident"]])
    with pytest.raises(DomainError):
        services.consultation_start(actor=officer, topic="会商", invitees=[officer])  # nobody else
    with pytest.raises(Forbidden):
        services.consultation_start(actor=users["grid_leader"], topic="会商", invitees=[leaders[0]])
    made = services.consultation_start(
        actor=officer, topic="会商", invitees=[leaders[0], users["grid_worker"]]
    )
    assert made.org_code == officer.org_code


def test_grid_leader_candidates_are_those_of_the_actors_area(users, leaders, jurisdiction):
    from epigrid.grids.services import grid_staff_assign

    worker_as_leader = UserFactory(role="grid_worker", org_unit=jurisdiction.grid_a)
    grid_staff_assign(actor=None, grid=jurisdiction.grid_a, user=worker_as_leader, role="leader")
    officer = users["community_officer"]
    candidates = selectors.grid_leaders_for(actor=officer)
    assert set(candidates) == {users["grid_leader"], leaders[0], worker_as_leader}
    everyone = selectors.grid_leaders_for(actor=users["commander"])
    assert leaders[1] in everyone and users["grid_worker"] not in everyone
    only_b = selectors.grid_leaders_for(actor=users["commander"], grids=[jurisdiction.grid_b])
    assert only_b == [leaders[1]]
    assert selectors.grid_leaders_for(actor=users["grid_worker"]) == []


def test_consultation_api(meeting, users, leaders, api_client):
    client = api_client(users["commander"])
    response = client.post(
        "/api/v1/consultations",
        {"topic": "会商", "invitee_ids": [leaders[0].pk, leaders[1].pk]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"].startswith("https://meet.example.org/epigrid-")
    assert body["invited"] == sorted(u.pk for u in leaders)
    officer = api_client(users["community_officer"])
    refused = officer.post(
        "/api/v1/consultations",
        {"topic": "会商", "invitee_ids": [leaders[1].pk, 10**9]},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert f"#{leaders[1].pk}" in refused.json()["detail"] and f"#{10**9}" in refused.json()["detail"]
    missing_alarm = client.post(
        "/api/v1/consultations",
        {"topic": "会商", "invitee_ids": [leaders[0].pk], "alarm_id": 10**9},
        content_type="application/json",
    )
    assert missing_alarm.status_code == 404
    worker = api_client(users["grid_worker"])
    assert (
        worker.post(
            "/api/v1/consultations",
            {"topic": "x", "invitee_ids": [leaders[0].pk]},
            content_type="application/json",
        ).status_code
        == 403
    )


def test_consultation_page_starts_and_offers_the_link(meeting, users, leaders, login_client):
    client = login_client(users["commander"])
    page = client.get("/command/consultations/new/").content.decode()
    assert "leader_a" in page and "leader_b" in page
    response = client.post(
        "/command/consultations/new/", {"topic": "防控会商", "invitees": [str(leaders[0].pk)]}
    )
    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/command/consultations/new/?started={consultation.pk}"
    shown = client.get(response["Location"]).content.decode()
    assert 'data-testid="meeting-link"' in shown and consultation.url in shown
    assert client.post("/command/consultations/new/", {"topic": "", "invitees": []}).status_code == 400
    # The invited leader finds the link in the inbox.
    inbox = login_client(leaders[0]).get("/notices/").content.decode()
    assert "防控会商" in inbox


def test_consultation_page_says_when_consultations_are_off(settings, users, login_client):
    settings.VIDEO_MEETING_URL = ""
    page = login_client(users["commander"]).get("/command/consultations/new/")
    assert page.status_code == 200 and 'data-testid="consultations-off"' in page.content.decode()
    assert login_client(users["grid_worker"]).get("/command/consultations/new/").status_code == 403
