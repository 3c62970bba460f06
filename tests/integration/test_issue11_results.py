"""Issue 11, "wrong results, silently": each case drives the real CLI against the HTTPS sandbox."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from tests.integration.conftest import World, expected_tags

pytestmark = pytest.mark.integration


def test_tier_field_in_another_letter_case_reads_the_values(world: World) -> None:
    text = world.config_path.read_text().replace("tier_field: Support_Tier__c", "tier_field: support_tier__c")
    world.config_path.write_text(text.replace("unknown_value: report", "unknown_value: starter"))
    expected = expected_tags(world)
    run = world.cli("sync", "--full", "--json")
    assert run.exit_code == 0, run.stderr
    assert {org_id: world.tier_of(org_id) for org_id in expected} == expected
    assert run.json()["outcomes"]["rejected"] > 0  # unknown values stay unknown; blank is not every account


def test_a_new_organization_field_is_filled_for_every_account(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    world.config_path.write_text(world.config_path.read_text().replace(
        "organization_field: support_tier", "organization_field: customer_tier"))
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["mode"] == "full"
    expected = expected_tags(world)
    organizations = world.sandbox.zendesk.organizations
    assert {org_id: organizations[org_id]["organization_fields"].get("customer_tier") for org_id in expected} == expected


def _state_file(world: World) -> Path:
    (state,) = (world.config_path.parent / "state").glob("state-*.json")
    return state


def test_another_salesforce_org_does_not_inherit_the_watermark(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    # Production: same accounts, other values, all stamped before the sandbox org's watermark.
    salesforce = world.sandbox.salesforce
    salesforce.access_token = "00D000000000002!" + "x" * 40
    world.monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", salesforce.access_token)
    flipped = {"Enterprise": "Starter", "Starter": "Enterprise"}
    for record in salesforce.accounts.values():
        record["Support_Tier__c"] = flipped.get(record.get("Support_Tier__c"), record.get("Support_Tier__c"))
    run = world.cli("sync", "--json", "--force")
    assert run.exit_code == 0, run.stderr
    summary = run.json()
    assert summary["mode"] == "full"
    assert any("belongs to Salesforce org 00D000000000001, not 00D000000000002" in n for n in summary["notes"])
    expected = expected_tags(world)
    assert {org_id: world.tier_of(org_id) for org_id in expected} == expected
    assert json.loads(_state_file(world).read_text())["salesforce_org"] == "00D000000000002"


def test_a_watermark_in_the_future_is_ignored_with_a_note(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    state = _state_file(world)
    state.write_text(state.read_text().replace('"watermark": "20', '"watermark": "29'))
    account_id = next(iter(world.sandbox.salesforce.accounts))
    world.sandbox.salesforce.update_account(account_id, Name="Changed after the bad watermark")
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["mode"] == "full"
    assert any("is in the future" in note for note in run.json()["notes"])
    assert json.loads(state.read_text())["watermark"].startswith("20")


@pytest.mark.parametrize("bad", ['{"watermark": "yesterday"}', '{"failed_ids": [null]}', "{broken"])
def test_bad_state_is_no_state_with_a_note(world: World, bad: str) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    _state_file(world).write_text(bad)
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["mode"] == "full"
    assert any(note.startswith("ignored the saved run state because") for note in run.json()["notes"])
    assert json.loads(_state_file(world).read_text())["watermark"]


def test_disk_full_after_the_writes_still_reports_them(world: World) -> None:
    real_fsync, synced = os.fsync, []

    def fills_up(fd: int) -> None:  # the lock's write probe passes; the disk fills up while the run writes
        synced.append(fd)
        if len(synced) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    world.monkeypatch.setattr(os, "fsync", fills_up)
    run = world.cli("sync", "--full")
    assert run.exit_code == 4
    assert "Applied:" in run.stdout and "organizations updated" in run.stdout
    assert "error: state: cannot write" in run.stderr and "No space left on device" in run.stderr
    assert "fix: free disk space in TIERSYNC_STATE_DIR" in run.stderr
    assert "Traceback" not in run.stderr
    left = sorted(p.name for p in (world.config_path.parent / "state").iterdir())
    assert not any(name.startswith(".state-") for name in left)  # no temporary file left behind
    assert not any(name.startswith("state-") and name.endswith(".json") for name in left)  # no state saved


@pytest.mark.parametrize("spelling", ["https://localhost:{port}", "https://LOCALHOST:{port}/", "https://[::1]:{port}"])
def test_two_spellings_of_one_zendesk_never_write_at_once(world: World, spelling: str) -> None:
    from worker.io.state import FileStateStore, namespace_for

    port = world.sandbox.zendesk_url.rsplit(":", 1)[1]
    holder = FileStateStore(world.config_path.parent / "state", namespace_for(f"127.0.0.1:{port}"))
    world.monkeypatch.setenv("ZENDESK_URL", spelling.format(port=port))
    world.monkeypatch.setenv("TIERSYNC_LOCK_WAIT", "0")  # give up at once instead of waiting for the holder
    with holder.lock():  # a run that spelled the address 127.0.0.1 is writing
        run = world.cli("sync", "--full")
    assert run.exit_code == 9, run.stdout + run.stderr
    assert world.zendesk_writes() == 0


def test_padded_external_id_is_reported_and_treated_alike_by_full_and_incremental_runs(world: World) -> None:
    expected = expected_tags(world)
    org_id = sorted(expected)[0]
    organization = world.sandbox.zendesk.organizations[org_id]
    organization["external_id"] = f"  {organization['external_id']} "
    full = world.cli("sync", "--full", "--json")
    assert full.exit_code == 0, full.stderr
    assert world.tier_of(org_id) is None
    shown = world.cli("sync", "--full", "--dry-run")
    assert "1 organization(s) have an external_id with surrounding whitespace" in shown.stdout
    assert " ".join(shown.stdout.split()).split("trim it in Zendesk: ")[1].startswith(str(org_id))
    orphan = next(o for o in full.json()["orphans"] if o["organization_id"] == org_id)
    assert "incremental runs cannot find it" in orphan["why"]
    account_id = next(a for a in world.sandbox.salesforce.accounts
                      if a[:15].lower() == organization["external_id"].strip()[:15].lower())
    assert account_id in full.json()["no_organization"]
    world.sandbox.salesforce.update_account(account_id, Name="Renamed")
    incremental = world.cli("sync", "--json")
    assert incremental.exit_code == 0, incremental.stderr
    assert incremental.json()["no_organization"] == [account_id]
    assert world.tier_of(org_id) is None


@pytest.mark.parametrize(
    ("key", "options", "message"),
    [
        ("Support_Tier", [("Enterprise", "tier_enterprise")], "differs from zendesk.organization_field 'support_tier'"),
        ("support_tier", [("Enterprise", "Tier_Enterprise")], "differs from the tier tag 'tier_enterprise' only"),
    ],
)
def test_case_only_differences_doctor_and_sync_agree(world: World, key: str, options: list, message: str) -> None:
    world.sandbox.zendesk.add_field(key, "dropdown", "Support tier", options)
    doctor = world.cli("doctor")
    sync = world.cli("sync", "--full")
    assert (doctor.exit_code, sync.exit_code) == (7, 7), doctor.stdout + sync.stderr
    assert message in " ".join(doctor.stdout.split()) and message in " ".join(sync.stderr.split())
    assert "ready to sync" not in doctor.stdout and "next sync fixes" not in doctor.stdout
    assert world.zendesk_writes() == 0


def test_a_misspelled_variable_is_named_not_silently_ignored(world: World) -> None:
    world.monkeypatch.setenv("TIERSYNC_HTTP_TIMOUT", "5")
    run = world.cli("sync", "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert "warning: TIERSYNC_HTTP_TIMOUT (environment) is not a tiersync variable; did you mean " \
           "TIERSYNC_HTTP_TIMEOUT?" in run.stderr
    doctor = world.cli("doctor")
    assert "TIERSYNC_HTTP_TIMOUT (environment) is not a tiersync variable" in " ".join(doctor.stdout.split())
