from django.urls import path

from epigrid.medwaste.views import alarms, app, bags, ledger, monthly, oversight, parties, trips

app_name = "medwaste"

urlpatterns = [
    path("", app.waste_app, name="app"),
    path("scan/", app.scan, name="scan"),
    path("handovers/<str:code>/", app.handover_detail, name="handover"),
    path("bags/<int:pk>/", bags.bag_detail, name="bag"),
    path("bags/<int:pk>/label/", bags.label_page, name="label"),
    path("l/<str:token>/", bags.label_scan, name="label_scan"),
    path("open/", oversight.open_bags, name="open_bags"),
    path("alarms/", alarms.alarm_list, name="alarms"),
    path("ledger/", ledger.ledger_view, name="ledger"),
    path("monthly/", monthly.monthly_totals, name="monthly"),
    path("trips/", trips.trip_list, name="trips"),
    path("trips/<int:pk>/", trips.trip_detail, name="trip"),
    path("trips/<int:pk>/manifest.pdf", trips.trip_manifest, name="trip_manifest"),
    path("parties/", parties.party_list, name="parties"),
    path("parties/<int:pk>/", parties.party_detail, name="party"),
]
