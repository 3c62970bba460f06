"""State files survive a process killed in the middle of writing them.

A child process writes a state file (run state, run history, kept report summaries) under a file-size limit
with ``SIGXFSZ`` at its default action, so the kernel kills it part-way through the write: a crash at the worst
moment, deterministically. The file must still hold exactly what it held before (whole, parseable), and the
next write must work. The run history used to be rewritten in place (``write_text``): such a crash left it
cut in the middle of a line, with the older entries at risk.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chaos.world import state_file_problems
from worker.core.runstate import RunState
from worker.io.history import FileRunHistory
from worker.io.reports import FileReportStore
from worker.io.state import FileStateStore

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "localhost_1234"
ENTRY = {"run_id": "r" * 40, "exit_code": 0, "notes": ["x" * 400]}

CHILD = """
import resource, signal, sys
from pathlib import Path
from worker.core.runstate import RunState
from worker.io.history import FileRunHistory
from worker.io.reports import FileReportStore
from worker.io.state import FileStateStore

which, directory, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
entry = {"run_id": "r" * 40, "exit_code": 0, "notes": ["x" * 400]}
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; the default kills the process mid-write
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
if which == "history":
    FileRunHistory(directory, "localhost_1234").append(entry)
elif which == "reports":
    FileReportStore(directory, "localhost_1234").append(entry)
else:
    FileStateStore(directory, "localhost_1234").save(RunState(watermark="2026-11-29T10:00:00.000+0000", population=7,
                                                              zendesk_seen=tuple(range(300))))
"""


def write_before(which: str, directory: Path) -> Path:
    """Three runs' worth of the file, written the ordinary way; returns its path."""
    if which == "history":
        history = FileRunHistory(directory, NAMESPACE)
        for n in range(3):
            history.append({**ENTRY, "run_id": f"run-{n}"})
        return history.path
    if which == "reports":
        reports = FileReportStore(directory, NAMESPACE)
        for n in range(3):
            reports.append({**ENTRY, "run_id": f"run-{n}"})
        return reports.path
    store = FileStateStore(directory, NAMESPACE)
    store.save(RunState(watermark="2026-11-29T09:00:00.000+0000", population=3))
    return store.path


@pytest.mark.parametrize("which", ["history", "reports", "state"])
def test_a_process_killed_while_writing_a_state_file_leaves_it_whole_for_the_next_run(which: str,
                                                                                    tmp_path: Path) -> None:
    path = write_before(which, tmp_path)
    before = path.read_bytes()
    limit = len(before) + 20  # the new content is longer: the write dies 20 bytes past the old size
    child = subprocess.run([sys.executable, "-c", CHILD, which, str(tmp_path), str(limit)],
                           env={"PYTHONPATH": str(ROOT)}, capture_output=True, timeout=60, check=False)
    assert child.returncode == -signal.SIGXFSZ, child.stderr.decode(errors="replace")
    assert path.read_bytes() == before
    broken, _ = state_file_problems(tmp_path)
    assert broken == []
    if which == "state":
        store = FileStateStore(tmp_path, NAMESPACE)
        assert store.load().watermark == "2026-11-29T09:00:00.000+0000"
        store.save(RunState(population=4))  # the next run's save works
        assert store.load().population == 4
        return
    assert [json.loads(line)["run_id"] for line in before.decode().splitlines()] == ["run-0", "run-1", "run-2"]
    writer = FileRunHistory(tmp_path, NAMESPACE) if which == "history" else FileReportStore(tmp_path, NAMESPACE)
    writer.append({**ENTRY, "run_id": "run-3"})  # the next run's entry joins every earlier one
    assert [e["run_id"] for e in writer.recent(10)] == ["run-3", "run-2", "run-1", "run-0"]
