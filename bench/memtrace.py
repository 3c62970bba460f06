"""Run ``python -m worker.cli ...`` under tracemalloc and write where the memory is at its peak.

Used by ``scale_bench.py --memory DIR``: a watcher thread takes a snapshot whenever the traced memory
grows 10% past the last snapshot, so the last one is within 10% of the peak; at exit the top allocation
sites of that snapshot (by line, then by file) go to the file named by ``TIERSYNC_MEMTRACE_OUT``.
tracemalloc slows the run two to three times: read its figures for where the memory goes, not for time.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
import threading
import tracemalloc

FRAMES = int(os.environ.get("TIERSYNC_MEMTRACE_FRAMES", "1"))  # more frames: slower, deeper tracebacks
TOP = 30


class PeakWatcher:
    """Keeps the snapshot closest to the peak of traced memory."""

    def __init__(self) -> None:
        self.snapshot: tracemalloc.Snapshot | None = None
        self.size = 0
        self.stop = threading.Event()

    def watch(self) -> None:
        while not self.stop.wait(0.2):
            current, _ = tracemalloc.get_traced_memory()
            if current > self.size * 1.1:
                self.snapshot, self.size = tracemalloc.take_snapshot(), current

    def write(self, path: str) -> None:
        self.stop.set()
        _, peak = tracemalloc.get_traced_memory()
        if self.snapshot is None:
            return
        snapshot = self.snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        with open(path, "w") as out:
            out.write(f"traced peak {peak / 2**20:.1f} MiB; snapshot at {self.size / 2**20:.1f} MiB\n\n")
            for key in ("lineno", "filename"):
                out.write(f"top {TOP} by {key}:\n")
                for stat in snapshot.statistics(key)[:TOP]:
                    frame = stat.traceback[0]
                    out.write(f"{stat.size / 2**20:8.1f} MiB {stat.count:9,} blocks  {frame.filename}:{frame.lineno}\n")
                out.write("\n")
            out.write("top 10 by traceback:\n")
            for stat in snapshot.statistics("traceback")[:10]:
                out.write(f"{stat.size / 2**20:8.1f} MiB {stat.count:9,} blocks\n")
                out.writelines(f"      {line}\n" for line in stat.traceback.format())


def main() -> None:
    tracemalloc.start(FRAMES)
    watcher = PeakWatcher()
    threading.Thread(target=watcher.watch, daemon=True).start()
    atexit.register(watcher.write, os.environ["TIERSYNC_MEMTRACE_OUT"])
    sys.argv = ["tiersync", *sys.argv[1:]]
    runpy.run_module("worker.cli", run_name="__main__")


if __name__ == "__main__":
    main()
