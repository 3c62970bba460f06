"""Run ``python -m worker.cli ...`` and print (stderr) its resident memory at each stage of the one path.

Used by ``scale_bench.py --rss DIR``: RSS on entering and leaving the engine's stages, and the peak
(sampled every 20 ms) with the stage it was reached in. Unlike tracemalloc (bench/memtrace.py) it
costs next to nothing and sees what the operating system sees: imports, C libraries, and memory
Python freed but kept.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import runpy
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

STAGES = {"worker.engine": ("_load_state", "read_sides", "_plan_organizations", "_apply", "_next_state",
                             "_record_history"),
          "worker.cli.common": ("run_summary", "write_json")}
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_mib() -> float:
    """This process's resident set, MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


class Timeline:
    """RSS at each stage's entry and exit, and the peak with the stage it was reached in."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.stage = "start"
        self.peak, self.peak_stage = 0.0, "start"

    def sample(self) -> None:
        while True:
            current = resident_mib()
            if current > self.peak:
                self.peak, self.peak_stage = current, self.stage
            time.sleep(0.02)

    def wrap(self, module: ModuleType, name: str) -> None:
        function: Callable[..., Any] = getattr(module, name)

        @functools.wraps(function)
        def staged(*args: Any, **kwargs: Any) -> Any:
            self.stage = name
            self.marks.append((f"> {name}", resident_mib()))
            try:
                return function(*args, **kwargs)
            finally:
                self.marks.append((f"< {name}", resident_mib()))
                self.stage = f"after {name}"

        setattr(module, name, staged)

    def report(self) -> None:
        lines = [f"  {mark:28s} {mib:7.1f} MiB\n" for mark, mib in self.marks]
        sys.stderr.write("RSS timeline:\n" + "".join(lines) + f"  peak {self.peak:.1f} MiB during {self.peak_stage}\n")


def main() -> None:
    timeline = Timeline()
    threading.Thread(target=timeline.sample, daemon=True).start()
    for module_name, names in STAGES.items():  # imported after the timeline starts: imports are measured too
        module = importlib.import_module(module_name)
        for name in names:
            timeline.wrap(module, name)
    atexit.register(timeline.report)
    sys.argv = ["tiersync", *sys.argv[1:]]
    runpy.run_module("worker.cli", run_name="__main__")


if __name__ == "__main__":
    main()
