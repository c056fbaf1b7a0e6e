"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def manage_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def review_queue(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
