from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from epigrid.core.roles import ROLE_SPECS


def epigrid(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    spec = ROLE_SPECS.get(getattr(user, "role", "")) if getattr(user, "is_authenticated", False) else None
    return {
        "demo_mode": not settings.PRODUCTION,
        "nav_items": spec.nav if spec else (),
        "role_label": spec.role.label if spec else "",
    }
