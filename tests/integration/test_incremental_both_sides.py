"""Issue 15 on the HTTPS sandbox: incremental runs see hand edits in Zendesk and removals in Salesforce.

The sandbox's clock is moved on (never slept) past the minute the export leaves out.
"""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import World, expected_tags

FIELD = "support_tier"
OTHER = {"tier_enterprise": "tier_starter", "tier_professional": "tier_enterprise", "tier_starter": "tier_professional"}


def synced(world: World) -> dict[int, str]:
    """Organization id -> tier, for organizations a correct sync set (one account each, a known value)."""
    assert world.cli("sync", "--full").exit_code == 0
    expected = expected_tags(world)
    assert all(world.tier_of(org_id) == tag for org_id, tag in expected.items())
    return expected


def account_of(world: World, org_id: int) -> str:
    external = world.sandbox.zendesk.organizations[org_id]["external_id"]
    return next(a for a in world.sandbox.salesforce.accounts if a[:15].lower() == external[:15].lower())


def people_change_both_sides(world: World, expected: dict[int, str]) -> tuple[list[int], list[str]]:
    """5 organizations get another tier by hand, 2 are cleared; 3 accounts deleted, 2 moved out of scope."""
    org_ids = sorted(expected)[:12]
    edited, removed = org_ids[:7], [account_of(world, org_id) for org_id in org_ids[7:]]
    for org_id in edited[:5]:
        world.sandbox.zendesk.set_org_field(org_id, FIELD, OTHER[expected[org_id]])
    for org_id in edited[5:]:
        world.sandbox.zendesk.set_org_field(org_id, FIELD, None)
    for account_id in removed[:3]:
        world.sandbox.salesforce.delete_account(account_id)
    for account_id in removed[3:]:
        world.sandbox.salesforce.update_account(account_id, Type="Prospect")
    return edited, removed


@pytest.mark.parametrize("world", [2000], indirect=True)
def test_one_incremental_run_restores_hand_edits_in_one_batch_and_lists_all_twelve(world: World) -> None:
    expected = synced(world)
    world.sandbox.advance(61)
    edited, removed = people_change_both_sides(world, expected)
    world.sandbox.advance(61)  # a run started a minute after the edits
    world.sandbox.zendesk.reset_requests()
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stdout
    summary = run.json()
    assert world.update_many_calls() == 1
    assert all(world.tier_of(org_id) == expected[org_id] for org_id in edited)
    assert sorted(e["organization_id"] for e in summary["manual_edits"]) == edited
    assert {e["action"] for e in summary["manual_edits"]} == {"restore"}
    assert sorted(r["account_id"] for r in summary["removed"]) == sorted(removed)
    reasons = {r["account_id"]: r["reason"] for r in summary["removed"]}
    assert [reasons[a] for a in removed] == ["deleted"] * 3 + ["out_of_scope"] * 2
    removed_orgs = [r["organization_id"] for r in summary["removed"]]
    assert all(world.tier_of(org_id) == expected[org_id] for org_id in removed_orgs)  # left alone

    world.sandbox.advance(300)  # the next scheduled run: nothing changed on either side
    world.sandbox.zendesk.reset_requests()
    idle = world.cli("sync", "--json")
    assert idle.exit_code == 0
    calls = idle.json()["api_calls"]
    assert calls["salesforce"]["calls"] == 1 and calls["zendesk"]["calls"] <= 1
    assert world.zendesk_writes() == 0
    assert idle.json()["manual_edits"] == [] and idle.json()["removed"] == []


@pytest.mark.parametrize("world", [600], indirect=True)
def test_report_leaves_hand_edits_and_clear_empties_a_removed_accounts_organization(world: World) -> None:
    text = world.config_path.read_text()
    text = re.sub(r"on_manual_edit: \w+", "on_manual_edit: report", text)
    text = re.sub(r"on_account_removed: \w+", "on_account_removed: clear", text)
    assert "on_manual_edit: report" in text and "on_account_removed: clear" in text
    world.config_path.write_text(text)
    expected = synced(world)
    world.sandbox.advance(61)
    edited, _ = people_change_both_sides(world, expected)
    found = {org_id: world.tier_of(org_id) for org_id in edited}
    world.sandbox.advance(61)
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stdout
    summary = run.json()
    assert {org_id: world.tier_of(org_id) for org_id in edited} == found
    assert {e["action"] for e in summary["manual_edits"]} == {"report"} and len(summary["manual_edits"]) == 7
    assert {(r["action"], r["written"]) for r in summary["removed"]} == {("clear", True)}
    assert all(world.tier_of(r["organization_id"]) is None for r in summary["removed"])


@pytest.mark.parametrize("retry_after", ["3600", "30"])  # longer than tiersync waits, and than the export's 10 s
def test_the_export_answering_429_is_skipped_for_the_run_and_the_next_run_finds_every_edit(
        world: World, retry_after: str) -> None:
    expected = synced(world)
    world.sandbox.advance(61)
    edited = sorted(expected)[:3]
    for org_id in edited:
        world.sandbox.zendesk.set_org_field(org_id, FIELD, None)
    changed = sorted(expected)[3]
    account = next(a for a in world.sandbox.salesforce.accounts
                   if a[:15].lower() == world.sandbox.zendesk.organizations[changed]["external_id"][:15].lower())
    world.sandbox.salesforce.update_account(account, Support_Tier__c="Starter" if expected[changed] != "tier_starter"
                                            else "Enterprise")
    world.sandbox.advance(61)
    world.sandbox.zendesk.fail_next(1, 429, {"errors": [{"code": "RateLimitExceeded", "status": "429",
                                                         "title": "Rate limit exceeded. Maximum 10 requests "
                                                                  "per minute."}]},
                                    {"Retry-After": retry_after}, path_contains="/incremental/organizations")
    limited = world.cli("sync", "--json")
    assert limited.exit_code == 0, limited.stdout  # the Salesforce side still syncs; no minute spent waiting
    assert any("rate limited" in note for note in limited.json()["notes"])
    assert limited.json()["manual_edits"] == [] and limited.json()["writes"]["updated"] == 1
    run = world.cli("sync", "--json")
    assert run.exit_code == 0
    assert sorted(e["organization_id"] for e in run.json()["manual_edits"]) == edited
    assert all(world.tier_of(org_id) == expected[org_id] for org_id in edited)


def test_our_own_writes_read_back_by_the_export_cause_no_write_and_no_report(world: World) -> None:
    synced(world)
    world.sandbox.advance(120)
    world.sandbox.zendesk.reset_requests()
    run = world.cli("sync", "--json")
    assert run.exit_code == 0
    assert world.zendesk_writes() == 0 and run.json()["manual_edits"] == []
    assert run.json()["accounts"] <= 2  # only the rows at the watermark's second: the writes read back cost no look
    world.sandbox.advance(300)
    calls = world.cli("sync", "--json").json()["api_calls"]
    assert calls["salesforce"]["calls"] == 1 and calls["zendesk"]["calls"] == 1


@pytest.mark.parametrize("world", [2000], indirect=True)
def test_a_full_read_by_export_takes_a_tenth_of_the_calls_and_sets_every_tier(world: World) -> None:
    world.config_path.write_text(re.sub(r"on_manual_edit: \w+", "on_manual_edit: restore\n  full_read: export",
                                        world.config_path.read_text()))
    run = world.cli("sync", "--full", "--json")
    assert run.exit_code == 0, run.stdout
    zendesk = world.sandbox.zendesk
    organizations = len(zendesk.organizations)
    assert zendesk.count("GET", "/api/v2/organizations") == 0
    assert zendesk.count("GET", "/api/v2/incremental/organizations") == organizations // 1000 + 1  # vs /100
    expected = expected_tags(world)
    assert all(world.tier_of(org_id) == tag for org_id, tag in expected.items())
    assert len(run.json()["orphans"]) > 0  # a full read: orphans are listed as with the list
    world.sandbox.advance(300)
    idle = world.cli("sync", "--json")  # the next incremental run starts where the export ended
    assert idle.exit_code == 0 and idle.json()["manual_edits"] == []
