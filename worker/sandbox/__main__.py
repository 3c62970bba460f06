"""``python -m worker.sandbox --accounts N``: run both fake services until Ctrl-C or SIGTERM.

Prints ``export VAR=value`` lines on stdout (``eval "$(python -m worker.sandbox ...)"`` style use needs
the process to keep running, so redirect them to a file and source it from another shell).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from types import FrameType

from worker.sandbox.seed import seed_demo
from worker.sandbox.server import Sandbox


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m worker.sandbox", description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000, help="demo Accounts to seed (default 1000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for the demo data")
    parser.add_argument("--zendesk-rate-limit", type=int, default=100_000, help="Zendesk requests per minute")
    parser.add_argument("--salesforce-daily-limit", type=int, default=1_000_000, help="Salesforce API calls/day")
    parser.add_argument("--salesforce-port", type=int, default=0, help="fixed port (default: any free port)")
    parser.add_argument("--zendesk-port", type=int, default=0, help="fixed port (default: any free port)")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with Sandbox(zendesk_rate_limit_per_minute=args.zendesk_rate_limit,
                 salesforce_daily_limit=args.salesforce_daily_limit,
                 salesforce_port=args.salesforce_port, zendesk_port=args.zendesk_port) as sb:
        summary = seed_demo(sb, accounts=args.accounts, seed=args.seed)
        for name, value in sb.env().items():
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        print(f"# sandbox up: {summary.accounts} accounts, {summary.organizations} organizations; "
              "Ctrl-C to stop", file=sys.stderr)
        while not stop.wait(0.5):
            pass
    print("# sandbox stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
