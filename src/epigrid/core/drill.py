"""Drill mode: an instance serving a copy of the data for an exercise (``epigrid drill``, ``EPIGRID_DRILL=1``).

A drill must never be mistaken for the real thing, so with ``settings.DRILL`` on it is labelled everywhere:

- every page shows a 演练 / DRILL banner and the tab title says so (``drill_context``, read by ``base.html``);
- every PDF page carries a DRILL mark (the hook at the end of ``core.pdf``);
- every downloaded file (CSV, Excel, PDF) has ``DRILL-`` in front of its name (:class:`DrillFileNames`);
- every domain event carries ``"drill": true`` in its payload (``core.events.publish``).

The data side (copying the database, replaying an outbreak into the copy) is ``epigrid.simulation.drill``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FILE_PREFIX = "DRILL-"
_FILENAME = re.compile(r"""(filename\*?=(?:UTF-8'[^']*')?"?)([^";]+)""", re.IGNORECASE)


def drill_context(request: HttpRequest) -> dict:
    """``drill_mode`` for the banner in ``base.html``."""
    return {"drill_mode": bool(settings.DRILL)}


def drill_filename(name: str) -> str:
    """``name`` as a drill instance hands it out: ``DRILL-`` in front (once)."""
    return name if name.startswith(FILE_PREFIX) else FILE_PREFIX + name


def mark_disposition(value: str) -> str:
    """A ``Content-Disposition`` header with every file name given the drill prefix."""
    return _FILENAME.sub(lambda m: m.group(1) + drill_filename(m.group(2)), value)


class DrillFileNames:
    """Middleware: on a drill instance, every attachment's file name starts with ``DRILL-``, so that an export
    of drill data saved to a desk never passes for a real one. Costs one attribute check otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DRILL and response.has_header("Content-Disposition"):
            response["Content-Disposition"] = mark_disposition(response["Content-Disposition"])
        return response
