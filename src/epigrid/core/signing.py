"""Signed codes: compact JWS (ES256) with the key id in the header and the code's purpose as ``typ``.

Used for venue QR codes and personal codes. ``verify`` says precisely what is wrong with a bad code, since
the person at the door has to act on it: not a code of ours at all, a code of another kind, a forged or
edited code, or a code signed with a key that has since been retired.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils.translation import gettext as _

from epigrid.core.errors import DomainError
from epigrid.core.models import KeyStatus, SigningKey
from epigrid.core.ttlcache import TTLCache

ALGORITHM = "ES256"
# An ES256 signature is 64 raw bytes: 86 base64url characters. A cut-off signature is a garbled code (a bad
# scan), not a forgery; without this check pyjwt says one or the other depending on the lost characters.
_SIGNATURE_CHARS = 86
_CACHE_SECONDS = 30.0


class CodeRejected(DomainError):
    """A signed code that must not be honoured; ``reason`` is a stable machine-readable word."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class _KeyCache:
    """Keys by kid, refreshed every few seconds so that a rotation or retirement reaches every process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._keys: dict[str, tuple[str, Any, Any]] = {}  # kid -> (status, private, public)
        self._active: str | None = None

    def clear(self) -> None:
        with self._lock:
            self._loaded_at = 0.0
        _verified.clear()

    def _refresh(self) -> None:
        keys, active = {}, None
        for key in SigningKey.objects.all():
            public = serialization.load_pem_public_key(key.public_key.encode())
            private = None
            if key.status == KeyStatus.ACTIVE:
                private = serialization.load_pem_private_key(key.private_key.encode(), password=None)
                active = key.kid
            keys[key.kid] = (key.status, private, public)
        self._keys, self._active, self._loaded_at = keys, active, time.monotonic()

    def get(self) -> tuple[dict[str, tuple[str, Any, Any]], str | None]:
        with self._lock:
            if time.monotonic() - self._loaded_at > _CACHE_SECONDS:
                self._refresh()
            return self._keys, self._active


keys = _KeyCache()


def generate_key_pair() -> tuple[str, str]:
    """A fresh P-256 key pair as (private PEM, public PEM)."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def sign(purpose: str, claims: dict[str, Any]) -> str:
    table, active = keys.get()
    if active is None:
        from epigrid.core.services import signing_key_rotate

        signing_key_rotate(actor=None)
        table, active = keys.get()
    private = table[active][1]
    return jwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": active, "typ": purpose})


# The same venue code is scanned thousands of times a day: remember verified codes for as long as the key
# table itself is trusted (a retirement reaches every process within that time; ``keys.clear`` forgets).
_verified: TTLCache[dict[str, Any]] = TTLCache(ttl=_CACHE_SECONDS, max_size=50_000)


def verify(purpose: str, token: str, *, leeway: int = 0) -> dict[str, Any]:
    """The claims of a valid code of this purpose, or CodeRejected saying why not."""
    claims = _verified.get_or_load((purpose, token), lambda: None)
    if claims is not None:
        exp = claims.get("exp")
        if exp is None or time.time() <= exp + leeway:
            return claims
        raise CodeRejected(_("This code has expired; refresh it."), reason="expired")
    claims = _verify_uncached(purpose, token, leeway=leeway)
    _verified.get_or_load((purpose, token), lambda: claims)
    return claims


def _verify_uncached(purpose: str, token: str, *, leeway: int) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.exceptions.DecodeError:
        raise CodeRejected(_("This is not an EpiGrid code."), reason="garbled") from None
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        raise CodeRejected(_("This is not an EpiGrid code."), reason="garbled")
    if len(token.rsplit(".", 1)[-1]) != _SIGNATURE_CHARS:
        raise CodeRejected(_("This is not an EpiGrid code."), reason="garbled")
    if header.get("typ") != purpose:
        raise CodeRejected(_("This is an EpiGrid code of another kind."), reason="wrong_kind")
    table, _active = keys.get()
    entry = table.get(header["kid"])
    if entry is None:
        keys.clear()  # maybe a key created a moment ago in another process
        table, _active = keys.get()
        entry = table.get(header["kid"])
    if entry is None:
        raise CodeRejected(_("This code was not issued by this platform (forged)."), reason="forged")
    status, _private, public = entry
    if status == KeyStatus.RETIRED:
        raise CodeRejected(
            _("This code was signed with a retired key; ask for a new code."), reason="expired_key"
        )
    try:
        return jwt.decode(token, public, algorithms=[ALGORITHM], leeway=leeway, options={"require": ["iat"]})
    except jwt.exceptions.ExpiredSignatureError:
        raise CodeRejected(_("This code has expired; refresh it."), reason="expired") from None
    except jwt.exceptions.InvalidSignatureError:
        raise CodeRejected(_("This code has been edited or forged."), reason="forged") from None
    except jwt.exceptions.InvalidTokenError:
        raise CodeRejected(_("This is not an EpiGrid code."), reason="garbled") from None
