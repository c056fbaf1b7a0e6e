from django.urls import path

from epigrid.comparison.views import archive, imports, review, rules

app_name = "comparison"

urlpatterns: list = [
    # lists: upload, map the columns, watch the progress, see each row's outcome, correct rejected rows
    path("", imports.import_list, name="imports"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import_progress"),
    path("imports/<int:pk>/rows.xlsx", imports.import_rows_export, name="import_rows_export"),
    path("rows/<int:pk>/correct/", imports.row_correct, name="row_correct"),
    path("sources/", imports.sources, name="sources"),
    # clerical review of uncertain matches
    path("review/", review.review_queue, name="review"),
    path("review/<int:pk>/", review.review_row, name="review_row"),
    # the key-region archive and the one-person dossier
    path("arrivals/", archive.arrival_list, name="arrivals"),
    path("dossier/<int:pk>/", archive.dossier, name="dossier"),
    # comparison rules, their runs and action lists
    path("rules/", rules.rule_list, name="rules"),
    path("rules/<int:pk>/", rules.rule_detail, name="rule_detail"),
    path("runs/<int:pk>/", rules.run_detail, name="run_detail"),
    path("runs/<int:pk>/tasks/", rules.run_tasks, name="run_tasks"),
    path("runs/<int:pk>/export.xlsx", rules.run_export, name="run_export"),
]
