"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def login_phone(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
