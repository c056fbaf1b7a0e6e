from django.urls import path

from epigrid.healthcode import views

app_name = "healthcode"

urlpatterns: list = [
    path("", views.my_code, name="my_code"),
    path("travel/", views.my_travel, name="my_travel"),
    path("appeal/", views.my_appeal, name="my_appeal"),
    path("verify/", views.verify, name="verify"),
    path("people/", views.code_list, name="code_list"),
    path("people/<int:person_id>/", views.person_code, name="person_code"),
    path("people/<int:person_id>/override/", views.override_create, name="override_create"),
    path("overrides/<int:pk>/revoke/", views.override_revoke, name="override_revoke"),
    path("appeals/", views.appeals, name="appeals"),
    path("appeals/<int:pk>/decide/", views.appeal_decide, name="appeal_decide"),
    path("risk-areas/", views.risk_areas, name="risk_areas"),
    path("risk-areas/designate/", views.risk_area_designate, name="risk_area_designate"),
    path("risk-areas/import/", views.risk_area_import, name="risk_area_import"),
    path("risk-areas/<int:pk>/end/", views.risk_area_end, name="risk_area_end"),
    path("risk-areas/<int:pk>/new-case/", views.risk_area_new_case, name="risk_area_new_case"),
    path("rules/", views.rule_sets, name="rule_sets"),
    path("rules/create/", views.rule_set_create, name="rule_set_create"),
    path("rules/<int:pk>/preview/", views.rule_set_preview, name="rule_set_preview"),
    path("rules/<int:pk>/activate/", views.rule_set_activate, name="rule_set_activate"),
]
