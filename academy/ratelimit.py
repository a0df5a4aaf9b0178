"""Rate limits and throttling counters, on Flask-Limiter.

The ``limiter`` (academy.extensions) keeps its counters in memory for one process, or in
Redis when REDIS_URL is set, so that several app instances behind a proxy share them.
Routes limited per client address use its decorator (``@limiter.limit``: the public
certificate check). Throttles that need more than one key per request (login failures per
account and per address and account) and the exam start gate's counters use the helpers
below, on the same storage, with fixed windows.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond

from academy.extensions import limiter


def _item(limit: int, window: int) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(max(1, limit), max(1, window), namespace="academy")


def failures(key: str, limit: int, window: int) -> int:
    """How many times ``key`` was hit in its current window (of ``limit`` per ``window``)."""
    _, remaining = limiter.limiter.get_window_stats(_item(limit, window), key)
    return max(0, limit - remaining)


def wait_seconds(key: str, limit: int, window: int) -> int:
    """Seconds until ``key`` may be hit again, or 0 if it is below ``limit`` now."""
    item = _item(limit, window)
    if limiter.limiter.test(item, key):
        return 0
    reset_at, _ = limiter.limiter.get_window_stats(item, key)
    return max(1, int(reset_at - time.time()))


def hit(key: str, limit: int, window: int) -> None:
    limiter.limiter.hit(_item(limit, window), key)


def reset(key: str, limit: int, window: int) -> None:
    limiter.limiter.clear(_item(limit, window), key)


# -- plain counters (the exam start gate: in-flight starts, tickets) ---------------------


def incr(key: str, window: int) -> int:
    return int(limiter.storage.incr("academy:" + key, window))


def decr(key: str) -> None:
    storage = limiter.storage
    if hasattr(storage, "decr"):
        storage.decr("academy:" + key)
    else:  # Redis: INCRBY -1
        storage.incr("academy:" + key, 600, amount=-1)


def get(key: str) -> int:
    return int(limiter.storage.get("academy:" + key) or 0)
