from django.urls import path

from epigrid.medwaste.views import alarms, app, ledger, monthly, oversight, parties, trips

app_name = "medwaste"

urlpatterns = [
    path("", app.waste_app, name="app"),
    path("open/", oversight.open_bags, name="open_bags"),
    path("alarms/", alarms.alarm_list, name="alarms"),
    path("ledger/", ledger.ledger_view, name="ledger"),
    path("monthly/", monthly.monthly_totals, name="monthly"),
    path("trips/", trips.trip_list, name="trips"),
    path("parties/", parties.party_list, name="parties"),
]
