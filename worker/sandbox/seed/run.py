"""What the seeders share while they fill a sandbox: the one random stream, the summary, ids and names in use."""

from __future__ import annotations

import random
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker.core.ids import to_18

SEED_EPOCH_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)


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


@dataclass
class SeedRun:
    """One seeding pass. Every seeder draws from ``rng`` in a fixed order: that order is the demo data."""

    rng: random.Random
    summary: SeedSummary
    taken_ids: set[str]  # casefolded 15-character Account ids already used (existing, seeded or orphaned)
    names: set[str] = field(default_factory=set)  # casefolded Account names seeded so far
    stamp_ms: int = SEED_EPOCH_MS  # SystemModstamp of the last seeded Account

    def created_at(self) -> str:
        """When a seeded organization was made: with the last seeded Account, long before any run (ISO 8601)."""
        return datetime.fromtimestamp(self.stamp_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def random_id(self) -> str:
        """A fresh 18-character Account Id, distinct from ``taken_ids`` even case-insensitively."""
        alphabet = string.ascii_letters + string.digits
        while True:
            candidate = to_18("001" + "".join(self.rng.choice(alphabet) for _ in range(12)))
            if candidate[:15].casefold() not in self.taken_ids:
                self.taken_ids.add(candidate[:15].casefold())
                return candidate
