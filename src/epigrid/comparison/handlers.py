"""Reactions of comparison to other modules' events."""

from __future__ import annotations

from collections.abc import Callable

from epigrid.core.models import Event

HANDLERS: dict[str, Callable[[Event], None]] = {}
