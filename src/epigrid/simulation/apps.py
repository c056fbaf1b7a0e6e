from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulationConfig(AppConfig):
    name = "epigrid.simulation"
    label = "simulation"
    verbose_name = _("Synthetic data and simulation")

    def ready(self) -> None:
        # Each demo module imports the one it builds on first, so the steps run in order:
        # venues and check-ins (steps), then the health code, then testing, then the investigation, then the
        # command center's demo cameras, then vaccination (sites, history, bookings), then comparison (lists of
        # arrivals, tests and screenings since, saved rules).
        from epigrid.simulation import (  # noqa: F401 - register the demo steps
            command_demo,
            comparison_demo,
            healthcode_demo,
            investigation_demo,
            steps,
            testing_demo,
            vaccination_demo,
        )
