"""Fixed-window counters for throttling (login failures, public pages).

In memory for one process; in Redis when REDIS_URL is set, so that several app
instances behind a proxy share the counts.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Backend(Protocol):
    def incr(self, key: str, window: int) -> int: ...
    def decr(self, key: str) -> int: ...
    def get(self, key: str) -> int: ...
    def ttl(self, key: str) -> int: ...
    def reset(self, key: str) -> None: ...


class MemoryBackend:
    def __init__(self, clock=time.monotonic) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def _live(self, key: str) -> tuple[int, float] | None:
        entry = self._data.get(key)
        if entry and entry[1] <= self._clock():
            del self._data[key]
            return None
        return entry

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            entry = self._live(key)
            count, expires = entry if entry else (0, self._clock() + window)
            self._data[key] = (count + 1, expires)
            return count + 1

    def decr(self, key: str) -> int:
        with self._lock:
            entry = self._live(key)
            if entry is None:
                return 0
            self._data[key] = (entry[0] - 1, entry[1])
            return entry[0] - 1

    def get(self, key: str) -> int:
        with self._lock:
            entry = self._live(key)
            return entry[0] if entry else 0

    def ttl(self, key: str) -> int:
        with self._lock:
            entry = self._live(key)
            return max(0, int(entry[1] - self._clock())) if entry else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisBackend:
    def __init__(self, url: str) -> None:
        import redis

        self._r = redis.Redis.from_url(url)

    def incr(self, key: str, window: int) -> int:
        pipe = self._r.pipeline()
        pipe.incr(key)
        pipe.expire(key, window, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def decr(self, key: str) -> int:
        return int(self._r.decr(key))

    def get(self, key: str) -> int:
        value = self._r.get(key)
        return int(value) if value else 0

    def ttl(self, key: str) -> int:
        return max(0, int(self._r.ttl(key)))

    def reset(self, key: str) -> None:
        self._r.delete(key)


class RateLimiter:
    def __init__(self, backend: Backend, prefix: str = "academy:rl:") -> None:
        self.backend = backend
        self.prefix = prefix

    def is_blocked(self, key: str, limit: int) -> int:
        """Seconds until ``key`` is allowed again, or 0 if it is allowed now."""
        full = self.prefix + key
        return self.backend.ttl(full) or 1 if self.backend.get(full) >= limit else 0

    def hit(self, key: str, window: int) -> int:
        return self.backend.incr(self.prefix + key, window)

    def reset(self, key: str) -> None:
        self.backend.reset(self.prefix + key)
