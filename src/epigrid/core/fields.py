"""Model fields for personal data."""

from __future__ import annotations

from typing import Any

from django.db import models

from epigrid.core import crypto


class EncryptedTextField(models.TextField):
    """Stores AES-GCM ciphertext; Python code sees the plaintext.

    Equality look-ups on this field cannot work (every ciphertext differs); look up by the blind index
    stored beside it instead.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))
