from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "epigrid.quarantine"
    label = "quarantine"
    verbose_name = _("Quarantine monitoring")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.quarantine import tasks  # noqa: F401 - registers the daily jobs
        from epigrid.quarantine.handlers import HANDLERS
        from epigrid.quarantine.models import (
            DoorSeal,
            HealthReport,
            Placement,
            Room,
            ScheduledTest,
            Site,
            Visit,
        )

        for model in (Site, Room):
            scope.register(model)
        # A person's quarantine records are theirs to see; staff see them by the person's area.
        for model in (Placement, ScheduledTest, HealthReport, DoorSeal, Visit):
            scope.register(model, person_field="person_id" if model is Placement else "placement__person_id")
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
