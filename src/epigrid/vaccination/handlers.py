"""Reactions of vaccination to other modules' events: none yet. Others react to vaccination's events
(``vaccination.dose``: the health code's dose count; ``vaccination.aefi``: command-center alarms)."""

from __future__ import annotations

from collections.abc import Callable

from epigrid.core.models import Event

HANDLERS: dict[str, Callable[[Event], None]] = {}
