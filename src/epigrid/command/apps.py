from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommandConfig(AppConfig):
    name = "epigrid.command"
    label = "command"
    verbose_name = _("Command center")

    def ready(self) -> None:
        from epigrid.command.handlers import HANDLERS
        from epigrid.command.models import Alarm, AlarmUpdate, Camera, Consultation, Instruction
        from epigrid.core import events, scope

        for model in (Alarm, AlarmUpdate, Camera, Consultation, Instruction):
            scope.register(model)
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
