from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulationConfig(AppConfig):
    name = "epigrid.simulation"
    label = "simulation"
    verbose_name = _("Synthetic data and simulation")

    def ready(self) -> None:
        from epigrid.simulation import steps  # noqa: F401 - registers the venue and check-in demo steps
