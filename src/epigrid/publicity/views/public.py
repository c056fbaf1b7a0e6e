"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def public_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def ask(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
