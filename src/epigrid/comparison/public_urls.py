from django.urls import path

from epigrid.comparison.views import arrive

app_name = "arrive"

# The arrival self-report (来返报备): for anyone arriving in the district, no account needed.
urlpatterns: list = [
    path("arrive/", arrive.arrival_report, name="report"),
    path("arrive/done/<str:ref>/", arrive.arrival_done, name="done"),
]
