"""The run history file: damaged or full, it never fails a run and never loses what it held."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from worker.io.history import FileRunHistory


def test_damaged_bytes_are_skipped_and_the_run_is_still_recorded(tmp_path: Path) -> None:
    history = FileRunHistory(tmp_path, "x")
    history.path.write_bytes(b'\xff\xfe not utf-8\n{"run_id": "old"}\n')
    history.append({"run_id": "new"})  # used to raise UnicodeDecodeError: exit 1 after a finished run
    assert [entry["run_id"] for entry in history.recent()] == ["new", "old"]


def test_a_full_disk_keeps_the_old_history_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history = FileRunHistory(tmp_path, "x")
    history.append({"run_id": "old"})
    before = history.path.read_bytes()
    real_fdopen = os.fdopen

    def full(fd: int, *args: object, **kwargs: object) -> object:
        handle = real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

        def no_space(text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = no_space
        return handle

    with monkeypatch.context() as patch:
        patch.setattr(os, "fdopen", full)
        history.append({"run_id": "new"})  # logged, never raised
    assert history.path.read_bytes() == before  # replaced whole or not at all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history-x.jsonl"]
