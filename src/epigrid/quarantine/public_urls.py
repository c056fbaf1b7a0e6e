"""The resident's report link, mounted at the site root: ``/q/<token>`` (short, for a text message or a QR)."""

from django.urls import path

from epigrid.quarantine import views

app_name = "qreport"

urlpatterns = [path("q/<str:token>", views.report_page, name="report")]
