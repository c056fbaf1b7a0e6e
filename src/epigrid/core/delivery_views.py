"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def delivery_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
