from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaccinationConfig(AppConfig):
    name = "epigrid.vaccination"
    label = "vaccination"
    verbose_name = _("Vaccination")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.vaccination import tasks  # noqa: F401 - registers the booking reminders
        from epigrid.vaccination.handlers import HANDLERS
        from epigrid.vaccination.models import (
            AdverseEvent,
            Booking,
            Dose,
            SelfReport,
            Slot,
            VaccinationSite,
            VaccinationStatus,
        )

        for model in (VaccinationSite, Slot):
            scope.register(model)
        # A person's vaccination records are theirs to see; staff see them by the person's area.
        for model in (Booking, Dose, SelfReport, AdverseEvent, VaccinationStatus):
            scope.register(model, person_field="person_id")
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
