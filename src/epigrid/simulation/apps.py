from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulationConfig(AppConfig):
    name = "epigrid.simulation"
    label = "simulation"
    verbose_name = _("Synthetic data and simulation")

    def ready(self) -> None:
        # healthcode_demo imports steps first, so its step runs after the check-in history it builds on.
        from epigrid.simulation import healthcode_demo, steps  # noqa: F401 - register the demo steps
