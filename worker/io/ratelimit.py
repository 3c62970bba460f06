"""Pacing shared by every worker: one Zendesk rate-limit window, paused for all of them at once.

Zendesk's rate limit is per account, and every response's ``X-Rate-Limit-Remaining`` counts the
requests of every client. When one worker sees the window nearly spent, it sets a Redis key that
lives for the pause (``SET NX PX``, then ``PEXPIRE GT``: lengthened, never shortened; Redis 7); every worker checks that
key's remaining time (``PTTL``) before each request. Durations, not timestamps, cross machines, so
clock skew between workers does not matter. If Redis fails, pacing falls back to this process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from worker.io.http import Pacer
from worker.io.redisclient import redis_client

log = logging.getLogger(__name__)

class RedisPacer(Pacer):
    """A :class:`~worker.io.http.Pacer` whose pause is shared through Redis by every process."""

    def __init__(self, client: Any, key: str, *, reserve: float = 0.05, max_wait: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(reserve=reserve, max_wait=max_wait, clock=clock, sleep=sleep)
        self._redis = client
        self.key = key

    def _pending(self) -> float:
        local = super()._pending()
        try:
            left_ms = int(self._redis.pttl(self.key))
        except Exception as exc:  # noqa: BLE001 - pacing never fails a run
            log.debug("pacing: Redis unavailable (%s); pacing this process only", type(exc).__name__)
            return local
        return max(local, left_ms / 1000 if left_ms > 0 else 0.0)

    def _pause(self, wait: float) -> None:
        super()._pause(wait)
        try:
            milliseconds = max(1, int(wait * 1000))
            with self._redis.pipeline() as pipe:  # create the pause, or lengthen it; never shorten it
                pipe.set(self.key, "1", nx=True, px=milliseconds)
                pipe.pexpire(self.key, milliseconds, gt=True)  # Redis 7: only a later expiry is applied
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - pacing never fails a run
            log.debug("pacing: cannot share the pause through Redis (%s)", type(exc).__name__)


def pacer_for(redis_url: str | None, service: str, namespace: str, *, max_wait: float,
              sleep: Callable[[float], None]) -> Pacer:
    """A shared pacer when REDIS_URL is set (every worker of one Zendesk account), else this process's own."""
    if not redis_url:
        return Pacer(max_wait=max_wait, sleep=sleep)
    return RedisPacer(redis_client(redis_url), f"tiersync:pace:{service}:{namespace}", max_wait=max_wait, sleep=sleep)
