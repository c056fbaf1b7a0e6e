from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvestigationConfig(AppConfig):
    name = "epigrid.investigation"
    label = "investigation"
    verbose_name = _("Epidemiological investigation")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.investigation.handlers import HANDLERS
        from epigrid.investigation.models import Case, CaseLink, Contact, TrajectoryEntry

        for model in (Case, TrajectoryEntry, CaseLink):
            scope.register(model)
        # A contact is seen by the staff of the contact's own area (their grid works them) and by the person.
        scope.register(Contact, person_field="person_id")
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
