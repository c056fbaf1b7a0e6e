"""The command center's map and situation panel as JSON (``command.view``; errors are ``{"detail"}``)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from epigrid.command.selectors.layers import map_layers, parse_layers
from epigrid.command.selectors.situation import situation as situation_read
from epigrid.core.schemas import ErrorOut

router = Router(tags=["command"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}


@router.get("command/map", response={200: dict, **ERRORS})
def command_map(request: HttpRequest, layers: str = "", measure: str = "cases", boundaries: bool = True):
    """The map's layers in the caller's scope. ``layers``: comma-separated names among ``grids``, ``venues``,
    ``sampling_points``, ``quarantine_sites``, ``vaccination_sites``, ``waste_points``, ``cameras``,
    ``alarms`` (empty: all). ``measure`` colours the grids: ``cases``, ``contacts``, ``quarantined``,
    ``untested``, ``tasks_open``, ``tasks_overdue``. ``boundaries=false`` leaves the grid shapes out (a
    refresh of the numbers). Cases are counts per grid; no person's location is ever sent."""
    return map_layers(actor=request.user, layers=parse_layers(layers), measure=measure, boundaries=boundaries)


@router.get("command/situation", response={200: dict, **ERRORS})
def command_situation(request: HttpRequest):
    """Today against yesterday (local days) for the caller's area: check-ins, swabs, results, positive
    tubes, new cases, contacts traced and placed, people in quarantine, vaccination doses given, open and
    overdue tasks, open alarms; the epicurve (null without ``case.view``), testing
    turnaround and the response level."""
    return situation_read(actor=request.user)
