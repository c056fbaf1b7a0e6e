from django.urls import path

from epigrid.supplies.views import catalogue, forecast, stock, transfers

app_name = "supplies"

urlpatterns = [
    path("", stock.stock_overview, name="stock"),
    path("transfers/", transfers.transfer_list, name="transfers"),
    path("forecast/", forecast.forecast_view, name="forecast"),
    path("catalogue/", catalogue.catalogue_view, name="catalogue"),
]
