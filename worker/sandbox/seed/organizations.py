"""Seeds the (messy) Zendesk organizations of the demo.

Matched by the 18-character, 15-character or lower-cased Id, duplicated, missing, orphaned, or without
an external id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.sandbox.seed.accounts import SeededAccount
from worker.sandbox.seed.run import SeedRun

if TYPE_CHECKING:
    from worker.sandbox.zendesk import FakeZendesk

ORGS_WITHOUT_EXTERNAL_ID = 5


def seed_account_organizations(run: SeedRun, zd: FakeZendesk, account: SeededAccount) -> None:
    """Zero, one or two organizations for an Account just seeded."""
    summary, name, account_id = run.summary, account.name, account.id
    roll = run.rng.random()
    if roll < 0.91:
        zd.add_organization(name, account_id, created_at=run.created_at())
        summary.orgs_18 += 1
    elif roll < 0.95:
        zd.add_organization(name, account_id[:15], created_at=run.created_at())
        summary.orgs_15 += 1
    elif roll < 0.96:
        zd.add_organization(name, account_id.lower(), created_at=run.created_at())
        summary.orgs_lowercase += 1
    elif roll < 0.97:
        zd.add_organization(name, account_id, created_at=run.created_at())
        zd.add_organization(f"{name} (duplicate)", account_id[:15], created_at=run.created_at())
        summary.duplicates += 1
        summary.duplicate_account_ids.append(account_id)
    else:
        summary.without_org += 1
        summary.account_ids_without_org.append(account_id)


def seed_unmatched_organizations(run: SeedRun, zd: FakeZendesk) -> None:
    """Organizations of no Account (orphans, internal teams), after every Account; totals the summary."""
    summary = run.summary
    orphans = round(summary.accounts * 0.01) if summary.accounts >= 50 else 1
    for n in range(1, orphans + 1):
        external_id = run.random_id()
        zd.add_organization(f"Former Customer {n:05d}", external_id, created_at=run.created_at())
        summary.orphan_external_ids.append(external_id)
    summary.orphan_orgs = orphans
    for n in range(1, ORGS_WITHOUT_EXTERNAL_ID + 1):
        zd.add_organization(f"Sandbox Internal Team {n}", created_at=run.created_at())
    summary.orgs_without_external_id = ORGS_WITHOUT_EXTERNAL_ID
    summary.organizations = (summary.orgs_18 + summary.orgs_15 + summary.orgs_lowercase + 2 * summary.duplicates
                             + summary.orphan_orgs + summary.orgs_without_external_id)
