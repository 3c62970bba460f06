"""One Redis client per REDIS_URL for the whole process (run state, lock, history, pacing share its pool)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def redis_client(url: str) -> Any:
    """The process's client for ``url``: a timeout on every call; redis-py resets its pool after a fork."""
    import redis  # only when REDIS_URL is set: the CLI without Redis never imports it

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
