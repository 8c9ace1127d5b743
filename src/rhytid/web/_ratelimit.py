"""A sliding-window limit of failed sign-ins per client address (in memory, per process).

Each address may fail ``limit`` sign-ins (form or HTTP Basic) per ``window_s`` seconds; beyond
that the server answers 429 to its sign-ins without hashing anything. It slows a guesser down across accounts;
the per-account lockout (``rhytid.store.sessions``) stops one account being guessed from many
addresses.
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > self.window_s:
            hits.popleft()
        return hits

    def blocked(self, key: str) -> bool:
        """True while ``key`` has ``limit`` failures within the window."""
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.limit

    def failed(self, key: str) -> None:
        """Count a failure of ``key``."""
        now = time.monotonic()
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._hits) > 10_000:  # forget idle addresses
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] > self.window_s]:
                    del self._hits[k]
