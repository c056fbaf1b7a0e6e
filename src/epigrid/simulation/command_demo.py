"""Demo step ``cameras`` (after the investigation): a few monitoring cameras the command center can show
offline.

Each camera's picture is EpiGrid's own synthetic frame (``/command/cameras/<id>/demo.jpg``: the camera's
name, the local time and a moving shape, labelled "demo camera"), so the player works without any video
platform or network. The cameras are registered by the ``commander`` account through
``command.services.video``: one in the grid worker's grid, the others spread over the district, each at a
point inside its grid.
"""

from __future__ import annotations

from shapely.geometry import shape

from epigrid.command.models import CameraKind
from epigrid.command.services import video
from epigrid.simulation import investigation_demo  # noqa: F401 - the earlier steps run before this one
from epigrid.simulation.district import DemoContext, demo_step

CAMERAS = 4
SPOTS = ("路口", "农贸市场门口", "小区南门", "核酸采样点")


@demo_step("cameras")
def load_cameras(ctx: DemoContext) -> None:
    commander = ctx.users["commander"]
    grids = sorted(ctx.grids(), key=lambda g: g.code)
    worker = ctx.users.get("gridworker")
    first = worker.org_unit if worker is not None and worker.org_unit_id else grids[0]
    others = [g for g in grids if g.pk != first.pk]
    step = max(1, len(others) // max(1, CAMERAS - 1))
    chosen = [first, *others[::step][: CAMERAS - 1]]
    for grid, spot in zip(chosen, SPOTS, strict=False):
        point = shape(grid.boundary).representative_point()
        camera = video.camera_create(
            actor=commander,
            name=f"{grid.name}{spot}",
            place=f"{grid.name} · {spot}",
            lat=round(point.y, 6),
            lng=round(point.x, 6),
            kind=CameraKind.SNAPSHOT,
            stream_url="/",  # replaced by the camera's own demo picture once it has an id
        )
        video.camera_update(actor=commander, camera=camera, stream_url=video.demo_stream_url(camera.pk))
