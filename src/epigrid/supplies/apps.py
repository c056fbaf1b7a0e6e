from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliesConfig(AppConfig):
    name = "epigrid.supplies"
    label = "supplies"
    verbose_name = _("Supplies")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.simulation import supplies_demo  # noqa: F401 - registers the demo step
        from epigrid.supplies import tasks  # noqa: F401 - registers the periodic shortage check
        from epigrid.supplies.models import HoldingPoint, Movement, ReorderRule, Stock, StockCount, Transfer

        for model in (HoldingPoint, Stock, Movement, ReorderRule, Transfer, StockCount):
            scope.register(model)
        from epigrid.supplies.handlers import HANDLERS

        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
