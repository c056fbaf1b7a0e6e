"""The command center page: one full-screen map with switchable layers, the situation panel, live alarms
and instructions to grids. The page carries the situation as rendered numbers (it is useful before any
script runs); ``static/command/center.js`` draws the map from ``/api/v1/command/map`` and keeps everything
current from the event stream."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from epigrid.command.selectors.layers import LAYERS, MEASURES, NOT_BUILT
from epigrid.command.selectors.situation import COUNTERS, situation
from epigrid.command.services.video import consultations_enabled
from epigrid.core.htmx import render_page, staff_page
from epigrid.core.roles import Perm, has_perm
from epigrid.grids.models import TaskState

LAYER_LABELS = {
    "grids": _("Grids"),
    "venues": _("Venues and key places"),
    "sampling_points": _("Sampling points"),
    "quarantine_sites": _("Quarantine sites"),
    "vaccination_sites": _("Vaccination sites"),
    "waste_points": _("Medical-waste points"),
    "cameras": _("Cameras"),
    "alarms": _("Alarms"),
}
DEFAULT_LAYERS = ("grids", "venues", "quarantine_sites", "alarms")
MEASURE_LABELS = {
    "cases": _("Open cases"),
    "contacts": _("Active contacts"),
    "quarantined": _("In quarantine"),
    "untested": _("Untested in today's round"),
    "tasks_open": _("Open tasks"),
    "tasks_overdue": _("Overdue tasks"),
}
COUNTER_LABELS = {
    "checkins": _("Check-ins"),
    "sampled": _("People sampled"),
    "resulted": _("Tubes resulted"),
    "positive": _("Positive tubes"),
    "new_cases": _("New cases"),
    "contacts_traced": _("Contacts traced"),
    "contacts_placed": _("Contacts placed in quarantine"),
    "in_quarantine": _("In quarantine"),
    "vaccination_doses": _("Vaccination doses"),
    "tasks_open": _("Open tasks"),
    "tasks_overdue": _("Overdue tasks"),
    "alarms_open": _("Open alarms"),
}
# Words the script puts on the page (popups, buttons, states), in the reader's language.
SCRIPT_LABELS = {
    "present": _("Present now"),
    "capacity": _("Capacity"),
    "over_capacity": _("Over capacity"),
    "key_place": _("Key place"),
    "queue": _("Sampled in the last hour"),
    "open_tubes": _("Tubes open now"),
    "free_rooms": _("Free rooms"),
    "doses_today": _("Doses given today"),
    "booked_today": _("Booked today"),
    "places_today": _("Places today"),
    "rooms": _("Rooms"),
    "waste_open_bags": _("Bags waiting"),
    "waste_oldest_hours": _("Oldest bag (hours since labelling)"),
    "waste_alarms": _("Waste alarms being handled"),
    "people": _("People"),
    "watch": _("Watch"),
    "open_record": _("Open the record"),
    "acknowledge": _("Acknowledge"),
    "assign": _("Assign"),
    "close": _("Close"),
    "note": _("Note"),
    "choose_assignee": _("Choose who handles it"),
    "status_open": _("Open"),
    "status_acknowledged": _("Acknowledged"),
    "status_assigned": _("Assigned"),
    "status_closed": _("Closed"),
    "severity_info": _("Information"),
    "severity_warning": _("Warning"),
    "severity_critical": _("Critical"),
    "no_alarms": _("No open alarms."),
    "no_instructions": _("No instructions sent yet."),
    "selected": _("Selected"),
    "done": _("Done"),
    "accepted": _("Accepted"),
    "grids": _("grids"),
    "sent": _("Instruction sent."),
    "failed": _("The request failed."),
    "choose_grids": _("Click grids on the map to choose where the instruction goes."),
    "write_text": _("Write the instruction."),
    "not_in_round": _("Not in today's testing round"),
    "live": _("Live"),
    "reconnecting": _("Reconnecting…"),
    "no_curve": _("The epidemic curve needs the right to see cases."),
    "confirmed": _("Confirmed"),
    "asymptomatic": _("Asymptomatic"),
    "today": _("Today"),
    "yesterday": _("Yesterday"),
    "hours": _("hours"),
    "unassigned": _("Unassigned"),
    "changed_meanwhile": _("Someone else changed this alarm meanwhile; it now shows their change."),
    "consult": _("Video consultation"),
}
TASK_STATE_LABELS = {state.value: state.label for state in TaskState if state != TaskState.CANCELLED}


@require_GET
@staff_page(Perm.COMMAND_VIEW)
def center(request: HttpRequest) -> HttpResponse:
    user = request.user
    current = situation(actor=user)
    can_dispatch = has_perm(user, Perm.TASK_DISPATCH)
    can_handle = has_perm(user, Perm.ALARM_HANDLE)
    config = {
        "center": list(settings.MAP_CENTER),
        "tileUrl": getattr(settings, "MAP_TILE_URL", ""),
        "tileAttribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
        "api": {
            "map": "/api/v1/command/map",
            "situation": "/api/v1/command/situation",
            "alarms": "/api/v1/alarms",
            "instructions": "/api/v1/instructions",
            "stream": "/api/v1/events/stream",
        },
        "layers": list(LAYERS),
        "defaultLayers": list(DEFAULT_LAYERS),
        "notBuilt": list(NOT_BUILT),
        "measures": list(MEASURES),
        "canDispatch": can_dispatch,
        "canHandleAlarms": can_handle,
        # One click from an alarm to a video consultation about it (when a meeting server is configured).
        "consultationUrl": reverse("command:consultation_new")
        if can_handle and consultations_enabled()
        else "",
        "labels": {**SCRIPT_LABELS, **{f"measure_{k}": v for k, v in MEASURE_LABELS.items()}},
        "taskStates": TASK_STATE_LABELS,
        "situationMinSeconds": 5,
    }
    counters = [{"key": key, "label": COUNTER_LABELS[key], **current["counters"][key]} for key in COUNTERS]
    return render_page(
        request,
        "command/center.html",
        {
            "situation": current,
            "counters": counters,
            "layer_options": [
                {
                    "name": name,
                    "label": LAYER_LABELS[name],
                    "checked": name in DEFAULT_LAYERS,
                    "available": name not in NOT_BUILT,
                }
                for name in LAYERS
            ],
            "measure_options": [(name, MEASURE_LABELS[name]) for name in MEASURES],
            "map_config": config,
            "can_dispatch": can_dispatch,
            "can_handle": can_handle,
            "consultations_on": can_handle and consultations_enabled(),
            "response_level": current["response_level"],
        },
    )
