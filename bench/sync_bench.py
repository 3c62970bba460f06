"""Benchmark: tiersync against the HTTPS sandbox at scale. Prints figures; asserts nothing timed.

Runs the real `tiersync` CLI in a subprocess (so peak memory is the CLI's own) against the sandbox
served from this process, seeded with N accounts (default 10,000):

  1. sync --full --dry-run   (must write nothing)
  2. sync --full             (update_many calls must be ceil(changed / 100))
  3. sync                    (incremental a minute later: the export reads the full run's writes back)
  4. sync                    (incremental, nothing changed on either side: 1 Salesforce call, at most 1
                              Zendesk call, no write)
  5. 25 accounts change in Salesforce, 5 organizations are edited by hand in Zendesk, 3 accounts are
     deleted; then sync (must write the 30 in one update_many call and list the edits and deletions)
  6. sync                    (idle again)

The sandbox clock is moved on between runs (the export leaves out the last minute), as a schedule would.

Usage: python bench/sync_bench.py [--accounts N] [--second-precision]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.sandbox.seed import seed_demo  # noqa: E402
from worker.sandbox.server import Sandbox  # noqa: E402

WRITES = ("POST", "PUT", "DELETE", "PATCH")
UPDATE_MANY = "/api/v2/organizations/update_many"


def run_cli(args: list[str], env: dict[str, str]) -> tuple[dict, float, float, int]:
    """Run tiersync; return (json summary, seconds, peak RSS MiB of that process, exit code)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "worker.cli", *args], env=env, cwd=ROOT,
                                   stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage (Linux: ru_maxrss in KiB)
        process.returncode = code = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if code not in (0, 8):
            print(err.read(), file=sys.stderr)
            raise SystemExit(f"tiersync {' '.join(args)} exited {code}")
        return json.loads(out.read()), seconds, usage.ru_maxrss / 1024, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--second-precision", action="store_true",
                        help="SystemModstamp with whole seconds, as real Salesforce stores them")
    options = parser.parse_args()
    # ru_maxrss survives exec, so a child forked from this process (which holds the seeded sandbox)
    # would report this process's size. Children are launched from a small spawned process instead.
    launcher = multiprocessing.get_context("spawn").Pool(1)

    with launcher, Sandbox() as sandbox, tempfile.TemporaryDirectory() as state_dir:
        sandbox.salesforce.second_precision_modstamps = options.second_precision
        started = time.perf_counter()
        seeded = seed_demo(sandbox, accounts=options.accounts, seed=42)
        print(f"seeded {options.accounts:,} accounts, {len(sandbox.zendesk.organizations):,} organizations "
              f"in {time.perf_counter() - started:.1f}s")
        env = {**os.environ, **sandbox.env(), "TIERSYNC_STATE_DIR": state_dir,
               "TIERSYNC_CONFIG": str(ROOT / "config" / "tiers.yaml"), "TIERSYNC_LOG_LEVEL": "WARNING"}
        zd = sandbox.zendesk
        rows = []

        def step(label: str, args: list[str]) -> dict:
            zd.reset_requests()
            summary, seconds, peak, code = launcher.apply(run_cli, (args, env))
            writes = sum(zd.count(method=m) for m in WRITES)
            rows.append((label, seconds, summary["api_calls"].get("salesforce", {}).get("calls", 0),
                         summary["api_calls"].get("zendesk", {}).get("calls", 0), writes,
                         zd.count(method="PUT", path=UPDATE_MANY), summary.get("writes", {}).get("updated", 0),
                         peak, code))
            return summary

        dry = step("sync --full --dry-run", ["sync", "--full", "--dry-run", "--json"])
        assert rows[-1][4] == 0, "dry run wrote"
        full = step("sync --full", ["sync", "--full", "--json"])
        changed = full["writes"]["updated"]
        assert full["plan_fingerprint"] == dry["plan_fingerprint"], "the real run applied another plan"
        assert rows[-1][5] <= math.ceil(changed / 100), "more update_many calls than ceil(changed/100)"
        sandbox.advance(61)
        step("sync (read back)", ["sync", "--json"])
        assert rows[-1][4] == 0, "reading our own writes back wrote"
        sandbox.advance(300)
        step("sync (nothing changed)", ["sync", "--json"])
        assert rows[-1][4] == 0 and rows[-1][2] == 1 and rows[-1][3] <= 1, "idle run cost more than 1 + 1 calls"
        flips = {"Enterprise": "Starter", "Tier 1": "Tier 3", "Professional": "Enterprise", "Tier 2": "Tier 1",
                 "Starter": "Professional", "Tier 3": "Tier 2"}
        usable = [i for i, a in sandbox.salesforce.accounts.items() if a["Type"] == "Customer"
                  and a["Support_Tier__c"] in flips and i not in seeded.duplicate_account_ids
                  and i not in seeded.account_ids_without_org]
        changed_ids, edited_ids, deleted_ids = usable[:25], usable[25:30], usable[30:33]
        for account_id in changed_ids:
            account = sandbox.salesforce.accounts[account_id]
            sandbox.salesforce.update_account(account_id, Support_Tier__c=flips[account["Support_Tier__c"]])
        by_external = {(o["external_id"] or "")[:15].lower(): i for i, o in zd.organizations.items()}
        for account_id in edited_ids:
            zd.set_org_field(by_external[account_id[:15].lower()], "support_tier", None)
        for account_id in deleted_ids:
            sandbox.salesforce.delete_account(account_id)
        sandbox.advance(61)
        both = step("both sides changed", ["sync", "--json"])
        assert rows[-1][5] == 1 and rows[-1][6] == 30, "25 changes and 5 restores were not one update_many of 30"
        assert len(both["manual_edits"]) == 5 and len(both["removed"]) == 3, "hand edits or removals not listed"
        sandbox.advance(300)
        step("sync (idle again)", ["sync", "--json"])
        assert rows[-1][4] == 0 and rows[-1][2] == 1 and rows[-1][3] <= 1, "idle run cost more than 1 + 1 calls"

    print(f"\n{'run':<24}{'seconds':>9}{'SF calls':>10}{'ZD calls':>10}{'ZD writes':>11}"
          f"{'update_many':>13}{'orgs updated':>14}{'peak RSS MiB':>14}")
    for label, seconds, sf, zdc, writes, many, updated, peak, _ in rows:
        print(f"{label:<24}{seconds:>9.1f}{sf:>10,}{zdc:>10,}{writes:>11,}{many:>13,}{updated:>14,}{peak:>14.0f}")
    print(f"\nfull run: {changed:,} organizations set with {rows[1][5]} update_many calls "
          f"(ceil({changed}/100) = {math.ceil(changed / 100)}); a PUT per organization would take {changed:,}.")
    print("peak RSS: maximum resident set size of that tiersync process (os.wait4 rusage).")


if __name__ == "__main__":
    main()
