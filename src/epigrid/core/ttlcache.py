"""A small in-process cache with a time-to-live, for facts read on every request of the hot paths.

Each web process keeps its own copy, so a change made in another process is seen at most ``ttl`` seconds
later; the process that makes a change forgets the entry at once (see the ``forget`` calls in services).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_MISSING = object()


_all: list[TTLCache] = []


def clear_all() -> None:
    """Forget every cached entry of every cache (tests: a rolled-back database reuses primary keys)."""
    for cache in _all:
        cache.clear()


class TTLCache(Generic[V]):
    def __init__(self, *, ttl: float, max_size: int = 10_000) -> None:
        _all.append(self)
        self.ttl = ttl
        self.max_size = max_size
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V | None]) -> V | None:
        """The cached value, or ``load()``'s (cached unless None: misses are not remembered)."""
        now = time.monotonic()
        with self._lock:
            item = self._items.get(key, _MISSING)
            if item is not _MISSING and now - item[0] < self.ttl:
                self._items.move_to_end(key)
                return item[1]
        value = load()
        if value is not None:
            with self._lock:
                self._items[key] = (now, value)
                self._items.move_to_end(key)
                while len(self._items) > self.max_size:
                    self._items.popitem(last=False)
        return value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def forget_where(self, predicate: Callable[[V], bool]) -> None:
        with self._lock:
            for key in [k for k, (_, v) in self._items.items() if predicate(v)]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
