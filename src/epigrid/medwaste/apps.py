from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedwasteConfig(AppConfig):
    name = "epigrid.medwaste"
    label = "medwaste"
    verbose_name = _("Medical waste")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.medwaste import tasks  # noqa: F401 - registers the periodic alarm evaluation
        from epigrid.medwaste.models import Bag, CustodyRecord, Handover, Party, Trip, Vehicle, WasteAlarm

        for model in (Party, Vehicle, Bag, CustodyRecord, Handover, Trip, WasteAlarm):
            scope.register(model)
        from epigrid.medwaste.handlers import HANDLERS

        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
        from epigrid.simulation import medwaste_demo  # noqa: F401 - registers the demo step
