"""Test support that every app uses: the registry of scope cases for the generic scope suite.

An app whose model registers in ``core.scope`` also adds a case here (in its ``tests/scope_cases.py``):
a function that creates one instance belonging to a given grid and, for resident-visible models, to a
given person. The generic suite in ``core/tests/test_scope.py`` then proves for every model that a grid
worker sees only their grid and a resident only their own records. A scoped model without a case fails
the suite.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model

from epigrid.core.models import OrgUnit, Person

# label -> make(grid, person) -> instance
ScopeCaseMaker = Callable[[OrgUnit, Person], Model]
SCOPE_CASES: dict[str, ScopeCaseMaker] = {}
# label -> (url template with {pk}) for API or page detail views of that model
DETAIL_URLS: dict[str, list[str]] = {}


def scope_case(
    label: str, *, detail_urls: list[str] | None = None
) -> Callable[[ScopeCaseMaker], ScopeCaseMaker]:
    def register(make: ScopeCaseMaker) -> ScopeCaseMaker:
        SCOPE_CASES[label] = make
        DETAIL_URLS[label] = detail_urls or []
        return make

    return register


# --- what page tests share: roles as the permission table sees them, messages as the page shows them --------


class RoleOnly:
    """An active account of ``role`` and nothing else, for asking the permission table what a role may do."""

    is_authenticated = True
    is_active = True

    def __init__(self, role: str) -> None:
        self.role = role


def may(role: str, perm: str | None) -> bool:
    """A staff role that holds ``perm`` (any staff role when ``perm`` is None)."""
    from epigrid.core.roles import has_perm, is_staff_role

    return is_staff_role(role) and (perm is None or has_perm(RoleOnly(role), perm))


def zh(message: str) -> str:
    """``message`` as the zh-Hans catalogue has it (pages answer in zh-Hans by default)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        return translation.gettext(message)


def shows(html: str, message: str, *, plural: str | None = None, plural_n: int = 1, **params: object) -> bool:
    """The page shows ``message`` in English or through the zh-Hans catalogue (the requests' default). A
    message with a ``plural`` form is looked up for the count ``plural_n`` (``ngettext``)."""
    from django.utils import translation
    from django.utils.html import escape

    if plural is None:
        chinese = zh(message)
    else:
        with translation.override("zh-hans"):
            chinese = translation.ngettext(message, plural, plural_n)
        message = message if plural_n == 1 else plural
    if params:
        message, chinese = message % params, chinese % params
    return escape(message) in html or escape(chinese) in html


def shows_start(html: str, message: str) -> bool:
    """The page shows the text of ``message`` before its first placeholder (the rest is data)."""
    from django.utils.html import escape

    return escape(message.split("%(")[0]) in html or escape(zh(message).split("%(")[0]) in html
