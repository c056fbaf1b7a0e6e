from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComparisonConfig(AppConfig):
    name = "epigrid.comparison"
    label = "comparison"
    verbose_name = _("Information comparison")

    def ready(self) -> None:
        from epigrid.comparison import tasks  # noqa: F401 - registers the scheduled comparisons
        from epigrid.comparison.handlers import HANDLERS
        from epigrid.comparison.models import (
            Arrival,
            ComparisonHit,
            ComparisonRule,
            ComparisonRun,
            ListImport,
            ListRow,
            ListSource,
        )
        from epigrid.core import events, scope

        for model in (ListSource, ListImport, ListRow, ComparisonRule, ComparisonRun, ComparisonHit):
            scope.register(model)
        # A person's arrivals are theirs to see; staff see them by the person's area.
        scope.register(Arrival, person_field="person_id")
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
