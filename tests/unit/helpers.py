"""Builders for core unit tests."""

from __future__ import annotations

from typing import Any

from worker.core.config import TierFile, validate
from worker.core.ids import to_18
from worker.core.model import Account, Organization

TIERS: list[dict[str, Any]] = [
    {"name": "enterprise", "title": "Enterprise", "tag": "tier_enterprise", "salesforce_values": ["Enterprise", "Tier 1"]},
    {"name": "professional", "title": "Professional", "tag": "tier_professional", "salesforce_values": ["Professional"]},
    {"name": "starter", "title": "Starter", "tag": "tier_starter", "salesforce_values": ["Starter"]},
]


def make_config(**overrides: Any) -> TierFile:
    data: dict[str, Any] = {
        "salesforce": {"tier_field": "Support_Tier__c", "fields": ["ACV__c", "Strategic__c", "Complexity__c"]},
        "tiers": TIERS,
    }
    data.update(overrides)
    return validate(data, "test.yaml")


def account_id(n: int) -> str:
    return to_18(f"001A0000{n:07d}")


def account(n: int, tier: Any = "Enterprise", **fields: Any) -> Account:
    return Account(id=account_id(n), name=f"Account {n}", fields={"Support_Tier__c": tier, **fields},
                   modstamp=f"2026-01-01T00:00:{n % 60:02d}.000+0000")


def org(n: int, tag: str | None = None, external_id: str | None = "", org_id: int | None = None) -> Organization:
    ext = account_id(n) if external_id == "" else external_id
    return Organization(id=org_id or 1000 + n, name=f"Org {n}", external_id=ext, tier_tag=tag)
