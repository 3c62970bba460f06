"""What the chaos tests share: a sandbox world, people's changes, and checks computed apart from tiersync.

Expectations never come from tiersync's core: the tier a Zendesk organization must end with is worked out
here from the Salesforce records and the tier file's value lists (as ``expected_tags`` does for the
integration tests), managed objects are recognised by their marker text, and what tiersync must not touch
is compared as JSON text.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLE_CONFIG
from tests.integration.conftest import Run  # one finished in-process CLI run, as the integration tests have it
from worker.cli import app
from worker.sandbox.seed import seed_demo
from worker.sandbox.server import Sandbox

FIELD = "support_tier"
TAG_BY_VALUE = {"enterprise": "tier_enterprise", "tier 1": "tier_enterprise", "professional": "tier_professional",
                "tier 2": "tier_professional", "starter": "tier_starter", "tier 3": "tier_starter"}
TAGS = ("tier_enterprise", "tier_professional", "tier_starter")
KNOWN_VALUES = ("Enterprise", "Tier 1", "Professional", "Tier 2", "Starter", "Tier 3")
ODD_VALUES = ("Platinum", "", None)  # unknown and blank: the organization must be left as it is
RULE_KINDS = ("triggers", "views", "sla_policies")
MARKER = re.compile(r"^managed-by: tiersync key=(\S+)", re.MULTILINE)
CATEGORY = "Tier routing (managed by tiersync)"
UNMAPPED_FIELD = "region"


@dataclass
class ChaosWorld:
    """A seeded sandbox, the tier file and state directory the CLI uses, and the environment pointing at them."""

    sandbox: Sandbox
    config_path: Path
    state_dir: Path
    env: dict[str, str]

    def cli(self, *args: str) -> Run:
        """Run the CLI in this process (the environment is already set)."""
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)


def chaos_tier_file(path: Path) -> Path:
    """The example tier file, with hand edits of managed objects enforced and no change rail."""
    text = EXAMPLE_CONFIG.read_text()
    for old, new in (("on_drift: report", "on_drift: enforce"), ("max_change_fraction: 0.25", "max_change_fraction: 1.0")):
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


@contextmanager
def chaos_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, accounts: int = 40) -> Iterator[ChaosWorld]:
    """A sandbox with ``accounts`` seeded accounts and a person's own objects, the environment set for the CLI."""
    config = chaos_tier_file(tmp_path / "tiers.yaml")
    state_dir = tmp_path / "state"
    with Sandbox() as sandbox:
        seed_demo(sandbox, accounts=accounts, seed=7)
        add_persons_objects(sandbox)
        env = {**sandbox.env(), "TIERSYNC_CONFIG": str(config), "TIERSYNC_STATE_DIR": str(state_dir),
               "TIERSYNC_MAX_ATTEMPTS": "1"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield ChaosWorld(sandbox, config, state_dir, env)
        assert sandbox.errors == []


def add_persons_objects(sandbox: Sandbox) -> None:
    """What people made by hand: an org field tiersync does not map, a trigger, a view and an SLA policy."""
    zendesk = sandbox.zendesk
    zendesk.add_field(UNMAPPED_FIELD, "text", "Region")
    for n, org_id in enumerate(sorted(zendesk.organizations)):
        zendesk.organizations[org_id]["organization_fields"][UNMAPPED_FIELD] = f"region-{n % 4}"
        zendesk.organizations[org_id]["notes"] = f"kept by hand {n}"
    category = zendesk.add_trigger_category("Made by hand")
    zendesk.create_trigger({
        "title": "[tiersync] Route Enterprise tickets", "category_id": category, "description": "my own",
        "conditions": {"all": [{"field": "status", "operator": "is", "value": "new"}], "any": []},
        "actions": [{"field": "priority", "value": "low"}]})
    zendesk.create_view({"title": "My queue", "description": "mine", "all": [
        {"field": "status", "operator": "less_than", "value": "solved"}], "any": [],
        "output": {"columns": ["status", "requester"]}})
    zendesk.create_sla_policy({"title": "Hand-made SLA", "description": "mine", "filter": {"all": [
        {"field": "current_tags", "operator": "includes", "value": "vip"}], "any": []},
        "policy_metrics": [{"priority": "urgent", "metric": "first_reply_time", "target": 15,
                            "business_hours": False}]})


# ----------------------------------------------------------------------------------------------- expectations
def expected_tiers(sandbox: Sandbox) -> dict[int, str]:
    """Organization id -> the tag a correct sync gives it: one organization for a live Customer with a known value."""
    claims: dict[str, list[int]] = {}
    for org_id, org in sandbox.zendesk.organizations.items():
        claims.setdefault(str(org.get("external_id") or "").lower()[:15], []).append(org_id)
    expected = {}
    for account_id, account in sandbox.salesforce.accounts.items():
        if account["Type"] != "Customer" or account.get("IsDeleted"):
            continue
        tag = TAG_BY_VALUE.get(str(account.get("Support_Tier__c") or "").strip().lower())
        orgs = claims.get(account_id[:15].lower(), [])
        if tag and len(orgs) == 1:
            expected[orgs[0]] = tag
    return expected


def tiers_now(sandbox: Sandbox) -> dict[int, Any]:
    """Organization id -> its tier field's value."""
    return {org_id: org["organization_fields"].get(FIELD) for org_id, org in sandbox.zendesk.organizations.items()}


def lost_changes(sandbox: Sandbox, before: dict[int, Any]) -> list[str]:
    """Organizations whose tier is not what Salesforce says, or (out of scope) moved from ``before``."""
    expected, now = expected_tiers(sandbox), tiers_now(sandbox)
    lost = [f"org {org_id}: {now.get(org_id)!r}, Salesforce says {tag!r}" for org_id, tag in expected.items()
            if now.get(org_id) != tag]
    lost += [f"org {org_id} (not in scope): {before[org_id]!r} -> {now[org_id]!r}" for org_id in now
             if org_id not in expected and org_id in before and now[org_id] != before[org_id]]
    return lost


def managed_counts(sandbox: Sandbox) -> Counter[str]:
    """``<kind>/<key>`` -> how many objects carry that marker; and ``category`` -> how many owned categories."""
    counts: Counter[str] = Counter()
    zendesk = sandbox.zendesk
    for kind in RULE_KINDS:
        for obj in getattr(zendesk, kind).values():
            found = MARKER.search(obj.get("description") or "")
            if found:
                counts[f"{kind}/{found.group(1)}"] += 1
    counts["category"] = sum(1 for c in zendesk.trigger_categories.values() if c.get("name") == CATEGORY)
    return counts


def duplicates(sandbox: Sandbox) -> list[str]:
    """Every managed key (and the owned category) that more than one object holds."""
    return [f"{key} x{n}" for key, n in sorted(managed_counts(sandbox).items()) if n > 1]


def unmanaged_snapshot(sandbox: Sandbox) -> str:
    """JSON text of what tiersync must never change.

    The triggers, views and SLA policies without a marker, the trigger categories it does not own, and every
    organization without its tier field and ``updated_at`` (which a write to the tier moves). SLA policies
    are compared without ``position``: Zendesk numbers all policies 1..n, so a new one moves the numbers, and
    the hand-made policies' order among themselves is compared instead.
    """
    zendesk = sandbox.zendesk
    mine: dict[str, Any] = {}
    for kind in RULE_KINDS:
        objects = [obj for obj in getattr(zendesk, kind).values() if not MARKER.search(obj.get("description") or "")]
        if kind == "sla_policies":
            order = [p["id"] for p in sorted(objects, key=lambda p: (p["position"], p["id"]))]
            objects = [{k: v for k, v in p.items() if k != "position"} for p in objects]
            mine["sla_order"] = order
        mine[kind] = objects
    mine["categories"] = [c for c in zendesk.trigger_categories.values() if c.get("name") != CATEGORY]
    mine["organizations"] = [
        {**{k: v for k, v in org.items() if k != "updated_at"},
         "organization_fields": {k: v for k, v in org["organization_fields"].items() if k != FIELD}}
        for org in zendesk.organizations.values()]
    mine["fields"] = [f for f in zendesk.fields.values() if f.get("key") != FIELD]
    return json.dumps(mine, sort_keys=True, default=str)


def state_file_problems(state_dir: Path) -> tuple[list[str], list[str]]:
    """(files that do not parse, temporary files left behind) under the state directory."""
    broken: list[str] = []
    temporary: list[str] = []
    if not state_dir.exists():
        return broken, temporary
    for path in sorted(p for p in state_dir.rglob("*") if p.is_file()):
        if path.name.startswith("."):
            temporary.append(path.name)
            continue
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                json.loads(text)
            elif path.suffix == ".jsonl":
                for line in text.splitlines():
                    json.loads(line)
                if text and not text.endswith("\n"):
                    raise ValueError("last line not ended")
        except (UnicodeDecodeError, ValueError) as exc:
            broken.append(f"{path.name}: {exc}")
    return broken, temporary


# ----------------------------------------------------------------------------------------------- people
def change_salesforce_tier(sandbox: Sandbox, rng: random.Random, odd: bool = True) -> str:
    """A live Customer account gets another tier value (now and then an unknown or blank one); returns its id."""
    accounts = sorted(a for a, r in sandbox.salesforce.accounts.items() if r["Type"] == "Customer" and not r["IsDeleted"])
    account_id = rng.choice(accounts)
    values = KNOWN_VALUES + (ODD_VALUES if odd else ())
    sandbox.salesforce.update_account(account_id, Support_Tier__c=rng.choice(values))
    return account_id


def hand_edit_org_tier(sandbox: Sandbox, rng: random.Random) -> int:
    """An agent sets (or clears) an organization's tier in Zendesk; returns the organization's id."""
    org_id = rng.choice(sorted(sandbox.zendesk.organizations))
    if FIELD in {f["key"] for f in sandbox.zendesk.fields.values()}:
        sandbox.zendesk.set_org_field(org_id, FIELD, rng.choice([*TAGS, None]))
    return org_id


def managed(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    """The objects of ``kind`` (triggers, views, sla_policies) that carry tiersync's marker, by id."""
    objects = getattr(sandbox.zendesk, kind).values()
    return sorted((o for o in objects if MARKER.search(o.get("description") or "")), key=lambda o: o["id"])


def edit_managed(sandbox: Sandbox, rng: random.Random) -> str | None:
    """A person edits a managed trigger or view (drift); returns what was edited."""
    zendesk = sandbox.zendesk
    kind = rng.choice(("triggers", "views"))
    objects = managed(sandbox, kind)
    if not objects:
        return None
    target = rng.choice(objects)
    if kind == "views":
        zendesk.update_view(target, {"output": {"columns": ["status", "requester"]}})
    else:
        zendesk.update_trigger(target, {"actions": [{"field": "priority", "value": "low"}]})
    return f"{kind}/{target['id']}"


def delete_managed(sandbox: Sandbox, rng: random.Random) -> str | None:
    """A person deletes one managed trigger, view or SLA policy (never all of them); returns what went."""
    kind = rng.choice(RULE_KINDS)
    objects = managed(sandbox, kind)
    if len(objects) < 2:
        return None
    target = rng.choice(objects)
    with sandbox.zendesk.lock:
        del getattr(sandbox.zendesk, kind)[target["id"]]
    return f"{kind}/{target['id']}"
