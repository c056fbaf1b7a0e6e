from django.urls import path

from epigrid.testing import views

app_name = "testing"

urlpatterns: list = [
    path("station/", views.station, name="station"),
    path("lab/", views.lab, name="lab"),
    path("archive/", views.archive, name="archive"),
    path("my-results/", views.my_results, name="my_results"),
]
