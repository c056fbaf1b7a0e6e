"""Reactions of the command center to the other apps' events (registered in ``CommandConfig.ready``)."""

from __future__ import annotations

from collections.abc import Callable

from epigrid.core.models import Event

HANDLERS: dict[str, Callable[[Event], None]] = {}
