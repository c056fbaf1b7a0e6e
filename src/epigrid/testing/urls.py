from django.urls import path

from epigrid.testing import views

app_name = "testing"

urlpatterns: list = [
    path("station/", views.station, name="station"),
    path("handover/", views.handover, name="handover"),
    path("handover/<str:code>/", views.box_detail, name="box"),
    path("handover/<str:code>/sheet.pdf", views.box_sheet, name="box_sheet"),
    path("lab/", views.lab, name="lab"),
    path("archive/", views.archive, name="archive"),
    path("my-results/", views.my_results, name="my_results"),
]
