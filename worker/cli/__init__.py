"""The ``tiersync`` command: a package of thin command modules over the engine's one path.

Each module registers its commands on the one Typer ``app`` (worker/cli/common.py):
``sync`` (sync, resync, run), ``explain``, ``doctor`` and ``demo``; the routing, reconcile,
status and service-report commands join as modules of their own.
"""

from __future__ import annotations

import sys

from worker.cli import demo, doctor, explain, reconcile, report, routing, status, sync  # noqa: F401 - importing registers the commands
from worker.cli.common import app, err
from worker.core.errors import ExitCode
from worker.core.redaction import redact
from worker.render.text import literal

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: unexpected errors exit 1 with a redacted one-line cause."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback, no secrets
        err.print(f"[red]internal error:[/red] {literal(f'{type(exc).__name__}: {redact(str(exc))[:300]}')}")
        err.print("[dim]fix:[/dim] this is a tiersync bug; re-run with TIERSYNC_LOG_LEVEL=DEBUG and report it")
        sys.exit(int(ExitCode.INTERNAL))
