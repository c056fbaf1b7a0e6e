from django.urls import path

from epigrid.publicity.views import faq, manage, tickets

app_name = "publicity"

# Staff pages under /publicity/; the public pages are in public_urls.py.
urlpatterns = [
    path("", manage.manage_list, name="manage"),
    path("review/", manage.review_queue, name="review"),
    path("faq/", faq.faq_list, name="faq"),
    path("tickets/", tickets.ticket_list, name="tickets"),
]
