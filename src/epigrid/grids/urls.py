from django.urls import path

from epigrid.grids import pwa, views

app_name = "grids"

urlpatterns: list = [
    path("", views.board, name="board"),
    path("tasks/new/", views.task_dispatch, name="task_dispatch"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/photo.jpg", views.task_photo, name="task_photo"),
    path("tasks/<int:pk>/assign/", views.task_assign, name="task_assign"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
    path("staffing/", views.staffing, name="staffing"),
    path("staffing/assign/", views.staff_assign, name="staff_assign"),
    path("staffing/<int:pk>/remove/", views.staff_remove, name="staff_remove"),
    path("sentinels/", views.sentinels, name="sentinels"),
    path("patrols/", views.patrols, name="patrols"),
    path("emergencies/", views.emergencies, name="emergencies"),
    path("emergencies/<int:pk>/assign/", views.emergency_assign, name="emergency_assign"),
    path("emergencies/<int:pk>/close/", views.emergency_close, name="emergency_close"),
    path("emergencies/<int:pk>/photo.jpg", views.emergency_photo, name="emergency_photo"),
    path("assessment/", views.assessment, name="assessment"),
    path("assessment.xlsx", views.assessment_xlsx, name="assessment_xlsx"),
    # the grid worker's phone app (PWA); the worker script lives inside the app's scope
    path("app/", pwa.app, name="app"),
    path("app/manifest.webmanifest", pwa.manifest, name="manifest"),
    path("app/sw.js", pwa.service_worker, name="sw"),
    path("app/icon-<str:purpose>-<int:size>.png", pwa.icon, name="icon"),
]
