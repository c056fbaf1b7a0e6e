from django.urls import path

from epigrid.publicity.views import faq, manage, tickets

app_name = "publicity"

# Staff pages under /publicity/; the public pages are in public_urls.py.
urlpatterns = [
    path("", manage.manage_list, name="manage"),
    path("new/", manage.announcement_new, name="new"),
    path("<int:pk>/", manage.announcement_detail, name="announcement"),
    path("<int:pk>/edit/", manage.announcement_edit, name="edit"),
    path("<int:pk>/act/", manage.announcement_act, name="act"),
    path("<int:pk>/files/", manage.attachment_upload, name="attach"),
    path("<int:pk>/files/<int:attachment_pk>/delete/", manage.attachment_delete, name="detach"),
    path("<int:pk>/versions/", manage.versions, name="versions"),
    path("<int:pk>/versions/<int:version>/", manage.version_detail, name="version"),
    path("<int:pk>/versions/<int:version>/restore/", manage.version_restore, name="restore"),
    path("review/", manage.review_queue, name="review"),
    path("faq/", faq.faq_list, name="faq"),
    path("faq/new/", faq.faq_new, name="faq_new"),
    path("faq/<int:pk>/", faq.faq_edit, name="faq_edit"),
    path("faq/<int:pk>/act/", faq.faq_act, name="faq_act"),
    path("tickets/", tickets.ticket_list, name="tickets"),
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/answer/", tickets.ticket_answer, name="ticket_answer"),
    path("tickets/<int:pk>/close/", tickets.ticket_close, name="ticket_close"),
]
