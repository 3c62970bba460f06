"""Seeds Salesforce Accounts: unique names, mostly customers, tiers canonical, variant, unknown or blank."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker.sandbox.salesforce import format_modstamp
from worker.sandbox.seed.run import SeedRun, SeedSummary
from worker.sandbox.sobjects import TIER_VALUES

if TYPE_CHECKING:
    from worker.sandbox.salesforce import FakeSalesforce

VARIANT_TIERS = (" enterprise ", "PROFESSIONAL", "tier 2 ", "STARTER", "Tier 1 ")
UNKNOWN_TIERS = ("Platinum", "Legacy Gold")
BLANK_TIERS: tuple[str | None, ...] = ("", None)
_ADJECTIVES = ("Acme", "Blue", "Bright", "Crystal", "Delta", "Eagle", "Golden", "Green", "Hyper", "Iron",
               "Lunar", "Metro", "Nova", "Polar", "Prime", "Quantum", "Red", "Silver", "Solar", "Summit")
_NOUNS = ("Analytics", "Bakery", "Bank", "Biotech", "Cloud", "Dynamics", "Energy", "Foods", "Freight",
          "Health", "Labs", "Logistics", "Media", "Motors", "Networks", "Robotics", "Software", "Systems",
          "Textiles", "Travel")
_SUFFIXES = ("Inc", "Ltd", "GmbH", "LLC", "SA", "plc", "Group", "Co")


@dataclass(frozen=True)
class SeededAccount:
    """An Account just created, as the organization seeder needs it."""

    id: str
    name: str


def seed_account(run: SeedRun, sf: FakeSalesforce, name_taken: Callable[[str], bool]) -> SeededAccount:
    """Create one Account; ``name_taken`` tells a name some other service already uses."""
    rng, summary = run.rng, run.summary
    base_name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.choice(_SUFFIXES)}"
    name, n = base_name, 1
    while name.casefold() in run.names or name_taken(name):
        n += 1
        name = f"{base_name} {n}"
    run.names.add(name.casefold())
    account_type = "Customer" if rng.random() < 0.9 else "Prospect"
    tier, tier_kind = _tier(rng, summary)
    run.stamp_ms += rng.randint(1, 300) * 1000
    account_id = sf.add_account(
        Id=run.random_id(), Name=name, Type=account_type, Support_Tier__c=tier,
        AnnualContractValue__c=None if rng.random() < 0.1 else float(rng.randint(0, 20_000) * 100),
        Complexity__c=rng.choice(("High", "Medium", "Medium", "Low", "Low", None)),
        Strategic__c=rng.random() < 0.1, SystemModstamp=format_modstamp(run.stamp_ms),
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
    return SeededAccount(account_id, name)


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
