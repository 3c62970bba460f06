"""The run lock as a lease: held while its run is alive, free within seconds of its holder's death.

Redis: ``SET key holder NX PX 15000``, renewed every 5 s by a daemon heartbeat thread with a
compare-and-extend (WATCH/MULTI: extend only while the value is still ours), released with a
compare-and-delete. A holder that is killed stops renewing, so its lock expires within
:data:`LEASE_SECONDS`. A renewal that finds the lock gone or someone else's marks the lease lost,
and the engine checks the lease before each write, so a run that lost it stops before its next
write. The lock is an efficiency measure: correctness comes from convergent writes.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from worker.core.errors import LockedError, LockLostError

log = logging.getLogger(__name__)
LEASE_SECONDS = 15.0
RENEW_EVERY = LEASE_SECONDS / 3
POLL_SECONDS = 0.5
BUSY_HINT = "wait for it to finish (runs never overlap, so each one's retry list and watermark stay intact)"


class Lease:
    """A held run lock; :meth:`check` raises once it has been lost."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.lost_reason: str | None = None

    def check(self) -> None:
        """Raise LockLostError if the lock is no longer ours (call before every write)."""
        if self.lost_reason is not None:
            raise LockLostError(f"the run lock was lost mid-run ({self.lost_reason}); stopped before the next write",
                                hint="nothing is lost: the watermark did not move; the next run picks the work up")


def holder_description(token: str) -> str:
    """What the lock's value says about its holder (for ``tiersync status``): host, pid, start, token."""
    return json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                       "since": datetime.now(UTC).isoformat(timespec="seconds"), "token": token})


def wait_for(take: Callable[[], bool], *, wait: float, clock: Callable[[], float],
             sleep: Callable[[float], None]) -> bool:
    """Call ``take`` until it succeeds or ``wait`` seconds have passed; True when it succeeded."""
    deadline = clock() + wait
    while True:
        if take():
            return True
        if clock() >= deadline:
            return False
        sleep(min(POLL_SECONDS, max(0.0, deadline - clock())))


class RedisLease:
    """The Redis side: take, renew, release, and read who holds the lock."""

    def __init__(self, client: Any, key: str, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self._redis, self.key, self.lease_ms = client, key, int(lease_seconds * 1000)

    def take(self, value: str) -> bool:
        """``SET key value NX PX lease``."""
        return bool(self._redis.set(self.key, value, nx=True, px=self.lease_ms))

    def renew(self, value: str) -> bool:
        """Extend the lease only while the lock still holds ``value``; False when it is gone or someone else's."""
        with self._redis.pipeline() as pipe:
            try:
                pipe.watch(self.key)
                if pipe.get(self.key) != value.encode():
                    return False
                pipe.multi()
                pipe.pexpire(self.key, self.lease_ms)
                pipe.execute()
                return True
            except self._watch_error():
                return False  # the key changed between GET and EXEC: not ours to extend

    def release(self, value: str) -> None:
        """Delete the lock only if it still holds ``value`` (compare-and-delete)."""
        with self._redis.pipeline() as pipe:
            try:
                pipe.watch(self.key)
                if pipe.get(self.key) == value.encode():
                    pipe.multi()
                    pipe.delete(self.key)
                    pipe.execute()
            except self._watch_error():
                pass

    def holder(self) -> str | None:
        """The current holder's description, or None when the lock is free."""
        raw = self._redis.get(self.key)
        return raw.decode(errors="replace") if raw is not None else None

    @staticmethod
    def _watch_error() -> type[Exception]:
        import redis

        return redis.WatchError


@contextmanager
def held(lease: RedisLease, *, wait: float, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep, heartbeat: bool = True) -> Iterator[Lease]:
    """Take the lock (waiting up to ``wait`` seconds), renew it while the block runs, release it after.

    Raises:
        LockedError: still held by another run after ``wait`` seconds (exit 9).

    """
    value = holder_description(uuid.uuid4().hex)
    if not wait_for(lambda: lease.take(value), wait=wait, clock=clock, sleep=sleep):
        raise LockedError(f"another tiersync run holds the Redis lock {lease.key}: {lease.holder() or 'released'}",
                          hint=BUSY_HINT + f"; a killed run's lock frees itself within {LEASE_SECONDS:.0f}s")
    state = Lease(value)
    stop = threading.Event()
    thread = threading.Thread(target=_heartbeat, args=(lease, value, state, stop), daemon=True,
                              name="tiersync-lease") if heartbeat else None
    if thread is not None:
        thread.start()
    try:
        yield state
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=RENEW_EVERY * 2)
        try:
            lease.release(value)
        except Exception as exc:  # noqa: BLE001 - an unreachable Redis lets the lease expire by itself
            log.info("run lock: not released (%s); it expires within %.0fs", type(exc).__name__, LEASE_SECONDS)


def _heartbeat(lease: RedisLease, value: str, state: Lease, stop: threading.Event) -> None:
    """Renew every RENEW_EVERY seconds; mark the lease lost when a renewal finds it gone or foreign."""
    failing_since: float | None = None
    while not stop.wait(RENEW_EVERY):
        try:
            if not lease.renew(value):
                state.lost_reason = "another run holds it now, or it expired"
                return
            failing_since = None
        except Exception as exc:  # noqa: BLE001 - Redis trouble: lost once the lease must have expired
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since >= LEASE_SECONDS:
                state.lost_reason = f"Redis did not answer for {LEASE_SECONDS:.0f}s ({type(exc).__name__})"
                return
