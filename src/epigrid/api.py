"""The JSON API under /api/v1/: one NinjaAPI, one router per app, errors as {"detail": str}."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from epigrid.checkins.api import router as checkins_router
from epigrid.command.api import router as command_router
from epigrid.core.api import router as core_router
from epigrid.core.apiauth import BearerOrSession
from epigrid.core.errors import DomainError
from epigrid.grids.api import router as grids_router
from epigrid.healthcode.api import router as healthcode_router
from epigrid.investigation.api import router as investigation_router
from epigrid.medwaste.api import router as medwaste_router
from epigrid.places.api import router as places_router
from epigrid.publicity.api import router as publicity_router
from epigrid.publicity.search_api import router as policy_search_router
from epigrid.quarantine.api import router as quarantine_router
from epigrid.supplies.api import router as supplies_router
from epigrid.testing.api import router as testing_router
from epigrid.testing.ocr_api import router as ocr_router
from epigrid.vaccination.api import router as vaccination_router
from epigrid.vaccination.fhir_api import router as vaccination_fhir_router

api = NinjaAPI(
    title="EpiGrid API",
    version="1",
    description="Epidemic prevention and control for a city district (防、控、管、治).",
    auth=BearerOrSession(),
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    body = {"detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    if getattr(exc, "reason", None):
        body["reason"] = exc.reason  # signed codes: garbled, forged, revoked, expired_key...
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "Authentication required."}, status=401)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Say which field is wrong and why in one line, keeping the full list for programs.
    parts = []
    for err in exc.errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "payload"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else err.get("msg", "invalid"))
    return api.create_response(
        request, {"detail": "; ".join(parts) or "Invalid request.", "errors": exc.errors}, status=422
    )


api.add_router("/", core_router)
api.add_router("/", places_router)
api.add_router("/", checkins_router)
api.add_router("/", healthcode_router)
api.add_router("/", testing_router)
api.add_router("/", ocr_router)
api.add_router("/", investigation_router)
api.add_router("/", quarantine_router)
api.add_router("/", grids_router)
api.add_router("/", command_router)
api.add_router("/", vaccination_fhir_router)
api.add_router("/", vaccination_router)
api.add_router("/", supplies_router)
api.add_router("/", medwaste_router)
api.add_router("/", publicity_router)
api.add_router("/", policy_search_router)
