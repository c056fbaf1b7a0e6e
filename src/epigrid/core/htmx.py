"""Helpers shared by every app's pages: HTMX partials, access checks, pagination.

A view that serves both a page and an HTMX partial renders ``template#partial`` for HTMX requests
(django-template-partials); caches keep the two apart through ``Vary: HX-Request``. Access checks raise
``PermissionDenied`` (the 403 page); selectors raise ``Http404`` for what is out of scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from epigrid.core.roles import has_perm, is_staff_role

PAGE_SIZE = 50


def is_htmx(request: HttpRequest) -> bool:
    # A history restore after a cache miss wants the whole page, not the fragment.
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str = "", status: int = 200
) -> HttpResponse:
    """Render the page, or only ``partial`` of it when HTMX asks; caches keep the two apart."""
    name = f"{template}#{partial}" if partial and is_htmx(request) else template
    response = render(request, name, context, status=status)
    if partial:
        patch_vary_headers(response, ("HX-Request",))
    return response


def require_perm(user: Any, perm: str) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied(_("Your role may not open this page."))


def require_any_perm(user: Any, *perms: str) -> None:
    if not any(has_perm(user, perm) for perm in perms):
        raise PermissionDenied(_("Your role may not open this page."))


def require_staff(user: Any) -> None:
    if not is_staff_role(user.role):
        raise PermissionDenied(_("This page is for staff accounts only."))


def paginate(request: HttpRequest, items: Any, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def staff_page(perm: str | None = None, *, any_of: tuple[str, ...] = ()) -> Callable:
    """``login_required`` plus: staff only, and ``perm`` (or one of ``any_of``) when given.
    Others get the 403 page."""

    def decorate(view: Callable) -> Callable:
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require_staff(request.user)
            if perm is not None:
                require_perm(request.user, perm)
            if any_of:
                require_any_perm(request.user, *any_of)
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__qualname__ = getattr(view, "__qualname__", view.__name__)
        wrapped.__doc__ = view.__doc__
        wrapped.__module__ = view.__module__
        return wrapped

    return decorate
