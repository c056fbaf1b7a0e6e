from django.contrib.auth import views as auth_views
from django.urls import path

from epigrid.core import delivery_views, notice_views, views

app_name = "core"

urlpatterns: list = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="core:login"), name="logout"),
    path("security/", views.security, name="security"),
    path("me/", views.my_record, name="my_record"),
    path("people/", views.person_list, name="person_list"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("people/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("map/", views.orgunit_map, name="orgunit_map"),
    path("audit/", views.audit_list, name="audit_list"),
    path("policies/", views.policy_list, name="policy_list"),
    path("notices/", notice_views.notice_list, name="notices"),
    path("notices/<int:pk>/open/", notice_views.notice_open, name="notice_open"),
    path("notices/read-all/", notice_views.notice_read_all, name="notice_read_all"),
    path("notices/settings/", notice_views.notice_settings, name="notice_settings"),
    path("notices/deliveries/", delivery_views.delivery_list, name="deliveries"),
    path("notices/deliveries/<int:pk>/", delivery_views.delivery_detail, name="delivery_detail"),
    path("notices/deliveries/<int:pk>/retry/", delivery_views.delivery_retry, name="delivery_retry"),
]
