"""What the supplies pages share: running a service call so that its refusal reads well on the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied

from epigrid.core.errors import DomainError, Forbidden


def attempt(action: Callable[[], Any], form: forms.Form | None = None) -> tuple[Any, str]:
    """Run a service call: a refusal is the 403 page; another domain error comes back as its message, and
    is put on ``form`` (on the field it names when the form has it)."""
    try:
        return action(), ""
    except Forbidden as err:
        raise PermissionDenied(err.message) from None
    except DomainError as err:
        if form is not None:
            form.add_error(err.field if err.field in form.fields else None, err.message)
        return None, err.message
