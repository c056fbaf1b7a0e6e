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
    path("open/export/", oversight.open_bags_export, name="open_bags_export"),
    path("alarms/", alarms.alarm_list, name="alarms"),
    path("alarms/export/", alarms.alarms_export, name="alarms_export"),
    path("alarms/<int:pk>/", alarms.alarm_detail, name="alarm_detail"),
    path("ledger/", ledger.ledger_view, name="ledger"),
    path("ledger/export/", ledger.ledger_export, name="ledger_export"),
    path("monthly/", monthly.monthly_totals, name="monthly"),
    path("monthly/export/", monthly.monthly_export, name="monthly_export"),
    path("trips/", trips.trip_list, name="trips"),
    path("trips/<int:pk>/", trips.trip_detail, name="trip"),
    path("trips/<int:pk>/manifest.pdf", trips.trip_manifest, name="trip_manifest"),
    path("parties/", parties.party_list, name="parties"),
    path("parties/<int:pk>/", parties.party_detail, name="party"),
]
