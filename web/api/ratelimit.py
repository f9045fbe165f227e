"""A small in-process rate limiter: at most ``limit`` hits per key in a sliding ``window``.

Enough for one process serving the public feedback form; several worker processes each
count on their own (so the real limit is ``limit`` × workers). The clock is a parameter so
tests move time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

#: Keys kept at most; beyond this the ones idle longest are forgotten first.
MAX_KEYS = 10_000


class RateLimiter:
    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit; None if it is allowed, else the seconds until one will be."""
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[key] = hits  # re-inserted: the dict is ordered by last use
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.0)
            hits.append(now)
            while len(self._hits) > MAX_KEYS:
                del self._hits[next(iter(self._hits))]
            return None
