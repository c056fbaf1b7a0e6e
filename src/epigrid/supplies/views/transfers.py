"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def transfer_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def transfer_new(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
