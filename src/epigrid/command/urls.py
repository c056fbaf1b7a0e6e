from django.urls import path

from epigrid.command.views import center

app_name = "command"

urlpatterns = [
    path("", center.center, name="center"),
]
