"""seed_demo: deterministic, and its SeedSummary matches what is actually in the fake services."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest
import requests

from worker.core.ids import to_18, try_to_18
from worker.sandbox.seed import DEMO_GROUPS, UNKNOWN_TIERS, SeedSummary, seed_demo
from worker.sandbox.seed.groups import seed_groups
from worker.sandbox.server import ManualClock, Sandbox

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _classify(sb: Sandbox) -> dict[str, object]:
    """Recount every seeded category straight from the fake services' state."""
    accounts = sb.salesforce.accounts
    orgs_by_account: dict[str, list[str]] = {}
    orphans, without_external_id = 0, 0
    for org in sb.zendesk.organizations.values():
        external_id = org["external_id"]
        if external_id is None:
            without_external_id += 1
            continue
        if len(external_id) == 15:
            account_id = to_18(external_id)
            form = "15"
        else:
            account_id = try_to_18(external_id) or ""
            form = "18" if external_id == account_id else "lower"
        if account_id in accounts:
            orgs_by_account.setdefault(account_id, []).append(form)
        else:
            orphans += 1
    forms = Counter(tuple(sorted(v)) for v in orgs_by_account.values())
    return {
        "orgs_18": forms[("18",)], "orgs_15": forms[("15",)], "orgs_lowercase": forms[("lower",)],
        "duplicates": forms[("15", "18")], "orphan_orgs": orphans, "orgs_without_external_id": without_external_id,
        "without_org": sorted(set(accounts) - set(orgs_by_account)),
        "duplicate_ids": sorted(a for a, v in orgs_by_account.items() if len(v) == 2),
    }


def test_seed_summary_matches_state() -> None:
    with Sandbox() as sb:
        summary = seed_demo(sb, accounts=2000, seed=42)
        assert sb.zendesk.fields == {}  # tiersync creates the organization field itself
        accounts = sb.salesforce.accounts
        assert len(accounts) == summary.accounts == 2000
        assert len(sb.zendesk.organizations) == summary.organizations
        found = _classify(sb)
        for name in ("orgs_18", "orgs_15", "orgs_lowercase", "duplicates", "orphan_orgs", "orgs_without_external_id"):
            assert found[name] == getattr(summary, name), name
        assert found["without_org"] == sorted(summary.account_ids_without_org)
        assert found["duplicate_ids"] == sorted(summary.duplicate_account_ids)
        assert summary.orgs_18 + summary.orgs_15 + summary.orgs_lowercase + summary.duplicates + summary.without_org \
            == 2000
        types = Counter(a["Type"] for a in accounts.values())
        assert (types["Customer"], types["Prospect"]) == (summary.customers, summary.prospects)
        assert 0.85 < summary.customers / 2000 < 0.95
        tiers = Counter(a["Support_Tier__c"] for a in accounts.values())
        assert tiers == summary.tier_values
        assert sum(tiers[t] for t in UNKNOWN_TIERS) == summary.unknown_tiers == len(summary.unknown_tier_account_ids)
        assert tiers[""] + tiers[None] == summary.blank_tiers
        assert summary.canonical_tiers + summary.variant_tiers + summary.unknown_tiers + summary.blank_tiers == 2000
        assert 0.01 < summary.without_org / 2000 < 0.05 and summary.duplicates > 0 and summary.orgs_lowercase > 0
        names = [o["name"].casefold() for o in sb.zendesk.organizations.values()]
        assert len(names) == len(set(names))
        stamps = [a["SystemModstamp"] for a in accounts.values()]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        again = Sandbox()  # not started: seeding needs no servers
        assert seed_demo(again, accounts=2000, seed=42) == summary
        assert list(again.salesforce.accounts) == list(accounts)
        assert isinstance(summary, SeedSummary)


def _seeded_digest(accounts: int, seed: int) -> str:
    """sha256 of every seeded Account, organization and the summary (fixed clock, server not started)."""
    sb = Sandbox(clock=ManualClock())
    seeded = seed_demo(sb, accounts=accounts, seed=seed)
    summary = asdict(seeded)  # asdict garbles a Counter: take tier_values from the object
    summary["tier_values"] = sorted((repr(k), v) for k, v in seeded.tier_values.items())
    data = {"accounts": list(sb.salesforce.accounts.values()), "organizations": list(sb.zendesk.organizations.values()),
            "summary": summary}
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@pytest.mark.parametrize(("accounts", "seed", "digest"), [
    (1000, 7, "2f3d5668efa354360c346c75488d27fb706b6c08526ce87164fb36a0b41cd7af"),
    (49, 3, "34e3aed5b62b1c7526a1dadbd679dbe8d09ba7171f48d9e6056ea139b7f72d10"),  # below 50: a single orphan org
])
def test_seeded_data_is_unchanged_for_a_fixed_seed(accounts: int, seed: int, digest: str) -> None:
    """Pins the demo data byte for byte: a change of the seeders must not change what a seed produces."""
    assert _seeded_digest(accounts, seed) == digest


def test_seed_demo_creates_one_group_per_demo_tier() -> None:
    sb = Sandbox(clock=ManualClock())
    seed_demo(sb, accounts=20, seed=1)
    groups = sorted(sb.zendesk.groups.values(), key=lambda g: g["id"])
    assert [g["name"] for g in groups] == list(DEMO_GROUPS) == [
        "Enterprise Support", "Professional Support", "Starter Support"]
    assert seed_groups(sb.zendesk) == [g["id"] for g in groups] and len(sb.zendesk.groups) == 3  # idempotent


def test_main_prints_env_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "worker.sandbox", "--accounts", "20"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(6)]
        exported = dict(line.removeprefix("export ").split("=", 1) for line in lines)
        assert set(exported) == {"SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "ZENDESK_URL", "ZENDESK_EMAIL",
                                 "ZENDESK_API_TOKEN", "REQUESTS_CA_BUNDLE"}
        token = exported["SALESFORCE_ACCESS_TOKEN"].strip("'")
        response = requests.get(f"{exported['SALESFORCE_INSTANCE_URL']}/services/data/v59.0/limits/",
                                headers={"Authorization": f"Bearer {token}"},
                                verify=exported["REQUESTS_CA_BUNDLE"], timeout=5)
        assert response.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)  # also closes the pipes
    assert proc.returncode == 0, stderr
    assert "sandbox stopped" in stderr
