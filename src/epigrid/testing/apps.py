from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TestingConfig(AppConfig):
    name = "epigrid.testing"
    label = "testing"
    verbose_name = _("Nucleic-acid testing")

    def ready(self) -> None:
        from epigrid.core import scope
        from epigrid.testing.models import Box, Recall, SamplingPoint, Specimen, TestingRound, Tube

        for model in (SamplingPoint, TestingRound, Tube, Box):
            scope.register(model)
        scope.register(Specimen, person_field="person_id")
        scope.register(Recall, person_field="person_id")
