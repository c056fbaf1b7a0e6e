from django.urls import path

from epigrid.vaccination.views import desk, manage, progress, resident, review

app_name = "vaccination"

urlpatterns: list = [
    # the vaccinator's desk: find the person (ID card, booking code), check, record the dose, AEFI
    path("desk/", desk.desk, name="desk"),
    path("desk/person/<int:pk>/", desk.desk_person, name="desk_person"),
    path("desk/dose/<int:pk>/aefi/", desk.aefi_new, name="aefi_new"),
    # staff review of doses reported by residents
    path("self-reports/", review.self_reports, name="self_reports"),
    path("self-reports/<int:pk>/", review.self_report_detail, name="self_report_detail"),
    path(
        "self-reports/<int:pk>/certificate.jpg",
        review.self_report_certificate,
        name="self_report_certificate",
    ),
    # the catalogue and the sites
    path("vaccines/", manage.vaccines, name="vaccines"),
    path("vaccines/<int:pk>/", manage.vaccine_detail, name="vaccine_detail"),
    path("sites/", manage.sites, name="sites"),
    path("sites/<int:pk>/", manage.site_detail, name="site_detail"),
    # coverage, overdue lists and their grid tasks
    path("coverage/", progress.coverage, name="coverage"),
    path("coverage/export.xlsx", progress.coverage_export, name="coverage_export"),
    path("overdue/", progress.overdue, name="overdue"),
    path("overdue/export.xlsx", progress.overdue_export, name="overdue_export"),
    path("overdue/tasks/", progress.overdue_tasks, name="overdue_tasks"),
    path("people/<int:pk>/", progress.person_vaccinations, name="person"),
    # residents: their record, booking, their bookings, self-reports
    path("my/", resident.my, name="my"),
    path("book/", resident.book, name="book"),
    path("book/<int:site_pk>/", resident.book_slots, name="book_slots"),
    path("bookings/<str:code>/", resident.booking_detail, name="booking"),
    path("self-report/", resident.self_report_new, name="self_report_new"),
]
