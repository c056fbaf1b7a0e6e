"""Errors that services raise and every interface (page, API, command) turns into a clear message."""

from __future__ import annotations


class DomainError(Exception):
    """The request cannot be carried out as asked; ``str(err)`` tells the user why. API: 400."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.field = field


class Conflict(DomainError):
    """The request clashes with the current state (a full tube, a duplicate barcode). API: 409."""

    status = 409


class Forbidden(DomainError):
    """The actor may not do this. API: 403."""

    status = 403
