"""Deterministic demo data for the sandbox: Salesforce Accounts and the matching (messy) Zendesk orgs.

The Zendesk organization field is deliberately NOT created: tiersync creates it on first run.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from worker.core.ids import to_18
from worker.sandbox.salesforce import format_modstamp
from worker.sandbox.sobjects import TIER_VALUES

if TYPE_CHECKING:
    from worker.sandbox.server import Sandbox

VARIANT_TIERS = (" enterprise ", "PROFESSIONAL", "tier 2 ", "STARTER", "Tier 1 ")
UNKNOWN_TIERS = ("Platinum", "Legacy Gold")
BLANK_TIERS: tuple[str | None, ...] = ("", None)
ORGS_WITHOUT_EXTERNAL_ID = 5
_SEED_EPOCH_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
_ADJECTIVES = ("Acme", "Blue", "Bright", "Crystal", "Delta", "Eagle", "Golden", "Green", "Hyper", "Iron",
               "Lunar", "Metro", "Nova", "Polar", "Prime", "Quantum", "Red", "Silver", "Solar", "Summit")
_NOUNS = ("Analytics", "Bakery", "Bank", "Biotech", "Cloud", "Dynamics", "Energy", "Foods", "Freight",
          "Health", "Labs", "Logistics", "Media", "Motors", "Networks", "Robotics", "Software", "Systems",
          "Textiles", "Travel")
_SUFFIXES = ("Inc", "Ltd", "GmbH", "LLC", "SA", "plc", "Group", "Co")


@dataclass
class SeedSummary:
    """What ``seed_demo`` created, by category (tests assert exact figures against it)."""

    accounts: int = 0
    customers: int = 0
    prospects: int = 0
    canonical_tiers: int = 0
    variant_tiers: int = 0
    unknown_tiers: int = 0
    blank_tiers: int = 0
    organizations: int = 0
    orgs_18: int = 0  # accounts with exactly one org whose external_id is the 18-character Id
    orgs_15: int = 0  # ... whose external_id is the 15-character id
    orgs_lowercase: int = 0  # ... whose external_id is the 18-character Id lower-cased
    duplicates: int = 0  # accounts with two orgs (one 18-character, one 15-character external_id)
    without_org: int = 0
    orphan_orgs: int = 0  # orgs whose external_id looks like an Account Id that does not exist
    orgs_without_external_id: int = 0
    tier_values: Counter[str | None] = field(default_factory=Counter)
    account_ids_without_org: list[str] = field(default_factory=list)
    duplicate_account_ids: list[str] = field(default_factory=list)
    unknown_tier_account_ids: list[str] = field(default_factory=list)
    blank_tier_account_ids: list[str] = field(default_factory=list)
    orphan_external_ids: list[str] = field(default_factory=list)


def _tier(rng: random.Random, summary: SeedSummary) -> tuple[str | None, str]:
    roll = rng.random()
    if roll < 0.02:
        summary.unknown_tiers += 1
        return rng.choice(UNKNOWN_TIERS), "unknown"
    if roll < 0.03:
        summary.blank_tiers += 1
        return rng.choice(BLANK_TIERS), "blank"
    if roll < 0.10:
        summary.variant_tiers += 1
        return rng.choice(VARIANT_TIERS), "variant"
    summary.canonical_tiers += 1
    return rng.choice(TIER_VALUES), "canonical"


def _random_id(rng: random.Random, taken: set[str]) -> str:
    """A fresh 18-character Account Id, distinct from ``taken`` even case-insensitively."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = to_18("001" + "".join(rng.choice(alphabet) for _ in range(12)))
        if candidate[:15].casefold() not in taken:
            taken.add(candidate[:15].casefold())
            return candidate


def seed_demo(sb: Sandbox, accounts: int = 10_000, seed: int = 42) -> SeedSummary:
    """Fill the sandbox with ``accounts`` Accounts and their Zendesk organizations, deterministically."""
    rng = random.Random(seed)
    summary = SeedSummary(accounts=accounts)
    sf, zd = sb.salesforce, sb.zendesk
    taken_ids: set[str] = {i[:15].casefold() for i in sf.accounts}
    names: set[str] = set()
    stamp_ms = _SEED_EPOCH_MS
    for _ in range(accounts):
        base_name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.choice(_SUFFIXES)}"
        name, n = base_name, 1
        while name.casefold() in names or zd.name_owner(name) is not None:
            n += 1
            name = f"{base_name} {n}"
        names.add(name.casefold())
        account_type = "Customer" if rng.random() < 0.9 else "Prospect"
        tier, tier_kind = _tier(rng, summary)
        stamp_ms += rng.randint(1, 300) * 1000
        account_id = sf.add_account(
            Id=_random_id(rng, taken_ids), Name=name, Type=account_type, Support_Tier__c=tier,
            AnnualContractValue__c=None if rng.random() < 0.1 else float(rng.randint(0, 20_000) * 100),
            Complexity__c=rng.choice(("High", "Medium", "Medium", "Low", "Low", None)),
            Strategic__c=rng.random() < 0.1, SystemModstamp=format_modstamp(stamp_ms),
        )
        summary.tier_values[tier] += 1
        if account_type == "Customer":
            summary.customers += 1
        else:
            summary.prospects += 1
        if tier_kind == "unknown":
            summary.unknown_tier_account_ids.append(account_id)
        elif tier_kind == "blank":
            summary.blank_tier_account_ids.append(account_id)
        roll = rng.random()
        if roll < 0.91:
            zd.add_organization(name, account_id)
            summary.orgs_18 += 1
        elif roll < 0.95:
            zd.add_organization(name, account_id[:15])
            summary.orgs_15 += 1
        elif roll < 0.96:
            zd.add_organization(name, account_id.lower())
            summary.orgs_lowercase += 1
        elif roll < 0.97:
            zd.add_organization(name, account_id)
            zd.add_organization(f"{name} (duplicate)", account_id[:15])
            summary.duplicates += 1
            summary.duplicate_account_ids.append(account_id)
        else:
            summary.without_org += 1
            summary.account_ids_without_org.append(account_id)
    orphans = round(accounts * 0.01) if accounts >= 50 else 1
    for n in range(1, orphans + 1):
        external_id = _random_id(rng, taken_ids)
        zd.add_organization(f"Former Customer {n:05d}", external_id)
        summary.orphan_external_ids.append(external_id)
    summary.orphan_orgs = orphans
    for n in range(1, ORGS_WITHOUT_EXTERNAL_ID + 1):
        zd.add_organization(f"Sandbox Internal Team {n}")
    summary.orgs_without_external_id = ORGS_WITHOUT_EXTERNAL_ID
    summary.organizations = (summary.orgs_18 + summary.orgs_15 + summary.orgs_lowercase + 2 * summary.duplicates
                             + summary.orphan_orgs + summary.orgs_without_external_id)
    return summary
