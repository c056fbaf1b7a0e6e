"""Public URLs of the scan pages, mounted at the site root: what venue QR codes and invitations point to."""

from django.urls import path

from epigrid.checkins.views import scan

app_name = "scan"

urlpatterns = [
    path("s/done/<str:signed>", scan.done, name="done"),
    path("s/<str:token>", scan.scan, name="scan"),
    path("s/<str:token>/register", scan.register, name="register"),
    path("s/<str:token>/checkin", scan.quick_checkin, name="checkin"),
    path("s/<str:token>/family", scan.add_family_member, name="family"),
    path("s/<str:token>/forget", scan.forget_phone, name="forget"),
    path("v/<str:invite_token>", scan.visitor_invite, name="visitor_invite"),
]
