"""Scope cases of the command center's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

from django.test import override_settings

from epigrid.command.models import Camera, Consultation
from epigrid.command.services import video
from epigrid.core.roles import Role
from epigrid.core.testing import scope_case
from epigrid.core.tests.factories import UserFactory


@scope_case("command.camera", detail_urls=["/api/v1/cameras/{pk}"])
def make_camera(grid, person) -> Camera:
    return video.camera_create(
        actor=None,
        name="路口监控",
        lat=grid.centroid_lat,
        lng=grid.centroid_lng,
        stream_url="https://cameras.example.org/snapshot.jpg",
    )


@scope_case("command.consultation")
def make_consultation(grid, person) -> Consultation:
    # Started by an officer whose unit is the grid itself, so the consultation belongs to that grid.
    officer = UserFactory(role=Role.COMMUNITY_OFFICER, org_unit=grid)
    leader = UserFactory(role=Role.GRID_LEADER, org_unit=grid)
    with override_settings(VIDEO_MEETING_URL="https://meet.example.org/{room}"):
        return video.consultation_start(actor=officer, topic="会商", invitees=[leader])


def _alarm(grid, person):
    from epigrid.command.services.alarms import alarm_raise_from_event
    from epigrid.core import events

    event = events.publish("specimen.positive", payload={"person_id": person.pk}, org_code=person.org_code)
    return alarm_raise_from_event(event=event)


@scope_case("command.alarm", detail_urls=["/api/v1/alarms/{pk}"])
def make_alarm(grid, person):
    return _alarm(grid, person)


@scope_case("command.alarmupdate")
def make_alarm_update(grid, person):
    from epigrid.command.services.alarms import alarm_acknowledge

    officer = UserFactory(role=Role.COMMUNITY_OFFICER, org_unit=grid)
    alarm = alarm_acknowledge(actor=officer, alarm=_alarm(grid, person))
    return alarm.updates.get(action="acknowledge")


@scope_case("command.instruction", detail_urls=["/api/v1/instructions/{pk}"])
def make_instruction(grid, person):
    from epigrid.command.services.instructions import instruction_issue

    officer = UserFactory(role=Role.COMMUNITY_OFFICER, org_unit=grid)
    return instruction_issue(actor=officer, grids=[grid], text="入户排查")
