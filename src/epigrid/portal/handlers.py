"""Reactions to domain events, one handler per reaction, registered in ``apps.py`` from :data:`HANDLERS`.

The portal reacts to nothing yet: it reads the other apps' records when a resident opens a page."""

from __future__ import annotations

from collections.abc import Callable

from epigrid.core.models import Event

HANDLERS: dict[str, Callable[[Event], None]] = {}
