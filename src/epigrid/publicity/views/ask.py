"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def ask(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
