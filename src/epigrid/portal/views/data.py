"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def my_data(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def correction_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
