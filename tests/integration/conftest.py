"""Integration fixtures: the HTTPS sandbox, an environment pointing at it, and a CLI runner."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLE_CONFIG
from worker.cli import app
from worker.sandbox.seed import SeedSummary, seed_demo
from worker.sandbox.server import Sandbox

WRITE_METHODS = ("POST", "PUT", "DELETE", "PATCH")
UPDATE_MANY = "/api/v2/organizations/update_many"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)


@dataclass
class World:
    sandbox: Sandbox
    seeded: SeedSummary
    monkeypatch: pytest.MonkeyPatch
    config_path: Path

    def cli(self, *args: str) -> Run:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    def zendesk_writes(self) -> int:
        return sum(self.sandbox.zendesk.count(method=m) for m in WRITE_METHODS)

    def update_many_calls(self) -> int:
        return self.sandbox.zendesk.count(method="PUT", path=UPDATE_MANY)

    def tier_of(self, organization_id: int) -> str | None:
        return self.sandbox.zendesk.organizations[organization_id]["organization_fields"].get("support_tier")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    accounts = getattr(request, "param", 300)
    config_path = tmp_path / "tiers.yaml"
    config_path.write_text(EXAMPLE_CONFIG.read_text())
    with Sandbox() as sandbox:
        seeded = seed_demo(sandbox, accounts=accounts, seed=7)
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TIERSYNC_CONFIG", str(config_path))
        monkeypatch.setenv("TIERSYNC_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.setenv("TIERSYNC_MAX_ATTEMPTS", "2")
        yield World(sandbox, seeded, monkeypatch, config_path)


def expected_tags(world: World) -> dict[int, str]:
    """Independently of tiersync: organization id -> the tag a correct sync gives it."""
    values = {"enterprise": "tier_enterprise", "tier 1": "tier_enterprise", "professional": "tier_professional",
              "tier 2": "tier_professional", "starter": "tier_starter", "tier 3": "tier_starter"}
    claims: dict[str, list[int]] = {}
    for org_id, org in world.sandbox.zendesk.organizations.items():
        external = (org.get("external_id") or "").lower()
        claims.setdefault(external[:15], []).append(org_id)
    expected = {}
    for account_id, account in world.sandbox.salesforce.accounts.items():
        if account["Type"] != "Customer":
            continue
        tag = values.get(str(account.get("Support_Tier__c") or "").strip().lower())
        orgs = claims.get(account_id[:15].lower(), [])
        if tag and len(orgs) == 1:
            expected[orgs[0]] = tag
    return expected


def batches(n: int) -> int:
    return math.ceil(n / 100)
