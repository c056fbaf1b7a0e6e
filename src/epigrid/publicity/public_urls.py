from django.urls import path

from epigrid.publicity.views import ask, public

app_name = "announcements"

urlpatterns = [
    path("announcements/", public.public_list, name="list"),
    path("announcements/<int:pk>/", public.public_detail, name="detail"),
    path("announcements/files/<int:pk>", public.public_file, name="file"),
    path("announcements/feed.atom", public.feed, name="feed"),
    path("ask/", ask.ask, name="ask"),
    path("ask/hotline/", ask.ask_hotline, name="ask_hotline"),
    path("ask/questions/<int:pk>/", ask.ticket_detail, name="ticket"),
    path("ask/questions/<int:pk>/close/", ask.ticket_close, name="ticket_close"),
]
