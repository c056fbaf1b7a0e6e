from django.urls import path

from epigrid.portal.views import data, home, login

app_name = "portal"

urlpatterns = [
    path("", home.portal_home, name="home"),
    path("login/", login.login_phone, name="login"),
    path("check-ins/", home.checkins, name="checkins"),
    path("household/", home.household, name="household"),
    path("data/", data.my_data, name="data"),
    path("corrections/", data.correction_list, name="corrections"),
]
