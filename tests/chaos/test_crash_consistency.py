"""Crash consistency: tiersync killed with SIGKILL mid-run, over and over, against the HTTPS sandbox.

Each round, people change things (Salesforce tiers, an organization's tier in Zendesk, a managed trigger or
view edited, a managed object deleted), then ``tiersync sync --full``, ``routing apply`` or ``reconcile --fix``
(in turn) runs as a real process (``python -m worker.cli``) and is killed with SIGKILL right after the
sandbox has served its n-th request, n drawn from the round's seed: the request is applied, its answer never
arrives. After each kill every state file still parses; then ordinary runs (an incremental ``sync`` and a
``routing apply``) finish, and:

* no Salesforce change is lost: every in-scope organization holds the tier Salesforce says (worked out in
  ``tests.chaos.world``, not by tiersync), and every other organization keeps its value;
* no managed key has two objects (triggers, views, SLA policies, the owned trigger category);
* what people made (unmarked objects, organization fields tiersync does not map) is byte-identical;
* a dry run afterwards plans nothing.

``TIERSYNC_CHAOS_KILLS`` (default 50) sets how many kills must land; ``TIERSYNC_CHAOS_SEED`` the first seed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.chaos.world import (
    ChaosWorld,
    change_salesforce_tier,
    chaos_world,
    delete_managed,
    duplicates,
    edit_managed,
    expected_tiers,
    hand_edit_org_tier,
    lost_changes,
    managed,
    state_file_problems,
    tiers_now,
    unmanaged_snapshot,
)
from worker.sandbox.crash import RequestCountdown
from worker.sandbox.httpbase import Request, Response

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("TIERSYNC_CHAOS_KILLS", "50"))
FIRST_SEED = int(os.environ.get("TIERSYNC_CHAOS_SEED", "1900"))
COMMANDS: tuple[tuple[str, ...], ...] = (("sync", "--full"), ("routing", "apply"), ("reconcile", "--fix"))
WRITES = ("POST", "PUT", "DELETE", "PATCH")
RUN_TIMEOUT = 120.0


@dataclass
class Killed:
    """How one run went: whether the kill landed, after which request, how many requests and writes were served."""

    landed: bool
    at: tuple[str, str, str] | None
    served: int
    writes: int
    exit_code: int


def run_and_kill(world: ChaosWorld, args: tuple[str, ...], n: int, methods: tuple[str, ...] | None) -> Killed:
    """Run ``python -m worker.cli ARGS`` and SIGKILL it right after the sandbox has served its n-th request.

    With ``methods``, only those requests count (the n-th write).
    """
    pids: list[int] = []
    countdown = RequestCountdown(n, lambda: os.kill(pids[0], signal.SIGKILL), methods)
    writes = Counter[str]()

    def hook(service: str, request: Request, response: Response) -> None:
        writes["all"] += request.method in WRITES
        countdown(service, request, response)

    world.sandbox.after_each_request(hook)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        with subprocess.Popen([sys.executable, "-m", "worker.cli", *args], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
            pids.append(process.pid)
            _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    finally:
        world.sandbox.after_each_request(None)
    landed = process.returncode == -signal.SIGKILL
    assert landed or process.returncode == 0, (args, process.returncode, stderr.decode(errors="replace")[-2000:])
    return Killed(landed, countdown.fired, countdown.served, writes["all"], process.returncode)


def requests_of(world: ChaosWorld, args: tuple[str, ...]) -> int:
    """How many requests an ordinary in-process run of ``args`` makes (it must succeed)."""
    served = Counter[str]()

    def count(service: str, request: Request, response: Response) -> None:
        served["all"] += 1

    world.sandbox.after_each_request(count)
    try:
        run = world.cli(*args)
    finally:
        world.sandbox.after_each_request(None)
    assert run.exit_code == 0, (args, run.stdout[-2000:], run.stderr[-2000:])
    return served["all"]


def people_change(world: ChaosWorld, rng: random.Random) -> list[str]:
    """Between rounds: Salesforce tier changes, a managed object edited or deleted, now and then an
    organization's tier set by hand; so each command has writes to make. Returns what was done."""
    sandbox = world.sandbox
    done = [f"sf {change_salesforce_tier(sandbox, rng)}" for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        done.append(f"org {hand_edit_org_tier(sandbox, rng)}")
    if rng.random() < 0.5:
        done.append(f"edited {edit_managed(sandbox, rng)}")
    else:
        done.append(f"deleted {delete_managed(sandbox, rng)}")
    return done


def kill_point(rng: random.Random, bounds: tuple[int, int]) -> tuple[int, tuple[str, ...] | None]:
    """Half the rounds: the n-th request of any kind (1..requests); the others: the n-th write (1..writes)."""
    requests, writes = bounds
    if rng.random() < 0.5:
        return rng.randint(1, requests), None
    return rng.randint(1, writes), WRITES


def recover(world: ChaosWorld) -> None:
    """Ordinary runs after a crash: an incremental sync and a routing apply, a minute later; then a dry run."""
    world.sandbox.advance(61)  # past the minute the incremental export leaves out
    for args in (("sync",), ("routing", "apply")):
        run = world.cli(*args)
        assert run.exit_code == 0, (args, run.stdout[-3000:], run.stderr[-2000:])
    plan = world.cli("plan", "--full", "--json")
    assert plan.exit_code == 0, plan.stderr
    document = plan.json()
    assert document["writes"]["planned"] == 0, document["changes"]
    assert document["routing"]["writes"] == 0, document["routing"]["changes"]


@dataclass
class Tally:
    """The figures of a chaos session, and what went wrong (with the seed that shows it)."""

    counts: Counter[str] = field(default_factory=Counter)
    kill_points: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=lambda: {"killed runs": 0.0, "recovery runs": 0.0})
    problems: list[str] = field(default_factory=list)

    def note(self, what: str, found: list[str], where: str) -> None:
        """Count ``found`` under ``what``; keep the first few as problems."""
        self.counts[what] += len(found)
        self.problems += [f"{where}: {what}: {item}" for item in found][:3]

    def summary(self, rounds: int) -> str:
        """One line with every figure."""
        counts, points = self.counts, self.kill_points
        return (f"chaos: {counts['kills']} kills ({counts['kills sync']} sync --full, {counts['kills routing']} routing "
                f"apply, {counts['kills reconcile']} reconcile --fix; {points['write']} right after a write, "
                f"{points['read']} after a read), {counts['completed']} runs finished before their kill point, "
                f"seeds {FIRST_SEED}..{FIRST_SEED + rounds - 1}; lost changes {counts['lost changes']}, duplicates "
                f"{counts['duplicates']}, unmanaged touched {counts['unmanaged touched']}, half-written files "
                f"{counts['half-written files']}, temp files left {counts['temp files left']}; "
                f"{self.seconds['killed runs']:.0f} s in killed runs, {self.seconds['recovery runs']:.0f} s in "
                f"recovery runs")


def play_round(world: ChaosWorld, seed: int, args: tuple[str, ...], bound: dict[tuple[str, ...], tuple[int, int]],
               tally: Tally) -> None:
    """People change things, ``args`` runs and is killed at the seed's point, ordinary runs follow; all checked."""
    rng = random.Random(seed)
    changes = people_change(world, rng)
    before_tiers, before_foreign = tiers_now(world.sandbox), unmanaged_snapshot(world.sandbox)
    clock = time.monotonic()
    outcome = run_and_kill(world, args, *kill_point(rng, bound[args]))
    tally.seconds["killed runs"] += time.monotonic() - clock
    where = f"seed {seed} ({' '.join(args)} killed after {outcome.at}; people: {', '.join(changes)})"
    if outcome.landed:
        assert outcome.at is not None
        tally.counts["kills"] += 1
        tally.counts[f"kills {args[0]}"] += 1
        tally.kill_points["write" if outcome.at[1] in WRITES else "read"] += 1
    else:
        tally.counts["completed"] += 1
        bound[args] = (outcome.served, max(1, outcome.writes))
    broken, temporary = state_file_problems(world.state_dir)
    tally.note("half-written files", broken, where)
    tally.note("temp files left", temporary, where)
    touched = ["after the kill"] if unmanaged_snapshot(world.sandbox) != before_foreign else []

    clock = time.monotonic()
    recover(world)
    tally.seconds["recovery runs"] += time.monotonic() - clock
    tally.note("lost changes", lost_changes(world.sandbox, before_tiers), where)
    tally.note("duplicates", duplicates(world.sandbox), where)
    touched += ["after the next runs"] if unmanaged_snapshot(world.sandbox) != before_foreign else []
    tally.note("unmanaged touched", touched, where)
    tally.note("half-written files", state_file_problems(world.state_dir)[0], where)


@pytest.mark.timeout(60 + 8 * KILLS)
def test_sigkill_mid_run_loses_no_change_duplicates_nothing_and_touches_nothing_foreign(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with chaos_world(monkeypatch, tmp_path) as world:
        assert world.cli("sync", "--full").exit_code == 0
        assert world.cli("routing", "apply").exit_code == 0
        # how many requests and writes each command makes: a guess, then what its last finished run made
        bound: dict[tuple[str, ...], tuple[int, int]] = {args: (requests_of(world, args) + 2, 2) for args in COMMANDS}
        tally, rounds = Tally(), 0
        while tally.counts["kills"] < KILLS and rounds < 3 * KILLS:
            play_round(world, FIRST_SEED + rounds, COMMANDS[rounds % len(COMMANDS)], bound, tally)
            rounds += 1
        print("\n" + tally.summary(rounds))
        assert tally.counts["kills"] == KILLS, f"only {tally.counts['kills']} of {KILLS} kills landed"
        assert tally.kill_points["write"] > 0 or KILLS < 3
        assert tally.problems == []


def test_the_checks_see_a_lost_change_a_duplicate_a_touched_object_and_a_half_written_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The oracle of the chaos test, shown the faults it counts (so a zero there means something)."""
    with chaos_world(monkeypatch, tmp_path, accounts=12) as world:
        assert world.cli("sync", "--full").exit_code == 0
        assert world.cli("routing", "apply").exit_code == 0
        sandbox = world.sandbox
        tiers, foreign = tiers_now(sandbox), unmanaged_snapshot(sandbox)
        assert (lost_changes(sandbox, tiers), duplicates(sandbox), state_file_problems(world.state_dir)) == (
            [], [], ([], []))

        org_id, tag = next(iter(expected_tiers(sandbox).items()))
        other = next(t for t in ("tier_enterprise", "tier_starter") if t != tag)
        sandbox.zendesk.organizations[org_id]["organization_fields"]["support_tier"] = other
        assert lost_changes(sandbox, tiers) == [f"org {org_id}: {other!r}, Salesforce says {tag!r}"]

        trigger = managed(sandbox, "triggers")[0]
        sandbox.zendesk.create_trigger({key: trigger[key] for key in ("title", "description", "conditions",
                                                                      "actions")})
        assert len(duplicates(sandbox)) == 1

        sandbox.zendesk.organizations[org_id]["organization_fields"]["region"] = "moved"
        assert unmanaged_snapshot(sandbox) != foreign

        state_file = next(world.state_dir.glob("state-*.json"))
        state_file.write_text(state_file.read_text()[:-7])
        (world.state_dir / ".state-abc.json").write_text("{")
        broken, temporary = state_file_problems(world.state_dir)
        assert [line.split(":")[0] for line in broken] == [state_file.name]
        assert temporary == [".state-abc.json"]
