from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "epigrid.grids"
    label = "grids"
    verbose_name = _("Grid management")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.grids import tasks  # noqa: F401 - registers escalation and patrols
        from epigrid.grids.handlers import HANDLERS
        from epigrid.grids.models import (
            Emergency,
            GridAssignment,
            PatrolRoute,
            SentinelPoint,
            Task,
            TaskUpdate,
        )

        for model in (GridAssignment, SentinelPoint, Task, TaskUpdate, PatrolRoute, Emergency):
            scope.register(model)
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
