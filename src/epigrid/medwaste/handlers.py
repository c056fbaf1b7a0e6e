"""Reactions to domain events, one handler per reaction, registered in ``apps.py`` from :data:`HANDLERS`."""

from __future__ import annotations

from collections.abc import Callable

from epigrid.core.models import Event


def evaluate_moved_bags(event: Event) -> None:
    """Real-time alarms: a handover or a burn re-evaluates just the bags it moved (and their parties), so a
    weight that changed, a step that is missing or a bag that left storage shows at once, not at the next
    periodic evaluation."""
    from epigrid.medwaste.services.alarms import realtime_is_paused, waste_alarms_evaluate

    if realtime_is_paused():  # history being loaded: one full evaluation follows
        return
    bag_ids = [int(pk) for pk in event.payload.get("bag_ids") or []]
    if bag_ids:
        waste_alarms_evaluate(bag_ids=bag_ids)


HANDLERS: dict[str, Callable[[Event], None]] = {
    "waste.handover_accepted": evaluate_moved_bags,
    "waste.bags_incinerated": evaluate_moved_bags,
}
