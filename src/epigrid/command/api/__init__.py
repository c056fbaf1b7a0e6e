"""The command center's JSON API: alarms and instructions, the map and situation, cameras and consultations."""

from __future__ import annotations

from ninja import Router

from epigrid.command.api import alarms, overview, video

router = Router(tags=["command"])
router.add_router("", alarms.router)
router.add_router("", overview.router)
router.add_router("", video.router)
