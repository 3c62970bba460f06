"""Deterministic demo data for the sandbox: Salesforce Accounts, the matching (messy) Zendesk orgs, groups.

One seeder per resource (``accounts``, ``organizations``, ``groups``), composed by :func:`seed_demo`
around one random stream (``run``); the groups draw nothing from it. The Zendesk organization field is
deliberately NOT created: tiersync creates it on first run.

Tickets (``tickets.seed_tickets``) are seeded apart, after ``seed_demo``, on their own random stream.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from worker.sandbox.seed.accounts import BLANK_TIERS, UNKNOWN_TIERS, VARIANT_TIERS, seed_account
from worker.sandbox.seed.groups import DEMO_GROUPS, seed_groups
from worker.sandbox.seed.organizations import (
    ORGS_WITHOUT_EXTERNAL_ID,
    seed_account_organizations,
    seed_unmatched_organizations,
)
from worker.sandbox.seed.run import SeedRun, SeedSummary
from worker.sandbox.seed.tickets import TicketSeedSummary, seed_tickets

if TYPE_CHECKING:
    from worker.sandbox.server import Sandbox

__all__ = ["BLANK_TIERS", "DEMO_GROUPS", "ORGS_WITHOUT_EXTERNAL_ID", "UNKNOWN_TIERS", "VARIANT_TIERS", "SeedSummary",
           "TicketSeedSummary", "seed_demo", "seed_tickets"]


def seed_demo(sb: Sandbox, accounts: int = 10_000, seed: int = 42) -> SeedSummary:
    """Fill the sandbox with ``accounts`` Accounts, their Zendesk organizations and tier groups, deterministically.

    Each Account is followed by its organizations: both seeders draw from the one random stream in turn.
    """
    sf, zd = sb.salesforce, sb.zendesk
    seed_groups(zd)
    run = SeedRun(random.Random(seed), SeedSummary(accounts=accounts), {i[:15].casefold() for i in sf.accounts})
    def name_taken(name: str) -> bool:  # an Account name must not collide with an existing organization's
        return zd.name_owner(name) is not None

    for _ in range(accounts):
        account = seed_account(run, sf, name_taken)
        seed_account_organizations(run, zd, account)
    seed_unmatched_organizations(run, zd)
    return run.summary
