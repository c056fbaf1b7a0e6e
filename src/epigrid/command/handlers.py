"""Reactions of the command center to the other apps' events (registered in ``CommandConfig.ready``):
every alarm-class event (``command.alarmtypes``) raises an alarm on the map."""

from __future__ import annotations

from collections.abc import Callable

from epigrid.command.alarmtypes import ALARM_TYPES
from epigrid.command.services.alarms import alarm_raise_from_event
from epigrid.core.models import Event


def raise_alarm(event: Event) -> None:
    alarm_raise_from_event(event=event)


HANDLERS: dict[str, Callable[[Event], None]] = {event_type: raise_alarm for event_type in ALARM_TYPES}
