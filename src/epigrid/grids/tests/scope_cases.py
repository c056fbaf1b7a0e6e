"""Scope cases of grid management's models (see ``epigrid.core.testing``)."""

from __future__ import annotations

import uuid

from epigrid.core.roles import Role
from epigrid.core.testing import scope_case
from epigrid.core.tests.factories import UserFactory
from epigrid.grids import services
from epigrid.grids.models import (
    Emergency,
    GridAssignment,
    PatrolRoute,
    SentinelPoint,
    Task,
    TaskType,
    TaskUpdate,
)
from epigrid.places.tests.factories import VenueFactory


def _task(grid, person) -> Task:
    return services.task_create(
        actor=None,
        spec=services.TaskSpec(TaskType.RESAMPLE, "复采", f"t:{uuid.uuid4()}", person_id=person.pk),
    )


@scope_case("grids.task", detail_urls=["/api/v1/grid/tasks/{pk}"])
def make_task(grid, person) -> Task:
    return _task(grid, person)


@scope_case("grids.taskupdate")
def make_update(grid, person) -> TaskUpdate:
    task = _task(grid, person)
    worker = UserFactory(role=Role.GRID_WORKER, org_unit=grid)
    [result] = services.tasks_sync(
        actor=worker,
        items=[services.SyncItem(str(uuid.uuid4()), task.pk, "accept", base_version=task.version)],
    )
    return TaskUpdate.objects.get(client_id=result.client_id)


@scope_case("grids.gridassignment")
def make_assignment(grid, person) -> GridAssignment:
    return services.grid_staff_assign(
        actor=None, grid=grid, user=UserFactory(role=Role.GRID_WORKER, org_unit=grid), role="worker"
    )


@scope_case("grids.sentinelpoint")
def make_point(grid, person) -> SentinelPoint:
    return services.sentinel_create(
        actor=None,
        kind="construction",
        name="工地",
        unit=grid,
        responsible_name="张工",
        responsible_phone="13800000000",
    )


@scope_case("grids.patrolroute")
def make_route(grid, person) -> PatrolRoute:
    return services.patrol_route_create(
        actor=None,
        name="商超巡查",
        grid=grid,
        venues=[VenueFactory(grid=grid)],
        checklist=["扫码"],
        weekdays=[0],
    )


@scope_case("grids.emergency")
def make_emergency(grid, person) -> Emergency:
    reporter = UserFactory(role=Role.GRID_WORKER, org_unit=grid)
    return services.emergency_report(
        actor=reporter,
        kind="crowd",
        place="广场",
        description="聚集",
        lat=grid.centroid_lat,
        lng=grid.centroid_lng,
    )
