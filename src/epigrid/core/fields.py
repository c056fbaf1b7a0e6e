"""Model fields for personal data."""

from __future__ import annotations

import json
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


class EncryptedJSONField(EncryptedTextField):
    """A JSON object stored as AES-GCM ciphertext, for data that carries personal values as received (a list
    row's raw cells: ID numbers and phones as the list had them)."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        return json.loads(text) if text else {}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # already JSON text (a form, a fixture)
            value = json.loads(value) if value else {}
        return crypto.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
