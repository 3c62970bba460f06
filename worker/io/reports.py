"""Where reconciliation reports are kept: their summaries (the last N), the alert state, and the report files.

Summaries (:func:`worker.core.report.report_summary`) let each report say what is new since the previous
one and what was resolved; the alert state lets Slack alerts skip drift already announced. In Redis
(``tiersync:reports:<namespace>``, a list trimmed to ``keep``; ``tiersync:alert:<namespace>``) when
REDIS_URL is set, else in ``<state dir>/reports-<namespace>.jsonl`` and ``alert-<namespace>.json``.
Files are written whole to a temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from worker.core.errors import StateStoreError
from worker.io.atomicfile import replace_file
from worker.io.history import parse_json_objects
from worker.io.redisclient import redis_client

log = logging.getLogger(__name__)
KEEP = 30


class ReportStore(Protocol):
    """The kept report summaries and the alert state."""

    def previous(self) -> dict[str, Any] | None:
        """The newest kept summary, if any."""

    def append(self, summary: dict[str, Any]) -> None:
        """Keep one more summary (the oldest beyond ``keep`` are dropped)."""

    def recent(self, count: int = 10) -> list[dict[str, Any]]:
        """The newest ``count`` summaries, newest first."""

    def alert_state(self) -> str | None:
        """The saved alert state (JSON text), if any."""

    def save_alert_state(self, text: str) -> None:
        """Replace the alert state."""


class RedisReportStore:
    """Summaries in one Redis list (newest first) and the alert state in one key."""

    def __init__(self, client: Any, namespace: str, keep: int = KEEP) -> None:
        self._redis, self._keep = client, keep
        self.key, self.alert_key = f"tiersync:reports:{namespace}", f"tiersync:alert:{namespace}"

    def previous(self) -> dict[str, Any] | None:
        """The newest summary."""
        found = self.recent(1)
        return found[0] if found else None

    def append(self, summary: dict[str, Any]) -> None:
        """LPUSH and LTRIM in one transaction."""
        with self._redis.pipeline() as pipe:
            pipe.lpush(self.key, json.dumps(summary, sort_keys=True))
            pipe.ltrim(self.key, 0, self._keep - 1)
            pipe.execute()

    def recent(self, count: int = 10) -> list[dict[str, Any]]:
        """The newest ``count`` summaries (unreadable ones skipped)."""
        return parse_json_objects(self._redis.lrange(self.key, 0, max(0, count - 1)))

    def alert_state(self) -> str | None:
        """The alert state's JSON."""
        raw = self._redis.get(self.alert_key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def save_alert_state(self, text: str) -> None:
        """SET the alert state."""
        self._redis.set(self.alert_key, text)


class FileReportStore:
    """Summaries in a JSON-lines file and the alert state in a JSON file, under the state directory."""

    def __init__(self, directory: Path, namespace: str, keep: int = KEEP) -> None:
        self.path = directory / f"reports-{namespace}.jsonl"
        self.alert_path = directory / f"alert-{namespace}.json"
        self._keep = keep

    def previous(self) -> dict[str, Any] | None:
        """The newest summary."""
        found = self.recent(1)
        return found[0] if found else None

    def append(self, summary: dict[str, Any]) -> None:
        """Add a line; keep the last ``keep``; replace the file atomically."""
        lines = self._lines()
        lines = [*lines, json.dumps(summary, sort_keys=True)][-self._keep :]
        write_atomically(self.path, "\n".join(lines) + "\n")

    def recent(self, count: int = 10) -> list[dict[str, Any]]:
        """The newest ``count`` summaries (unreadable ones skipped)."""
        return parse_json_objects(list(reversed(self._lines()))[:count])

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise StateStoreError(f"cannot read the kept reports in {self.path} ({exc})",
                                  hint="move the damaged file aside; it only tells new drift from old") from None

    def alert_state(self) -> str | None:
        """The alert state's JSON."""
        try:
            return self.alert_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return None  # an unreadable alert state counts as none: at worst one alert is repeated

    def save_alert_state(self, text: str) -> None:
        """Replace the alert state atomically."""
        write_atomically(self.alert_path, text)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename.

    Raises:
        StateStoreError: the directory cannot be created or written (names the path).

    """
    try:
        replace_file(path, text)
    except OSError as exc:
        raise StateStoreError(f"cannot write {path} ({exc.strerror or exc})",
                              hint="choose a writable directory (--output, TIERSYNC_REPORT_DIR or TIERSYNC_STATE_DIR)")\
            from None


def prune_report_files(directory: Path, keep: int, prefix: str = "reconcile") -> int:
    """Delete the oldest ``<prefix>-*`` report files beyond the newest ``keep`` reports; returns how many went.

    Only names tiersync writes (``<prefix>-20261129T100000Z-<id>.<json|csv|html|md>``) are touched.
    """
    pattern = re.compile(rf"^{re.escape(prefix)}-\d{{8}}T\d{{6}}Z-[0-9a-z]+\.(json|csv|html|md)$")
    try:
        names = sorted(p.name for p in directory.iterdir() if pattern.match(p.name))
    except OSError:
        return 0
    stems = sorted({name.rsplit(".", 1)[0] for name in names})
    doomed = set(stems[:-keep]) if keep > 0 else set(stems)
    removed = 0
    for name in names:
        if name.rsplit(".", 1)[0] in doomed:
            try:
                (directory / name).unlink()
                removed += 1
            except OSError:
                continue
    return removed


def write_report_files(directory: Path, stem: str, rendered: Mapping[str, str], keep: int, prefix: str) -> list[Path]:
    """Write ``<stem>.<ext>`` for each extension -> text of ``rendered``; keep the newest ``keep`` reports.

    ``stem`` starts with ``prefix`` (``reconcile-...``, ``service-...``), which is what pruning looks for.
    """
    files = []
    for extension, text in rendered.items():
        path = directory / f"{stem}.{extension}"
        write_atomically(path, text)
        files.append(path)
    prune_report_files(directory, keep, prefix=prefix)
    return files


def open_report_store(redis_url: str | None, state_dir: Path, namespace: str, keep: int = KEEP) -> ReportStore:
    """Redis when ``redis_url`` is set, else files under ``state_dir``."""
    if redis_url:
        return RedisReportStore(redis_client(redis_url), namespace, keep)
    return FileReportStore(state_dir, namespace, keep)
