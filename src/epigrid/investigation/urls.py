from django.urls import path

from epigrid.investigation import views

app_name = "investigation"

urlpatterns: list = [
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_create, name="case_create"),
    path("cases/people/", views.person_options, name="person_options"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("cases/<int:pk>/venues/", views.venue_options, name="venue_options"),
    path("cases/<int:pk>/trajectory/", views.trajectory_add, name="trajectory_add"),
    path(
        "cases/<int:pk>/trajectory/<int:entry_pk>/remove/", views.trajectory_remove, name="trajectory_remove"
    ),
    path("cases/<int:pk>/trajectory.csv", views.trajectory_export, {"fmt": "csv"}, name="trajectory_csv"),
    path("cases/<int:pk>/trajectory.xlsx", views.trajectory_export, {"fmt": "xlsx"}, name="trajectory_xlsx"),
    path("cases/<int:pk>/trace/", views.case_trace, name="case_trace"),
    path("cases/<int:pk>/notify/", views.contacts_notify, name="contacts_notify"),
    path("cases/<int:pk>/dispatch/", views.contacts_dispatch, name="contacts_dispatch"),
    path("cases/<int:pk>/merge/", views.case_merge, name="case_merge"),
    path("cases/<int:pk>/source/", views.source_name, name="source_name"),
    path("cases/<int:pk>/links/<int:link_pk>/delete/", views.link_delete, name="link_delete"),
    path("cases/<int:pk>/report.pdf", views.case_report, name="case_report"),
    path("chains/", views.chains, name="chains"),
]
