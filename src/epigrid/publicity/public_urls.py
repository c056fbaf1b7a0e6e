from django.urls import path

from epigrid.publicity.views import public

app_name = "announcements"

urlpatterns = [
    path("announcements/", public.public_list, name="list"),
    path("ask/", public.ask, name="ask"),
]
