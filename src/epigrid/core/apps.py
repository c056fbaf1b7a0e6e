from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "epigrid.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from epigrid.core import scope, tasks  # noqa: F401 - tasks registers the periodic jobs
        from epigrid.core.models import AuditEntry, Event, Household, Notice, OrgUnit, Person

        # Every scoped model of this app; other apps register theirs in their own ready().
        scope.register(OrgUnit, org_field="code")
        scope.register(Household, person_field="members__id")
        scope.register(Person, person_field="id")
        scope.register(AuditEntry)
        scope.register(Event)
        scope.register(Notice)
