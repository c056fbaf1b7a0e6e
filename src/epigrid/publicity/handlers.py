"""Reactions to domain events, one handler per reaction, registered in ``apps.py`` from :data:`HANDLERS`."""

from __future__ import annotations

from collections.abc import Callable

from epigrid.core.models import Event


def push_announcement(event: Event) -> None:
    """An announcement went public: when its editor asked for it, its audience's residents get an inbox
    notice (the service checks that it is still public and skips accounts that already have it)."""
    from epigrid.publicity.models import Announcement
    from epigrid.publicity.services.announcements import announcement_push

    if not event.payload.get("push"):
        return
    announcement = Announcement.objects.filter(pk=event.payload.get("announcement_id")).first()
    if announcement is not None:
        announcement_push(announcement=announcement)


HANDLERS: dict[str, Callable[[Event], None]] = {
    "announcement.published": push_announcement,
}
