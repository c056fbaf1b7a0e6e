from django.urls import path

from epigrid.supplies.views import catalogue, forecast, stock, transfers

app_name = "supplies"

urlpatterns = [
    path("", stock.stock_overview, name="stock"),
    path("stock.xlsx", stock.stock_export, name="stock_export"),
    path("points/<int:pk>/", stock.point_detail, name="point"),
    path("points/<int:pk>/ledger.xlsx", stock.ledger_export, name="ledger_export"),
    path("transfers/", transfers.transfer_list, name="transfers"),
    path("transfers/new/", transfers.transfer_new, name="transfer_new"),
    path("transfers/<int:pk>/", transfers.transfer_detail, name="transfer"),
    path("forecast/", forecast.forecast_view, name="forecast"),
    path("catalogue/", catalogue.catalogue_view, name="catalogue"),
]
