"""Fault matrix (timeouts, 5xx, 429, quota, expired sessions, partial writes) at the engine level, over HTTPS, with a fake clock for waits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_CONFIG
from tests.integration.conftest import WRITE_METHODS
from worker.core.config import load_tier_file
from worker.core.errors import ExitCode
from worker.engine import SyncRequest, run_sync
from worker.sandbox.seed import seed_demo
from worker.sandbox.server import ManualClock, Sandbox
from worker.services import build_services
from worker.settings import Settings

pytestmark = pytest.mark.integration


@dataclass
class Rig:
    sandbox: Sandbox
    clock: ManualClock
    state_dir: Path
    sleeps: list[float]

    def run(self, mode: str = "full", *, dry_run: bool = False, **settings: object):
        values = {k.lower(): v for k, v in self.sandbox.env().items() if k != "REQUESTS_CA_BUNDLE"}
        values |= {"tiersync_state_dir": str(self.state_dir), "tiersync_max_attempts": 3} | settings
        services = build_services(Settings.model_validate(values), load_tier_file(EXAMPLE_CONFIG), sleep=self.sleep)
        request = SyncRequest(mode=mode, dry_run=dry_run)  # type: ignore[arg-type]
        return run_sync(load_tier_file(EXAMPLE_CONFIG), services, request)

    def sleep(self, seconds: float) -> None:  # waits move the sandbox's clock, never the test's
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def writes(self) -> int:
        return sum(self.sandbox.zendesk.count(method=m) for m in WRITE_METHODS)

    def tiers(self) -> dict[int, object]:
        return {i: o["organization_fields"].get("support_tier") for i, o in self.sandbox.zendesk.organizations.items()}


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Rig]:
    clock = ManualClock()
    with Sandbox(clock=clock) as sandbox:
        seed_demo(sandbox, accounts=400, seed=3)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_path)
        yield Rig(sandbox, clock, tmp_path / "state", [])


def test_failed_organization_page_aborts_before_any_write(rig: Rig) -> None:
    rig.sandbox.zendesk.fail_next(5, 500, {"error": "InternalError"}, path_contains="page[after]")
    record = rig.run()
    assert record.exit_code == ExitCode.UNREACHABLE
    assert record.plan is None and rig.writes() == 0
    assert not list(rig.state_dir.glob("state-*.json"))  # the state was not touched


def test_salesforce_daily_limit_exhausted_stops_without_writing(rig: Rig) -> None:
    rig.sandbox.salesforce.api_used = rig.sandbox.salesforce.daily_limit
    record = rig.run()
    assert record.exit_code == ExitCode.RATE_LIMITED
    assert "daily API request limit" in (record.error or "")
    assert not record.retryable  # quota: retrying soon cannot help
    assert rig.writes() == 0
    assert len(rig.sandbox.salesforce.requests) == 1  # never retried hot


def test_usage_ceiling_stops_before_apply(rig: Rig) -> None:
    rig.sandbox.salesforce.daily_limit = 100
    rig.sandbox.salesforce.api_used = 85
    record = rig.run()
    assert record.exit_code == ExitCode.RATE_LIMITED
    assert "at or above salesforce.max_api_usage_fraction 80%" in (record.error or "")
    assert rig.writes() == 0


def test_session_expiring_mid_query_is_a_clean_failure(rig: Rig) -> None:
    sf = rig.sandbox.salesforce
    for _ in range(2100):  # more than one 2,000-record page, so the query has a second page
        sf.add_account(Type="Customer", Support_Tier__c="Starter")
    sf.fail_next(1, 401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}],
                 path_contains="/query/01g")
    record = rig.run()
    assert record.exit_code == ExitCode.AUTH
    assert "INVALID_SESSION_ID" in (record.error or "")
    assert record.plan is None and rig.writes() == 0
    assert any("/query/01g" in path for _, path in sf.requests)


def test_zendesk_rate_limit_is_paced_and_retried_to_completion(rig: Rig) -> None:
    rig.sandbox.zendesk.rate_limit_per_minute = 4
    record = rig.run()
    assert record.exit_code == ExitCode.OK, record.error
    assert record.writes and all(r.ok for r in record.writes.values())
    assert rig.sleeps, "the pacer / Retry-After must have waited"
    assert max(rig.sleeps) <= 60


def test_rate_limit_longer_than_budget_ends_the_run_cleanly(rig: Rig) -> None:
    rig.sandbox.zendesk.fail_next(1, 429, {"error": "APIRateLimitExceeded"}, headers={"Retry-After": "3600"},
                                  path_contains="organization_fields")
    record = rig.run()
    assert record.exit_code == ExitCode.RATE_LIMITED
    assert (record.retryable, record.retry_after) == (True, 3600.0)  # a scheduler can retry with that countdown
    assert rig.writes() == 0 and rig.sleeps == []


def test_same_second_changes_are_never_lost(rig: Rig) -> None:
    """Real Salesforce stamps have whole seconds: a change in the watermark's second must be read."""
    sf = rig.sandbox.salesforce
    sf.second_precision_modstamps = True
    assert rig.run().exit_code == ExitCode.OK
    customers = [i for i, a in sf.accounts.items() if a["Type"] == "Customer" and a["Support_Tier__c"] == "Starter"]
    first, second = customers[0], customers[1]
    rig.clock.advance(10)
    sf.update_account(first, Support_Tier__c="Enterprise")
    assert rig.run("incremental").exit_code == ExitCode.OK
    sf.update_account(second, Support_Tier__c="Enterprise")  # same second as the watermark
    record = rig.run("incremental")
    assert record.exit_code == ExitCode.OK
    assert second in {item.account_id for item in record.plan.changes}


def test_rerun_after_partial_apply_converges(rig: Rig) -> None:
    """I2: a run that dies after some jobs were submitted leaves the state untouched; the next converges."""
    rig.sandbox.zendesk.fail_next(3, 503, {"error": "Unavailable"}, method="GET", path_contains="job_statuses")
    first = rig.run()
    assert first.exit_code == ExitCode.UNREACHABLE
    second = rig.run("incremental")
    assert second.exit_code == ExitCode.OK, second.error
    third = rig.run("incremental")
    assert third.plan is not None and third.plan.changes == ()


def test_failed_account_that_leaves_scope_is_dropped_from_retries(rig: Rig) -> None:
    zd, sf = rig.sandbox.zendesk, rig.sandbox.salesforce
    claimed = {o["external_id"][:15].lower(): i for i, o in zd.organizations.items() if o["external_id"]}
    account_id = next(i for i, a in sf.accounts.items() if a["Type"] == "Customer" and a["Support_Tier__c"] == "Starter"
                      and i[:15].lower() in claimed)
    zd.fail_org_ids = {claimed[account_id[:15].lower()]}
    assert rig.run().exit_code == ExitCode.PARTIAL
    sf.update_account(account_id, Type="Prospect")  # out of scope: where Type = 'Customer'
    zd.fail_org_ids = set()
    assert rig.run("incremental").exit_code == ExitCode.OK
    sf.reset_requests()
    assert rig.run("incremental").exit_code == ExitCode.OK
    retries = [q for q in sf.queries if ("Id+IN" in q or "Id IN" in q) and not q.startswith("SELECT Id FROM")]
    assert not retries  # nothing left to retry (a scope check of rows at the watermark is not a retry)


def test_a_second_writing_run_waits_its_turn_and_writes_nothing(rig: Rig) -> None:
    from worker.io.state import FileStateStore, namespace_for

    netloc = rig.sandbox.zendesk_url.removeprefix("https://")
    with FileStateStore(rig.state_dir, namespace_for(netloc)).lock():  # another run in progress
        blocked = rig.run()
        assert len(rig.sandbox.zendesk.requests) == 0
        dry = rig.run(dry_run=True)  # read-only: needs no lock
    assert blocked.exit_code == ExitCode.LOCKED
    assert "another tiersync run holds" in (blocked.error or "")
    assert dry.exit_code == ExitCode.OK and dry.plan is not None and dry.plan.changes
    assert rig.writes() == 0
    assert rig.run().exit_code == ExitCode.OK  # free again
