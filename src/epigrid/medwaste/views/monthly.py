"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def monthly_totals(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
