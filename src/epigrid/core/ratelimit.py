"""Fixed-window rate limits on public endpoints (per IP, per phone), counted in the Django cache."""

from __future__ import annotations

import time

from django.core.cache import cache


def hit(scope: str, key: str, *, limit: int, window_seconds: int = 60) -> bool:
    """Count one request for (scope, key); False once more than ``limit`` arrived in the current window."""
    if limit <= 0:
        return True
    window = int(time.time() // window_seconds)
    cache_key = f"rl:{scope}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=window_seconds + 1):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds + 1)
        return True
    return count <= limit
