"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def portal_home(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def checkins(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def household(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
