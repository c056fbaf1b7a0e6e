"""Collection trips and their transfer manifests (``waste.view`` in scope, or ``waste.handle`` for the trips
of one's own parties: the company's drivers, the plant)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from epigrid.core.htmx import paginate, render_page, staff_page
from epigrid.core.roles import Perm
from epigrid.medwaste import selectors
from epigrid.medwaste.manifest import manifest_pdf, manifest_rows

READERS = (Perm.WASTE_VIEW, Perm.WASTE_HANDLE)


@never_cache
@staff_page(any_of=READERS)
@require_GET
def trip_list(request: HttpRequest) -> HttpResponse:
    trips = selectors.trip_list(actor=request.user)
    status = request.GET.get("status", "")
    if status:
        trips = trips.filter(status=status)
    return render_page(request, "medwaste/trips.html", {"page": paginate(request, trips), "status": status})


@never_cache
@staff_page(any_of=READERS)
@require_GET
def trip_detail(request: HttpRequest, pk: int) -> HttpResponse:
    trip = selectors.trip_get(actor=request.user, pk=pk)
    return render_page(request, "medwaste/trip.html", {"trip": trip, "manifest": manifest_rows(trip)})


@never_cache
@staff_page(any_of=READERS)
@require_GET
def trip_manifest(request: HttpRequest, pk: int) -> HttpResponse:
    trip = selectors.trip_get(actor=request.user, pk=pk)
    response = HttpResponse(manifest_pdf(trip), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="manifest-{trip.number}.pdf"'
    return response
