"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def open_bags(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
