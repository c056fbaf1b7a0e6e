"""Keeping the policy search current: an announcement's passages are rewritten whenever what the public may
read of it changes (registered in ``apps.py`` from :data:`HANDLERS`, beside the announcements' own handlers).

Approval builds them (even for a later publication time: the search checks the time per query), going
public rebuilds them (idempotent), an edit or a withdrawal that takes it off the public pages removes them.
Expiry needs no event: the search never answers from an expired announcement.
"""

from __future__ import annotations

from collections.abc import Callable

from epigrid.core.models import Event


def rebuild_passages(event: Event) -> None:
    from epigrid.publicity.models import Announcement
    from epigrid.publicity.search import passages_rebuild_for

    pk = event.payload.get("announcement_id")
    if pk is None:
        return
    # A deleted announcement still has its pk: the rebuild then just removes what is left of its passages.
    announcement = Announcement.objects.filter(pk=pk).first() or Announcement(pk=pk)
    passages_rebuild_for(announcement)


# The announcements' events (services.announcements): an edit of an approved announcement or its withdrawal
# is "announcement.unpublished" (with the reason); expiry has no event.
HANDLERS: dict[str, Callable[[Event], None]] = {
    "announcement.approved": rebuild_passages,
    "announcement.published": rebuild_passages,
    "announcement.unpublished": rebuild_passages,
}
