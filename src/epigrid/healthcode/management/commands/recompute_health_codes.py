"""``epigrid manage recompute_health_codes``: recompute every colour now (after a policy change)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from epigrid.healthcode import engine


class Command(BaseCommand):
    help = "Recompute every person's health-code colour under the rule set in force."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        result = engine.recompute()
        elapsed = time.perf_counter() - started
        colours = ", ".join(f"{k} {v}" for k, v in (result.by_colour or {}).items())
        self.stdout.write(
            f"evaluated {result.evaluated}, changed {result.changed} ({colours}) in {elapsed:.2f} s"
        )
