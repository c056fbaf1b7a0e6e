"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def waste_app(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
