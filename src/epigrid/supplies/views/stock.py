"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def stock_overview(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
