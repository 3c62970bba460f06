"""Run state between runs: the incremental watermark, failed rows, the organization population.

Two interchangeable stores: Redis (``REDIS_URL``, shared by workers) and a JSON file under
``TIERSYNC_STATE_DIR`` (a single operator's terminal, or the demo). Each save replaces the whole
state at once (one HSET; one atomic rename), so a crash never leaves half a state.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


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


class RedisStateStore:
    """State in the Redis key ``tiersync:state:<namespace>``."""

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self.key = f"tiersync:state:{namespace}"

    def load(self) -> RunState:
        """Read the state key."""
        return RunState.from_json(self._redis.get(self.key))

    def save(self, state: RunState) -> None:
        """Replace the state key in one SET."""
        self._redis.set(self.key, state.to_json())


def namespace_for(zendesk_netloc: str) -> str:
    """A state namespace per Zendesk account, so two instances never share a watermark."""
    return "".join(ch if ch.isalnum() else "_" for ch in zendesk_netloc.lower())


def open_store(redis_url: str | None, state_dir: Path, namespace: str) -> StateStore:
    """Redis when ``redis_url`` is set, else a file under ``state_dir``."""
    if redis_url:
        import redis

        from worker.core.errors import UnreachableError

        client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        store = RedisStateStore(client, namespace)

        class _Guarded:
            def load(self) -> RunState:
                try:
                    return store.load()
                except redis.RedisError as exc:
                    raise UnreachableError(f"redis: cannot read state ({type(exc).__name__})",
                                           hint="check REDIS_URL and that Redis is running") from None

            def save(self, state: RunState) -> None:
                try:
                    store.save(state)
                except redis.RedisError as exc:
                    raise UnreachableError(f"redis: cannot save state ({type(exc).__name__})",
                                           hint="check REDIS_URL and that Redis is running") from None

        return _Guarded()
    return FileStateStore(state_dir, namespace)
