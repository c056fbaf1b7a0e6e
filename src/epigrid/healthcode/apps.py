from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthcodeConfig(AppConfig):
    name = "epigrid.healthcode"
    label = "healthcode"
    verbose_name = _("Health code")

    def ready(self) -> None:
        from epigrid.core import events, health, scope
        from epigrid.healthcode import handlers, selectors, services, tasks  # noqa: F401 - tasks registers periodic jobs
        from epigrid.healthcode.models import (
            Appeal,
            HealthCode,
            HealthCodeChange,
            Override,
            PersonFacts,
            RiskArea,
            TravelDeclaration,
        )

        for model in (HealthCode, HealthCodeChange, Override, Appeal, PersonFacts, TravelDeclaration):
            scope.register(model, person_field="person_id")
        scope.register(RiskArea)
        health.set_colour_lookup(selectors.colours_lookup)
        health.set_checkin_hook(services.note_checkin)
        for event_type, handler in handlers.HANDLERS.items():
            events.subscribe(event_type, handler)
