from django.urls import path

from epigrid.portal.views import corrections, data, home, login

app_name = "portal"

urlpatterns = [
    path("", home.portal_home, name="home"),
    path("login/", login.login_phone, name="login"),
    path("check-ins/", home.checkins, name="checkins"),
    path("household/", home.household, name="household"),
    path("household/<int:pk>/", home.household_member, name="household_member"),
    path("data/", data.my_data, name="data"),
    path("data/download/", data.my_data_download, name="data_download"),
    path("corrections/", corrections.correction_list, name="corrections"),
    path("corrections/<int:pk>/", corrections.correction_detail, name="correction"),
]
