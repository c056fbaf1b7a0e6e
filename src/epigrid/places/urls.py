from django.urls import path

from epigrid.places import views

app_name = "places"

urlpatterns: list = [
    path("", views.venue_list, name="venue_list"),
    path("apply/", views.venue_apply, name="venue_apply"),
    path("posters/", views.community_posters, name="community_posters"),
    path("<int:pk>/", views.venue_detail, name="venue_detail"),
    path("<int:pk>/poster.pdf", views.venue_poster, name="venue_poster"),
    path("<int:pk>/approve/", views.venue_approve, name="venue_approve"),
    path("<int:pk>/reject/", views.venue_reject, name="venue_reject"),
    path("<int:pk>/reissue/", views.venue_reissue, name="venue_reissue"),
    path("<int:pk>/suspend/", views.venue_suspend, name="venue_suspend"),
    path("<int:pk>/edit/", views.venue_update, name="venue_update"),
]
