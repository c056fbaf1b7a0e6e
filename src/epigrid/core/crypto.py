"""Field encryption (AES-GCM) and blind indexes (HMAC-SHA256) for personal data.

Both keys are derived from ``settings.FIELD_KEY`` with HKDF, so one secret is configured but the
encryption key never doubles as the index key. Ciphertexts carry a key version prefix so that a later key
rotation can re-encrypt lazily.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_VERSION = "v1"


@functools.cache
def _keys(field_key: str) -> tuple[bytes, bytes]:
    try:
        master = base64.b64decode(field_key, validate=True)
    except ValueError:
        raise ImproperlyConfigured("EPIGRID_FIELD_KEY must be base64") from None
    if len(master) < 32:
        raise ImproperlyConfigured("EPIGRID_FIELD_KEY must decode to at least 32 bytes")

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    return derive(b"epigrid field encryption v1"), derive(b"epigrid blind index v1")


def _enc_key() -> bytes:
    return _keys(settings.FIELD_KEY)[0]


def _index_key() -> bytes:
    return _keys(settings.FIELD_KEY)[1]


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_enc_key()).encrypt(nonce, plaintext.encode(), _VERSION.encode())
    return f"{_VERSION}:" + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    version, _, body = token.partition(":")
    if version != _VERSION:
        raise ValueError(f"unknown ciphertext version {version!r}")
    raw = base64.b64decode(body)
    return AESGCM(_enc_key()).decrypt(raw[:12], raw[12:], version.encode()).decode()


def blind_index(value: str, *, purpose: str) -> str:
    """Deterministic keyed hash for exact look-up; ``purpose`` keeps indexes of different fields apart."""
    return hmac.new(_index_key(), f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """Digest under which API tokens are stored (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()
