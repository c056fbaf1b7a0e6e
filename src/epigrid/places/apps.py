from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "epigrid.places"
    label = "places"
    verbose_name = _("Venues and sentinel places")

    def ready(self) -> None:
        from epigrid.core import scope
        from epigrid.places.models import Venue

        scope.register(Venue)
