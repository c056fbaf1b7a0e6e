"""Template context for the header's inbox badge (registered in ``settings.TEMPLATES``).

Cheap by construction: nothing for anonymous visitors, and for accounts one COUNT over the (user, read_at)
index, run only when a template actually shows the badge (HTMX partials that never render the header never
pay for it)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from epigrid.core.notices import unread_count


def unread_notices(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    return {"unread_notice_count": SimpleLazyObject(lambda: unread_count(user=user))}
