"""Run state between runs: the incremental watermark, failed rows, the organization population.

Two interchangeable stores: Redis (``REDIS_URL``, shared by workers) and a JSON file under
``TIERSYNC_STATE_DIR`` (a single operator's terminal, or the demo). Each save replaces the whole
state at once (one HSET; one atomic rename), so a crash never leaves half a state.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from worker.core.errors import LockedError, UnreachableError

LOCK_TTL_SECONDS = 3600  # a Redis lock outlives no run by more than this, even if its holder is killed
_BUSY_HINT = "wait for it to finish; runs never overlap, so each one's retry list and watermark stay intact"


@dataclass(frozen=True)
class RunState:
    """What one run leaves for the next.

    Attributes:
        watermark: highest SystemModstamp read by the last complete run.
        config_fingerprint: digest of the tier file that produced the watermark; a different
            tier file invalidates the watermark (a new mapping must re-evaluate every account).
        population: organizations matched by the last full run (the change rail's denominator).
        failed_ids: accounts whose last write failed; re-read and retried on every run until done.

    """

    watermark: str | None = None
    config_fingerprint: str | None = None
    population: int = 0
    failed_ids: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        """Serialise for storage."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes | None) -> RunState:
        """Parse stored state; anything unreadable counts as no state."""
        if not text:
            return cls()
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(watermark=data.get("watermark"), config_fingerprint=data.get("config_fingerprint"),
                       population=int(data.get("population") or 0),
                       failed_ids=tuple(data.get("failed_ids") or ()))
        except (ValueError, TypeError, AttributeError):
            return cls()


class StateStore(Protocol):
    """Where run state lives."""

    def load(self) -> RunState:
        """The last saved state (empty when none)."""
        ...

    def save(self, state: RunState) -> None:
        """Replace the saved state."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Hold the run lock for the duration of a writing run, or raise LockedError."""
        ...


class FileStateStore:
    """State in ``<directory>/state-<namespace>.json``, written atomically."""

    def __init__(self, directory: Path, namespace: str) -> None:
        self.path = directory / f"state-{namespace}.json"

    def load(self) -> RunState:
        """Read the state file, if any."""
        try:
            return RunState.from_json(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return RunState()

    def save(self, state: RunState) -> None:
        """Write to a temporary file and rename it over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(state.to_json())
        os.replace(temp, self.path)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive ``flock`` on ``<state>.lock``; the kernel drops it if the process dies."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockedError(f"another tiersync run holds {handle.name}", hint=_BUSY_HINT) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class RedisStateStore:
    """State in the Redis key ``tiersync:state:<namespace>``, lock in ``tiersync:lock:<namespace>``.

    Redis failures surface as UnreachableError naming REDIS_URL, never as a redis-py traceback.
    """

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self.key = f"tiersync:state:{namespace}"
        self.lock_key = f"tiersync:lock:{namespace}"

    @contextmanager
    def _redis_errors(self, doing: str) -> Iterator[None]:
        import redis

        try:
            yield
        except redis.RedisError as exc:
            raise UnreachableError(f"redis: cannot {doing} ({type(exc).__name__})",
                                   hint="check REDIS_URL and that Redis is running") from None

    def load(self) -> RunState:
        """Read the state key."""
        with self._redis_errors("read state"):
            return RunState.from_json(self._redis.get(self.key))

    def save(self, state: RunState) -> None:
        """Replace the state key in one SET."""
        with self._redis_errors("save state"):
            self._redis.set(self.key, state.to_json())

    @contextmanager
    def lock(self) -> Iterator[None]:
        """``SET lock token NX EX ttl``; released only by its owner (compare-and-delete)."""
        token = uuid.uuid4().hex
        with self._redis_errors("take the run lock"):
            taken = self._redis.set(self.lock_key, token, nx=True, ex=LOCK_TTL_SECONDS)
        if not taken:
            raise LockedError(f"another tiersync run holds the Redis lock {self.lock_key}",
                              hint=_BUSY_HINT + f"; a killed run's lock expires within {LOCK_TTL_SECONDS}s")
        try:
            yield
        finally:
            with suppress(Exception):  # an unreachable Redis lets the lock expire by its TTL
                self._release(token)

    def _release(self, token: str) -> None:
        """Delete the lock only if we still own it (WATCH/MULTI compare-and-delete).

        A lock that expired and was taken by another run is left alone.
        """
        with self._redis.pipeline() as pipe:
            pipe.watch(self.lock_key)
            if pipe.get(self.lock_key) == token.encode():
                pipe.multi()
                pipe.delete(self.lock_key)
                pipe.execute()



def namespace_for(zendesk_netloc: str) -> str:
    """A state namespace per Zendesk account, so two instances never share a watermark."""
    return "".join(ch if ch.isalnum() else "_" for ch in zendesk_netloc.lower())


def open_store(redis_url: str | None, state_dir: Path, namespace: str) -> StateStore:
    """Redis when ``redis_url`` is set, else a file under ``state_dir``."""
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        return RedisStateStore(client, namespace)
    return FileStateStore(state_dir, namespace)
