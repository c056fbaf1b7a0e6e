"""The command center page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from epigrid.core.htmx import render_page, staff_page
from epigrid.core.roles import Perm


@require_GET
@staff_page(Perm.COMMAND_VIEW)
def center(request: HttpRequest) -> HttpResponse:
    return render_page(request, "command/center.html", {})
