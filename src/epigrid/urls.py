from django.contrib import admin
from django.urls import include, path

from epigrid.api import api
from epigrid.core import views as core_views
from epigrid.core.streamhttp import events_stream

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    # The event stream: served natively by epigrid.asgi; this view answers it under a plain WSGI server.
    path("api/v1/events/stream", events_stream, name="events_stream"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("venues/", include("epigrid.places.urls")),
    path("checkins/", include("epigrid.checkins.urls")),
    path("health-code/", include("epigrid.healthcode.urls")),
    path("testing/", include("epigrid.testing.urls")),
    path("investigation/", include("epigrid.investigation.urls")),
    path("quarantine/", include("epigrid.quarantine.urls")),
    path("grid/", include("epigrid.grids.urls")),
    path("command/", include("epigrid.command.urls")),
    path("vaccination/", include("epigrid.vaccination.urls")),
    path("comparison/", include("epigrid.comparison.urls")),
    path("supplies/", include("epigrid.supplies.urls")),
    path("waste/", include("epigrid.medwaste.urls")),
    path("publicity/", include("epigrid.publicity.urls")),
    path("portal/", include("epigrid.portal.urls")),
    # public announcements, their feed and the policy search: /announcements/, /ask/
    path("", include("epigrid.publicity.public_urls")),
    # venue QR codes and visitor invitations point here: /s/<token>, /v/<token>
    path("", include("epigrid.checkins.scan_urls")),
    # the report link of a person in quarantine: /q/<token>
    path("", include("epigrid.quarantine.public_urls")),
    # the arrival self-report for people coming to the district: /arrive/
    path("", include("epigrid.comparison.public_urls")),
    path("", include("epigrid.core.urls")),
]
