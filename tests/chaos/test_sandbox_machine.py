"""Property-based layer over the HTTPS sandbox: Hypothesis interleaves what people do with tiersync's runs.

``tests/unit/test_engine_properties.py`` checks each account's outcome over in-memory fakes; this machine runs
the real CLI (in process) against the fake Salesforce and Zendesk servers, routing included, and adds what
only a wire can do: a run whose writes start failing after the n-th one, a run whose connection dies after
the n-th request (every later request is applied, then cut: a crash, seen from the server), a write Zendesk
makes but answers with an error (a ghost write), rejected rows in an ``update_many`` job, and reads that fail. People change tiers in Salesforce, delete accounts, delete
organizations, set an organization's tier by hand, edit managed triggers and views, and make their own
unmarked objects. After every step:

* I3: at most one object per managed key (and one owned trigger category);
* I4: unmarked triggers, views, SLA policies, foreign categories and every organization field tiersync does
  not map are byte-identical to what people left; organizations out of scope keep their tier;
* every state file parses.

In the steps themselves:

* I5: a run whose read fails writes nothing at all (no create, no delete, no organization written);
* I1: an ordinary run (``rerun``) leaves every in-scope organization with its Salesforce tier, rows Zendesk
  rejected before included (an incremental run must retry them), and a full run gives every in-scope
  account exactly one outcome;
* I2: after an ordinary run, a dry run plans nothing, and applying again writes nothing.

Bounded by default; ``TIERSYNC_CHAOS_EXAMPLES`` and ``TIERSYNC_CHAOS_STEPS`` make a longer soak.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.chaos.world import (
    ChaosWorld,
    Run,
    add_persons_objects,
    change_salesforce_tier,
    chaos_tier_file,
    delete_managed,
    duplicates,
    edit_managed,
    expected_tiers,
    hand_edit_org_tier,
    managed,
    state_file_problems,
    tiers_now,
    unmanaged_snapshot,
)
from worker.sandbox.crash import DropAfter
from worker.sandbox.httpbase import Request, Response
from worker.sandbox.seed import seed_demo
from worker.sandbox.server import Sandbox

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

EXAMPLES = int(os.environ.get("TIERSYNC_CHAOS_EXAMPLES", "16"))
STEPS = int(os.environ.get("TIERSYNC_CHAOS_STEPS", "20"))
WRITES = ("POST", "PUT", "DELETE", "PATCH")
GHOST_PATHS = {"triggers": "/api/v2/triggers", "views": "/api/v2/views", "sla_policies": "/api/v2/slas/policies"}
APPLYING = (("sync", "--full"), ("routing", "apply"), ("reconcile", "--fix"))
FAILED_READS = (  # (service, method, path part, status, a command that reads it)
    ("zendesk", "GET", "/api/v2/triggers", 500, ("routing", "apply")),
    ("zendesk", "GET", "/api/v2/views", 403, ("reconcile", "--fix")),
    ("zendesk", "GET", "/api/v2/slas/policies", 503, ("routing", "apply")),
    ("zendesk", "GET", "/api/v2/organizations", 500, ("sync", "--full")),
    ("zendesk", "GET", "/api/v2/organization_fields", 500, ("reconcile", "--fix")),
    ("salesforce", "GET", "/query", 500, ("sync", "--full")),
)


class WriteCounter:
    """A sandbox hook counting the write requests served; after ``fail_after`` writes, arms 500s for every write."""

    def __init__(self, world: ChaosWorld, fail_after: int | None = None) -> None:
        self.world, self.fail_after = world, fail_after
        self.writes: list[tuple[str, str]] = []

    def __call__(self, service: str, request: Request, response: Response) -> None:
        if request.method not in WRITES:
            return
        self.writes.append((request.method, request.path))
        if self.fail_after is not None and len(self.writes) == self.fail_after:
            for method in WRITES:
                self.world.sandbox.zendesk.fail_next(1000, 500, {"error": "InternalServerError"}, method=method)


class SandboxMachine(RuleBasedStateMachine):
    """One seeded sandbox per example; tiersync runs through the CLI in this process."""

    make_world: Callable[[int], ChaosWorld]
    tally: Counter[str]

    @initialize(seed=st.integers(0, 10_000))
    def seed_world(self, seed: int) -> None:
        self.world = self.make_world(seed)
        self.rng = random.Random(seed)
        self.needs_full = True  # an incremental run cannot see an organization deleted (claims change)
        self.people_done()

    def teardown(self) -> None:
        """Every example ends with an ordinary run (I1, I2 checked), then its sandbox stops."""
        world = getattr(self, "world", None)
        if world is None:
            return
        try:
            self.rerun()
        finally:
            world.sandbox.stop()
        assert world.sandbox.errors == []

    # -- people ------------------------------------------------------------------------------------
    def people_done(self) -> None:
        """What tiersync must leave as it is from now on."""
        self.foreign = unmanaged_snapshot(self.world.sandbox)
        self.tiers = tiers_now(self.world.sandbox)

    @rule(count=st.integers(1, 3))
    def salesforce_tier_changes(self, count: int) -> None:
        for _ in range(count):
            change_salesforce_tier(self.world.sandbox, self.rng)
        self.people_done()

    @rule()
    def agent_sets_org_tier_by_hand(self) -> None:
        hand_edit_org_tier(self.world.sandbox, self.rng)
        self.people_done()

    @rule()
    def person_edits_managed_object(self) -> None:
        edit_managed(self.world.sandbox, self.rng)
        self.people_done()

    @rule()
    def person_deletes_managed_object(self) -> None:
        delete_managed(self.world.sandbox, self.rng)
        self.people_done()

    @rule(kind=st.sampled_from(["trigger", "view"]), n=st.integers(0, 99))
    def person_makes_unmarked_object(self, kind: str, n: int) -> None:
        zendesk = self.world.sandbox.zendesk
        if kind == "trigger":
            zendesk.create_trigger({
                "title": "[tiersync] Route Professional tickets", "description": f"copied by hand {n}",
                "conditions": {"all": [{"field": "status", "operator": "is", "value": "new"}], "any": []},
                "actions": [{"field": "priority", "value": "normal"}]})
        else:
            zendesk.create_view({"title": "[tiersync] Starter queue", "description": f"mine {n}",
                                 "all": [{"field": "status", "operator": "less_than", "value": "solved"}],
                                 "any": [], "output": {"columns": ["status", "requester"]}})
        self.people_done()

    @rule()
    def salesforce_account_deleted(self) -> None:
        salesforce = self.world.sandbox.salesforce
        live = sorted(a for a, r in salesforce.accounts.items() if not r["IsDeleted"])
        salesforce.delete_account(self.rng.choice(live))
        self.people_done()

    @rule()
    def organization_deleted(self) -> None:
        zendesk = self.world.sandbox.zendesk
        zendesk.delete_organization(self.rng.choice(sorted(zendesk.organizations)))
        self.needs_full = True
        self.people_done()

    # -- tiersync, disturbed -------------------------------------------------------------------------
    @rule(command=st.sampled_from(APPLYING), fail_after=st.integers(0, 6))
    def apply_fails_after_n_writes(self, command: tuple[str, ...], fail_after: int) -> None:
        zendesk = self.world.sandbox.zendesk
        if fail_after == 0:
            for method in WRITES:
                zendesk.fail_next(1000, 500, {"error": "InternalServerError"}, method=method)
        try:
            self.disturbed(command, WriteCounter(self.world, fail_after or None))
        finally:
            zendesk.faults.clear()

    @rule(command=st.sampled_from(APPLYING), n=st.integers(1, 40))
    def crash_after_n_requests(self, command: tuple[str, ...], n: int) -> None:
        self.disturbed(command, DropAfter(n))

    @rule(kind=st.sampled_from(["triggers", "views", "sla_policies"]),
          command=st.sampled_from([("routing", "apply"), ("reconcile", "--fix")]), status=st.sampled_from([500, 504]))
    def ghost_create(self, kind: str, command: tuple[str, ...], status: int) -> None:
        """A person deletes a managed object; tiersync creates it again, and Zendesk makes it but answers an error."""
        sandbox = self.world.sandbox
        objects = managed(sandbox, kind)
        if objects:
            with sandbox.zendesk.lock:
                del getattr(sandbox.zendesk, kind)[objects[0]["id"]]
            self.people_done()
        self.ghost_write(command, "POST", GHOST_PATHS[kind], status)

    @rule(command=st.sampled_from([("sync", "--full"), ("reconcile", "--fix")]), status=st.sampled_from([500, 504]))
    def ghost_update_many(self, command: tuple[str, ...], status: int) -> None:
        """Zendesk queues an update_many job but answers an error."""
        change_salesforce_tier(self.world.sandbox, self.rng, odd=False)  # so that there is likely a write to make
        self.people_done()
        self.ghost_write(command, "PUT", "/organizations/update_many", status)

    def ghost_write(self, command: tuple[str, ...], method: str, path: str, status: int) -> None:
        zendesk = self.world.sandbox.zendesk
        zendesk.commit_then_fail_next(1, status, method, path_contains=path)
        try:
            self.run(*command)
        finally:
            self.tally[f"ghost writes made: {method} {path}"] += not any(
                rule.path_contains == path for rule in zendesk.ghost_writes)
            zendesk.ghost_writes.clear()

    @rule(rows=st.integers(1, 4))
    def zendesk_rejects_rows(self, rows: int) -> None:
        zendesk = self.world.sandbox.zendesk
        chosen = set(self.rng.sample(sorted(zendesk.organizations), rows))
        zendesk.fail_org_ids = set(chosen)
        try:
            run = self.run("sync", "--full", "--json")
        finally:
            zendesk.fail_org_ids = set()
        assert run.exit_code in (0, 8), run.stderr
        failed = {f["organization_id"] for f in run.json()["failed"]}
        assert failed <= chosen, failed - chosen
        assert (run.exit_code == 8) == bool(failed)

    @rule(fault=st.sampled_from(FAILED_READS))
    def a_read_fails(self, fault: tuple[str, str, str, int, tuple[str, ...]]) -> None:
        service, method, path, status, command = fault
        sandbox = self.world.sandbox
        body: Any = {"error": "Failure"} if service == "zendesk" else [{"message": "down", "errorCode": "SERVER"}]
        if service == "zendesk":
            sandbox.zendesk.fail_next(5, status, body, path_contains=path, method=method)
        else:
            sandbox.salesforce.fail_next(5, status, body, path_contains=path)
        reads_before = self.reads_of(service, path)
        counter = WriteCounter(self.world)
        try:
            run = self.run(*command, hook=counter)
        finally:
            sandbox.zendesk.faults.clear()
            sandbox.salesforce.clear_faults()
        if self.reads_of(service, path) == reads_before:
            return  # the command did not get as far as that read
        assert run.exit_code != 0, f"{command} ignored a failed read of {path}"
        assert counter.writes == [], f"{command} wrote {counter.writes} after a failed read of {path} (I5)"
        self.tally["checked: I5 (a failed read wrote nothing)"] += 1

    def reads_of(self, service: str, path: str) -> int:
        """How many requests to a path containing ``path`` the service has served."""
        if service == "zendesk":
            return sum(1 for _, served, _ in self.world.sandbox.zendesk.requests if path in served)
        return sum(1 for _, served in self.world.sandbox.salesforce.requests if path in served)

    def disturbed(self, command: tuple[str, ...], hook: Callable[[str, Request, Response], None]) -> None:
        """Run ``command`` with ``hook`` on the sandbox; any exit code will do, the invariants must hold."""
        self.run(*command, hook=hook)

    # -- tiersync, ordinary -----------------------------------------------------------------------------
    @rule()
    def plan_writes_nothing(self) -> None:
        counter = WriteCounter(self.world)
        run = self.run("plan", "--full", "--json", hook=counter)
        assert run.exit_code == 0, run.stderr
        assert counter.writes == [], f"a dry run wrote {counter.writes}"

    @rule()
    def rerun(self) -> None:
        sync = ("sync", "--full", "--json") if self.needs_full else ("sync", "--json")
        run = self.run(*sync)
        assert run.exit_code == 0, (sync, run.stdout[-3000:], run.stderr[-2000:])
        if self.needs_full:
            self.check_one_outcome_each(run.json())
            self.needs_full = False
        routing = self.run("routing", "apply")
        assert routing.exit_code == 0, (routing.stdout[-3000:], routing.stderr[-2000:])
        expected, now = expected_tiers(self.world.sandbox), tiers_now(self.world.sandbox)
        lost = {org_id: (now.get(org_id), tag) for org_id, tag in expected.items() if now.get(org_id) != tag}
        assert lost == {}, f"I1: Salesforce tiers not in Zendesk after {sync}: {lost}"
        plan = self.run("plan", "--full", "--json")
        assert plan.exit_code == 0, plan.stderr
        document = plan.json()
        assert document["writes"]["planned"] == 0, f"I2: {document['changes']}"
        assert document["routing"]["writes"] == 0, f"I2: {document['routing']['changes']}"
        counter = WriteCounter(self.world)
        again = self.run("routing", "apply", hook=counter)
        assert again.exit_code == 0 and counter.writes == [], f"I2: applying again wrote {counter.writes}"
        self.tally[f"checked: I1 and I2 after an ordinary {' '.join(a for a in sync if a != '--json')}"] += 1

    def check_one_outcome_each(self, document: dict[str, Any]) -> None:
        """I1 on a full run: one outcome per in-scope account, worked out from the Salesforce records."""
        in_scope = sum(1 for r in self.world.sandbox.salesforce.accounts.values()
                       if r["Type"] == "Customer" and not r["IsDeleted"])
        assert document["accounts"] == in_scope == sum(document["outcomes"].values()), document["outcomes"]

    def run(self, *args: str, hook: Callable[[str, Request, Response], None] | None = None) -> Run:
        """One CLI run a minute after the last (the export's window and its last minute are behind us)."""
        sandbox = self.world.sandbox
        sandbox.advance(61)
        sandbox.after_each_request(hook)
        try:
            run = self.world.cli(*args)
        finally:
            sandbox.after_each_request(None)
        self.tally[f"{' '.join(a for a in args if a != '--json')} -> {run.exit_code}"] += 1
        return run

    # -- after every step ------------------------------------------------------------------------------
    @invariant()
    def one_object_per_managed_key(self) -> None:
        found = duplicates(self.world.sandbox)
        assert found == [], f"I3: several objects for one managed key: {found}"

    @invariant()
    def what_people_made_is_untouched(self) -> None:
        assert unmanaged_snapshot(self.world.sandbox) == self.foreign, "I4: an unmarked object or field changed"
        expected, now = expected_tiers(self.world.sandbox), tiers_now(self.world.sandbox)
        moved = {org_id: (self.tiers.get(org_id), now[org_id]) for org_id in now
                 if org_id not in expected and now[org_id] != self.tiers.get(org_id)}
        assert moved == {}, f"I4: organizations out of scope changed: {moved}"

    @invariant()
    def state_files_parse(self) -> None:
        broken, _ = state_file_problems(self.world.state_dir)
        assert broken == []


@pytest.mark.timeout(60 + 30 * EXAMPLES * max(1, STEPS // 10))
def test_invariants_hold_across_interleavings_over_https(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    examples: list[int] = []

    def make_world(seed: int) -> ChaosWorld:
        examples.append(seed)
        directory = tmp_path / f"example-{len(examples)}"
        directory.mkdir()
        sandbox = Sandbox().start()
        seed_demo(sandbox, accounts=12, seed=seed)
        add_persons_objects(sandbox)
        state_dir = directory / "state"
        env = {**sandbox.env(), "TIERSYNC_CONFIG": str(chaos_tier_file(directory / "tiers.yaml")),
               "TIERSYNC_STATE_DIR": str(state_dir), "TIERSYNC_MAX_ATTEMPTS": "1"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return ChaosWorld(sandbox, directory / "tiers.yaml", state_dir, env)

    class Machine(SandboxMachine):
        tally: Counter[str] = Counter()

    Machine.make_world = staticmethod(make_world)
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]))
    print(f"\nmachine: {len(examples)} examples of up to {STEPS} steps; runs (command -> exit code): "
          + ", ".join(f"{name} x{n}" for name, n in sorted(Machine.tally.items())))
    assert len(examples) >= EXAMPLES
