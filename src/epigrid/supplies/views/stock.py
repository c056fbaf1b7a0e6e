"""Placeholder until the page is built."""

from django.http import HttpRequest, HttpResponse


def stock_overview(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def point_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


def stock_export(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def ledger_export(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
