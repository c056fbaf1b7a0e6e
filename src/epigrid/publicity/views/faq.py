"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def faq_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
