"""What the portal's resident pages share: residents only (staff get a 404, as on the other resident pages)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from epigrid.core.roles import is_staff_role


def resident_page(view: Callable) -> Callable:
    """Signed in with a resident account; staff accounts get a 404 (their pages are elsewhere)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_staff_role(request.user.role):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped
