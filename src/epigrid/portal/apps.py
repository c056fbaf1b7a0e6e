from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "epigrid.portal"
    label = "portal"
    verbose_name = _("Resident portal")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.portal import tasks  # noqa: F401 - registers the clean-up of used login codes
        from epigrid.portal.handlers import HANDLERS
        from epigrid.portal.models import CorrectionRequest

        scope.register(CorrectionRequest, person_field="person_id")
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
