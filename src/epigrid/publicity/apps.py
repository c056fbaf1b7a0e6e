from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicityConfig(AppConfig):
    name = "epigrid.publicity"
    label = "publicity"
    verbose_name = _("Announcements")

    def ready(self) -> None:
        from epigrid.core import events, scope
        from epigrid.publicity import tasks  # noqa: F401 - registers the scheduled publishing
        from epigrid.publicity.handlers import HANDLERS
        from epigrid.publicity.models import Announcement, Faq, HotlineTicket
        from epigrid.simulation import publicity_demo  # noqa: F401 - registers the demo step

        # Staff see what their unit wrote (the public pages have their own selector of what is published).
        for model in (Announcement, Faq):
            scope.register(model)
        scope.register(HotlineTicket, person_field="person_id")
        for event_type, handler in HANDLERS.items():
            events.subscribe(event_type, handler)
        from epigrid.publicity.consult_handlers import HANDLERS as CONSULT_HANDLERS  # the policy search
        from epigrid.simulation import faq_demo  # noqa: F401 - its demo step (imports the announcements' first)

        for event_type, handler in CONSULT_HANDLERS.items():
            events.subscribe(event_type, handler)
