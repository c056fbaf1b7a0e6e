from django.urls import path

from epigrid.quarantine import views

app_name = "quarantine"

urlpatterns: list = [
    path("", views.dashboard, name="dashboard"),
    path("sites/", views.site_list, name="site_list"),
    path("sites/new/", views.site_create, name="site_create"),
    path("sites/<int:pk>/", views.site_detail, name="site_detail"),
    path("sites/<int:pk>/rooms/", views.rooms_add, name="rooms_add"),
    path("rooms/<int:pk>/status/", views.room_status, name="room_status"),
    path("lists/", views.line_lists, name="line_lists"),
    path("place/", views.place, name="place"),
    path("place/people/", views.person_options, name="person_options"),
    path("place/one/", views.place_one, name="place_one"),
    path("place/case/", views.place_case, name="place_case"),
    path("placements/<int:pk>/", views.placement_detail, name="placement_detail"),
    path("placements/<int:pk>/report/", views.report_add, name="report_add"),
    path("placements/<int:pk>/seal/", views.seal_add, name="seal_add"),
    path("placements/<int:pk>/seals/<int:seal_pk>/photo.jpg", views.seal_photo, name="seal_photo"),
    path("placements/<int:pk>/visit/", views.visit_add, name="visit_add"),
    path("placements/<int:pk>/transfer/", views.transfer, name="transfer"),
    path("placements/<int:pk>/home/", views.move_home, name="move_home"),
    path("placements/<int:pk>/release/", views.release, name="release"),
    path("placements/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("placements/<int:pk>/certificate.pdf", views.certificate_pdf, name="certificate"),
]
