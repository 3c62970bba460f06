"""Run history: the last runs (id, trigger, counts, duration, API calls, error), newest first.

In Redis (``tiersync:history:<namespace>``, a list trimmed to :data:`KEEP` entries) when REDIS_URL
is set, else in ``<state dir>/history-<namespace>.jsonl``. History is for people (``tiersync
status``): a failure to record it is logged, never fails a run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

from worker.core.errors import StateStoreError
from worker.io.redisclient import redis_client

log = logging.getLogger(__name__)
KEEP = 50


class RunHistory(Protocol):
    """Where finished runs are listed."""

    def append(self, entry: dict[str, Any]) -> None:
        """Record one finished run (a JSON-able dict)."""

    def recent(self, count: int = 10) -> list[dict[str, Any]]:
        """The last ``count`` runs, newest first."""


class RedisRunHistory:
    """History in one Redis list, newest first."""

    def __init__(self, client: Any, namespace: str) -> None:
        self._redis = client
        self.key = f"tiersync:history:{namespace}"

    def append(self, entry: dict[str, Any]) -> None:
        """LPUSH and LTRIM in one transaction."""
        try:
            with self._redis.pipeline() as pipe:
                pipe.lpush(self.key, json.dumps(entry, sort_keys=True))
                pipe.ltrim(self.key, 0, KEEP - 1)
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - history never fails a run
            log.info("run history: cannot record the run in Redis (%s)", type(exc).__name__)

    def recent(self, count: int = 10) -> list[dict[str, Any]]:
        """The newest ``count`` entries (unreadable ones skipped)."""
        return parse_json_objects(self._redis.lrange(self.key, 0, max(0, count - 1)))


class FileRunHistory:
    """History in a JSON-lines file, replaced whole on each append; read newest first."""

    def __init__(self, directory: Path, namespace: str) -> None:
        self.path = directory / f"history-{namespace}.jsonl"

    def append(self, entry: dict[str, Any]) -> None:
        """Append one line; keep the file to KEEP lines.

        The file is replaced whole (a temporary file and a rename), so a full disk leaves the old history, not
        half of it; damaged bytes in it are kept as replacement characters, and their lines skipped when read.
        """
        from worker.io.reports import write_atomically  # reports reads history lines with parse_json_objects

        try:
            exists = self.path.exists()
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines() if exists else []
            write_atomically(self.path, "\n".join([*lines, json.dumps(entry, sort_keys=True)][-KEEP:]) + "\n")
        except OSError as exc:
            log.info("run history: cannot record the run in %s (%s)", self.path, exc.strerror)
        except StateStoreError as exc:
            log.info("run history: %s", exc.message)

    def recent(self, count: int = 10) -> list[dict[str, Any]]:
        """The newest ``count`` entries (unreadable ones skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return []
        return parse_json_objects(list(reversed(lines))[:count])


def parse_json_objects(raw: list[Any]) -> list[dict[str, Any]]:
    """The JSON objects among ``raw`` (lines or Redis values); anything unreadable is skipped."""
    entries = []
    for item in raw:
        try:
            entry = json.loads(item)
        except (TypeError, ValueError):
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def open_history(redis_url: str | None, state_dir: Path, namespace: str) -> RunHistory:
    """Redis when ``redis_url`` is set, else a file under ``state_dir``."""
    if redis_url:
        return RedisRunHistory(redis_client(redis_url), namespace)
    return FileRunHistory(state_dir, namespace)
