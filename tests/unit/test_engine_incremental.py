"""Incremental runs see both sides change: hand edits through the export, removals through queryAll.

The fakes share one clock: Zendesk's export leaves out the last minute, so each scenario moves time
on by a minute, as a 5-minute schedule would, instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.fakes import EPOCH, FakeOrg, FakeSalesforce, FakeZendesk, MemoryStateStore
from tests.unit.helpers import account_id, make_config
from worker.core.config import TierFile
from worker.engine import Services, SyncRequest, run_sync
from worker.io.http import CallCounter
from worker.render.json import run_summary

VALUES = ("Enterprise", "Professional", "Starter")
TAGS = {"Enterprise": "tier_enterprise", "Professional": "tier_professional", "Starter": "tier_starter"}


class World:
    """60 accounts, one organization each, fully synced; a clock both fakes and the engine read."""

    def __init__(self, accounts: int = 60, **config: Any) -> None:
        self.now = EPOCH.timestamp() + 3600
        self.sf = FakeSalesforce("Support_Tier__c")
        self.zd = FakeZendesk(field_key="support_tier", clock=lambda: self.now)
        self.store = MemoryStateStore()
        self.config: TierFile = make_config(**config)
        for n in range(accounts):
            self.sf.add(account_id(n), VALUES[n % 3])
            self.zd.orgs[1000 + n] = FakeOrg(account_id(n), None, f"Org {n}")
        self.services = Services(self.sf, self.zd, self.store, counter=CallCounter(),
                                 now=lambda: datetime.fromtimestamp(self.now, UTC))
        first = self.run("full")
        assert first.exit_code == 0 and len(self.zd.writes) == accounts
        self.sf.tick(2)  # a steady state: one idle run after the second of the last Salesforce change
        assert self.run().exit_code == 0 and self.store.state.salesforce_seen_final

    def run(self, mode: str = "incremental", **request: Any) -> Any:
        self.sf.begin_run()
        return run_sync(self.config, self.services, SyncRequest(mode=mode, **request))  # type: ignore[arg-type]

    def later(self, seconds: int = 61) -> None:
        self.now += seconds

    def expected(self, n: int) -> str:
        return TAGS[VALUES[n % 3]]


def hand_edits(world: World) -> None:
    """Five organizations get another tier by hand, two are cleared; 3 accounts deleted, 2 out of scope."""
    for n in range(5):
        other = next(tag for tag in TAGS.values() if tag != world.expected(n))
        world.zd.human_set_tier(1000 + n, other)
    for n in (5, 6):
        world.zd.human_set_tier(1000 + n, None)
    for n in (10, 11, 12):
        world.sf.remove(account_id(n), "deleted")
    for n in (13, 14):
        world.sf.remove(account_id(n), "out_of_scope")


def test_hand_edits_are_restored_in_one_batch_and_removals_kept_and_listed() -> None:
    world = World()
    world.later()
    hand_edits(world)
    world.later()
    writes_before = len(world.zd.writes)
    record = world.run()
    summary = run_summary(record)
    assert record.exit_code == 0, record.error
    restored = world.zd.writes[writes_before:]
    assert sorted(w.organization_id for w in restored) == [1000 + n for n in range(7)]
    assert all(world.zd.orgs[1000 + n].tier_tag == world.expected(n) for n in range(7))
    edits = {e["organization_id"]: e for e in summary["manual_edits"]}
    assert sorted(edits) == [1000 + n for n in range(7)]
    assert edits[1005]["found"] is None and edits[1005]["expected"] == world.expected(5)
    assert {e["action"] for e in edits.values()} == {"restore"}
    removed = {r["account_id"]: r for r in summary["removed"]}
    assert sorted(removed) == sorted(account_id(n) for n in range(10, 15))
    assert {r["action"] for r in removed.values()} == {"keep"}
    assert removed[account_id(10)]["reason"] == "deleted" and removed[account_id(13)]["reason"] == "out_of_scope"
    assert all(world.zd.orgs[1000 + n].tier_tag == world.expected(n) for n in range(10, 15))  # left alone


def test_report_leaves_hand_edits_and_clear_removes_the_value_of_removed_accounts() -> None:
    world = World(zendesk={"on_manual_edit": "report"}, salesforce={"tier_field": "Support_Tier__c",
                                                                   "on_account_removed": "clear"})
    world.later()
    hand_edits(world)
    found = {n: world.zd.orgs[1000 + n].tier_tag for n in range(7)}
    world.later()
    summary = run_summary(world.run())
    assert {n: world.zd.orgs[1000 + n].tier_tag for n in range(7)} == found  # left as found
    assert {e["action"] for e in summary["manual_edits"]} == {"report"} and len(summary["manual_edits"]) == 7
    assert summary["outcomes"]["rejected"] == 7
    assert all(world.zd.orgs[1000 + n].tier_tag is None for n in range(10, 15))  # cleared
    assert {(r["action"], r["written"]) for r in summary["removed"]} == {("clear", True)}


def test_the_next_idle_run_costs_one_call_a_side_and_reports_nothing() -> None:
    world = World()
    world.later()
    hand_edits(world)
    world.later()
    world.run()
    world.later(300)
    queries, exports, field_reads, writes = (world.sf.queries, len(world.zd.export_calls), world.zd.field_reads,
                                             len(world.zd.writes))
    record = world.run()
    summary = run_summary(record)
    assert world.sf.queries - queries == 1  # the queryAll, even though the removed rows sit at the watermark
    assert len(world.zd.export_calls) - exports == 1  # our own restores are read back: no look, no report
    assert world.zd.field_reads == field_reads and len(world.zd.writes) == writes
    assert summary["manual_edits"] == [] and summary["removed"] == [] and summary["accounts"] == 0


def test_an_edit_in_the_last_minute_waits_for_the_next_run() -> None:
    world = World()
    world.later()
    world.zd.human_set_tier(1000, None)
    world.later(10)  # the export leaves out the last minute
    assert run_summary(world.run())["manual_edits"] == []
    world.later(61)
    edits = run_summary(world.run())["manual_edits"]
    assert [e["organization_id"] for e in edits] == [1000]


def test_a_value_changed_on_both_sides_is_a_salesforce_change_not_a_hand_edit() -> None:
    world = World()
    world.later()
    world.zd.human_set_tier(1000, None)
    world.sf.set_tier(account_id(0), "Starter")
    world.later()
    summary = run_summary(world.run())
    assert summary["manual_edits"] == []
    assert world.zd.orgs[1000].tier_tag == "tier_starter"


def test_a_hand_edit_on_a_rejected_account_is_listed_never_restored() -> None:
    world = World()
    world.sf.set_tier(account_id(0), "Platinum")  # an unknown value: the account is rejected
    world.later()
    world.run()
    world.later()
    world.zd.human_set_tier(1000, "tier_starter")
    world.later()
    summary = run_summary(world.run())
    assert [(e["organization_id"], e["expected"], e["action"]) for e in summary["manual_edits"]] == [
        (1000, None, "none")]
    assert world.zd.orgs[1000].tier_tag == "tier_starter"


def test_more_organizations_in_one_second_than_a_page_reads_everything() -> None:
    world = World()
    world.zd.export_page = 3
    world.later()
    for n in range(5):  # five changes in one second, pages of three: the export cannot move past it
        world.zd.human_set_tier(1000 + n, None)
    world.later()
    record = world.run()
    assert record.mode == "full" and any("full run" in note for note in record.notes)
    assert all(world.zd.orgs[1000 + n].tier_tag == world.expected(n) for n in range(5))
    assert len(world.zd.export_calls) < 10  # no loop


def test_restores_and_clears_count_in_the_change_rail() -> None:
    world = World(max_change_fraction=0.1, salesforce={"tier_field": "Support_Tier__c",
                                                        "on_account_removed": "clear"})
    world.later()
    for n in range(4):  # restoring a value set by hand replaces it; restoring a cleared one would not count
        world.zd.human_set_tier(1000 + n, "tier_starter" if world.expected(n) != "tier_starter" else "tier_enterprise")
    for n in (20, 21, 22):
        world.sf.remove(account_id(n), "deleted")
    world.later()
    record = world.run()
    assert record.exit_code == 6 and "7 of 60" in (record.refusal or "")
    assert world.store.state.zendesk_mark is not None
    before = world.store.state
    assert world.run().exit_code == 6 and world.store.state == before  # nothing moved: the next run sees it all


def test_a_failed_clear_is_tried_again_next_run() -> None:
    world = World(salesforce={"tier_field": "Support_Tier__c", "on_account_removed": "clear"})
    world.later()
    world.sf.remove(account_id(10), "deleted")
    world.zd.fail_ids = {1010}
    world.later()
    record = world.run()
    assert record.exit_code == 8 and world.zd.orgs[1010].tier_tag is not None  # PARTIAL
    world.zd.fail_ids = set()
    world.later()
    summary = run_summary(world.run())
    assert world.zd.orgs[1010].tier_tag is None
    assert [r["account_id"] for r in summary["removed"]] == [account_id(10)]


def test_an_account_that_comes_back_is_synced_as_usual() -> None:
    world = World(salesforce={"tier_field": "Support_Tier__c", "on_account_removed": "clear"})
    world.later()
    world.sf.remove(account_id(10), "deleted")
    world.later()
    world.run()
    assert world.zd.orgs[1010].tier_tag is None
    world.sf.restore(account_id(10))
    world.later()
    summary = run_summary(world.run())
    assert world.zd.orgs[1010].tier_tag == world.expected(10) and summary["removed"] == []


@pytest.mark.parametrize("clock_skew", [0, 30])
def test_an_incremental_run_right_after_a_full_one_reads_from_before_it(clock_skew: int) -> None:
    world = World()
    world.zd.human_set_tier(1000, None)  # changed during (just after the read of) the full run
    world.later(clock_skew + 61)
    assert [e["organization_id"] for e in run_summary(world.run())["manual_edits"]] == [1000]
