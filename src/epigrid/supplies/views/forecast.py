"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def forecast_view(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
