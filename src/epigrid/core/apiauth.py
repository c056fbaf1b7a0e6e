"""API authentication: bearer tokens for devices and apps, the session cookie for our own pages."""

from __future__ import annotations

import copy
import time

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from epigrid.core import crypto
from epigrid.core.models import ApiToken, User
from epigrid.core.ttlcache import TTLCache

# Every API call authenticates; a process remembers a token's account for a few seconds. Deactivating an
# account or revoking its tokens (services) forgets it here at once; other processes within the TTL.
TOKEN_CACHE_SECONDS = 5.0
_accounts: TTLCache[tuple[User, float]] = TTLCache(ttl=TOKEN_CACHE_SECONDS, max_size=100_000)


def _load(digest: str) -> tuple[User, float] | None:
    # Slicing instead of .first(): no ORDER BY on the hot path of every API call.
    rows = ApiToken.objects.select_related("user", "user__org_unit", "user__person").filter(digest=digest)[:1]
    row = next(iter(rows), None)
    return None if row is None else (row.user, row.expires_at.timestamp())


def user_for_token(token: str) -> User | None:
    found = _accounts.get_or_load(crypto.token_digest(token), lambda: _load(crypto.token_digest(token)))
    if found is None:
        return None
    user, expires = found
    if not user.is_active or time.time() >= expires:
        return None
    # A copy per request: the cached instance is shared by threads and must not be changed by one of them.
    return copy.copy(user)


def forget_tokens_of(user: User) -> None:
    _accounts.forget_where(lambda value: value[0].pk == user.pk)


class BearerOrSession(HttpBearer):
    """The bearer token when the request carries one, otherwise the session (CSRF-checked when unsafe)."""

    def __init__(self) -> None:
        super().__init__()
        self._session = SessionAuth()

    def __call__(self, request: HttpRequest) -> User | None:
        if request.headers.get("Authorization"):
            return super().__call__(request)
        if self._session(request):
            return request.user
        return None

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user
