"""Staff and operator pages of check-in: occupancy, venue scanners, visitor registration."""

from django.urls import path

from epigrid.checkins.views import staff

app_name = "checkins"

urlpatterns: list = [
    path("occupancy/", staff.occupancy, name="occupancy"),
    path("venues/<int:pk>/scanners/", staff.kiosk_create, name="kiosk_create"),
    path("venues/<int:pk>/scanners/<int:kiosk_pk>/off/", staff.kiosk_deactivate, name="kiosk_deactivate"),
    path("visits/", staff.visit_list, name="visit_list"),
    path("visits/new/", staff.visit_new, name="visit_new"),
    path("visits/walk-in/", staff.visit_walk_in, name="visit_walk_in"),
    path("visits/<int:pk>/", staff.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/arrive/", staff.visit_arrive, name="visit_arrive"),
    path("visits/<int:pk>/leave/", staff.visit_leave, name="visit_leave"),
]
