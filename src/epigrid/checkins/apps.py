from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CheckinsConfig(AppConfig):
    name = "epigrid.checkins"
    label = "checkins"
    verbose_name = _("Scan check-in and visitors")

    def ready(self) -> None:
        from epigrid.checkins import tasks  # noqa: F401 - registers the retention purge
        from epigrid.checkins.models import CheckIn, Kiosk, VisitorRegistration
        from epigrid.core import scope

        scope.register(CheckIn, person_field="person_id")
        scope.register(VisitorRegistration, person_field="visitor_id")
        scope.register(Kiosk)
