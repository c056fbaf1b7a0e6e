from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "epigrid.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from epigrid.core import events, scope, stream, tasks  # noqa: F401 - tasks registers the periodic jobs
        from epigrid.core.models import AuditEntry, Event, Household, Notice, NoticeDelivery, OrgUnit, Person

        # Every scoped model of this app; other apps register theirs in their own ready().
        scope.register(OrgUnit, org_field="code")
        scope.register(Household, person_field="members__id")
        scope.register(Person, person_field="id")
        scope.register(AuditEntry)
        scope.register(Event)
        scope.register(Notice)
        scope.register(NoticeDelivery)
        # Notice channels besides the inbox (SMS, email) and their delivery tasks.
        from epigrid.core.channels import register_all

        register_all()
        # Committed events go to Redis for the other processes' event streams (when EPIGRID_REDIS_URL is set).
        events.add_listener(stream.push_to_redis)
