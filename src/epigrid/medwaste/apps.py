from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedwasteConfig(AppConfig):
    name = "epigrid.medwaste"
    label = "medwaste"
    verbose_name = _("Medical waste")

    def ready(self) -> None:
        from epigrid.core import scope
        from epigrid.medwaste import tasks  # noqa: F401 - registers the periodic alarm evaluation
        from epigrid.medwaste.models import Bag, CustodyRecord, Handover, Party, Trip, Vehicle, WasteAlarm

        for model in (Party, Vehicle, Bag, CustodyRecord, Handover, Trip, WasteAlarm):
            scope.register(model)
