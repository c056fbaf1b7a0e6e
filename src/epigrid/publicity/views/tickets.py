"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def ticket_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
