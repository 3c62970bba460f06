"""The reconciliation report: a full dry run's plan seen as a report, one category per account.

``tiersync reconcile`` reads both sides in full through the engine's one path (a full dry run, routing
included) and turns the plan into a :class:`Report`: every account in exactly one :class:`Category`, the
orphan organizations, the routing objects that drifted or collide with ours, a per-tier count of both
sides, and what changed since the previous report. Rendering lives in ``worker.render.report``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from worker.core.config import TierFile
from worker.core.plan import AccountPlan, Outcome, Plan, RejectReason
from worker.core.routing_plan import RoutingPlan, Why

VERSION = 1


class Category(StrEnum):
    """Where an account stands, in the order reports list them."""

    DRIFT = "drift"  # the organization's value differs from the Salesforce tier
    LAST_WRITE_FAILED = "last_write_failed"  # it differs, and tiersync's last write of it failed
    UNKNOWN_VALUE = "unknown_value"  # the Salesforce value is unknown, blank or unusable: no tier to compare
    DUPLICATE_ORGANIZATIONS = "duplicate_organizations"
    NO_ORGANIZATION = "no_organization"
    IN_SYNC = "in_sync"


DRIFTED = (Category.DRIFT, Category.LAST_WRITE_FAILED)


@dataclass(frozen=True)
class AccountLine:
    """One account's line in the report.

    Attributes:
        expected: the tag the Salesforce tier calls for (None when there is no tier).
        actual: the organization's value now (None when unset or there is no single organization).
        organization_changed_at: when Zendesk last changed the organization (ISO 8601), when known.
        detail: why, in words (the reject's explanation, the failed write's error...).

    """

    account_id: str
    account_name: str
    category: Category
    tier: str | None
    expected: str | None
    actual: str | None
    organization_id: int | None
    organization_changed_at: str | None
    detail: str = ""


@dataclass(frozen=True)
class TierCount:
    """Accounts decided as a tier in Salesforce, and organizations holding its tag in Zendesk."""

    tier: str
    title: str
    tag: str
    salesforce_accounts: int
    zendesk_organizations: int


@dataclass(frozen=True)
class OrphanLine:
    """An organization that names no account in scope (deleted, out of scope, or not a Salesforce id)."""

    organization_id: int
    name: str
    external_id: str
    why: str


@dataclass(frozen=True)
class RoutingLine:
    """A routing object worth a look: drifted, missing, colliding with ours, or duplicated."""

    kind: str
    title: str
    object_id: int | None
    problem: str  # drift, missing, collision, duplicate, pending
    detail: str = ""


@dataclass(frozen=True)
class Report:
    """Everything one reconciliation found."""

    report_id: str
    generated_at: str
    accounts: tuple[AccountLine, ...]
    tiers: tuple[TierCount, ...]
    orphans: tuple[OrphanLine, ...] = ()
    routing: tuple[RoutingLine, ...] = ()
    previous_report: str | None = None
    new_drift: tuple[str, ...] = ()
    resolved_drift: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    version: int = VERSION
    fixed: dict[str, int] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        """Accounts per category, every category present (they add up to the Salesforce input)."""
        counts = Counter(line.category for line in self.accounts)
        return {category.value: counts.get(category, 0) for category in Category}

    @property
    def drifted(self) -> tuple[AccountLine, ...]:
        """Accounts whose organization's value differs from the tier, failed writes included."""
        return tuple(line for line in self.accounts if line.category in DRIFTED)

    @property
    def routing_drift(self) -> tuple[RoutingLine, ...]:
        """Routing objects that are not as the tier file says (drifted or missing)."""
        return tuple(line for line in self.routing if line.problem in ("drift", "missing"))

    @property
    def has_drift(self) -> bool:
        """Whether anything differs that a repair would put right."""
        return bool(self.drifted or self.routing_drift)

    @property
    def drift_keys(self) -> tuple[str, ...]:
        """One stable key per difference: ``account:<id>:<expected>:<actual>`` and ``routing:<kind>:<title>``."""
        keys = [f"account:{line.account_id}:{line.expected}:{line.actual}" for line in self.drifted]
        keys += [f"routing:{line.kind}:{line.title}" for line in self.routing_drift]
        return tuple(sorted(keys))

    @property
    def fingerprint(self) -> str:
        """A digest of the drift: equal drift, equal fingerprint (alerts are not repeated for it)."""
        return hashlib.sha256("\n".join(self.drift_keys).encode()).hexdigest()[:16]


_REJECTS = {
    RejectReason.UNKNOWN_VALUE: Category.UNKNOWN_VALUE,
    RejectReason.BLANK_VALUE: Category.UNKNOWN_VALUE,
    RejectReason.INVALID_DATA: Category.UNKNOWN_VALUE,
    RejectReason.WOULD_DOWNGRADE: Category.UNKNOWN_VALUE,
    RejectReason.DUPLICATE_ORGANIZATIONS: Category.DUPLICATE_ORGANIZATIONS,
    RejectReason.MANUAL_EDIT: Category.DRIFT,
}


def categorize(item: AccountPlan, failed_ids: Collection[str], failures: Mapping[str, str]) -> AccountLine:
    """The one category of an account's plan."""
    if item.outcome is Outcome.UNCHANGED:
        category = Category.IN_SYNC
    elif item.outcome is Outcome.NO_ORGANIZATION:
        category = Category.NO_ORGANIZATION
    elif item.outcome is Outcome.SET_TIER:
        category = Category.LAST_WRITE_FAILED if item.account_id in failed_ids else Category.DRIFT
    else:
        category = _REJECTS.get(item.reason or RejectReason.UNKNOWN_VALUE, Category.UNKNOWN_VALUE)
    expected = item.target_tag if category in (*DRIFTED, Category.IN_SYNC) else None
    detail = failures.get(item.account_id, "") if category is Category.LAST_WRITE_FAILED else item.detail
    return AccountLine(item.account_id, item.account_name, category, item.decision.tier, expected, item.current_tag,
                       item.organization_id, item.organization_changed_at, detail)


def routing_lines(plan: RoutingPlan | None) -> tuple[RoutingLine, ...]:
    """The routing objects to look at: drifted, missing or not yet created, colliding, duplicated."""
    if plan is None:
        return ()
    lines = [RoutingLine(c.kind.value, c.title, c.object_id, "drift",
                         ", ".join(a.name for a in c.attributes)) for c in plan.drift]
    lines += [RoutingLine(c.kind.value, c.title, c.object_id, "missing" if c.why is Why.MISSING else "pending",
                          c.why.value) for c in plan.changes if c.why in (Why.MISSING, Why.NEW, Why.CONFIG_CHANGED)]
    lines += [RoutingLine(c.kind.value, c.title, c.object_id, "collision",
                          "an unmarked object has the title of one of ours; left alone") for c in plan.collisions]
    lines += [RoutingLine(d.kind.value, d.key, None, "duplicate",
                          "several marked objects: " + ", ".join(str(i) for i in d.object_ids))
              for d in plan.duplicates]
    return tuple(lines)


def tier_counts(config: TierFile, plan: Plan) -> tuple[TierCount, ...]:
    """Per tier: accounts decided as it in Salesforce, organizations holding its tag in Zendesk."""
    decided = Counter(item.decision.tier for item in plan.accounts if item.decision.tier)
    held = dict(plan.holders)
    return tuple(TierCount(tier.name, tier.title, tier.tag, decided.get(tier.name, 0), held.get(tier.tag, 0))
                 for tier in config.tiers)


def build_report(config: TierFile, plan: Plan, *, report_id: str, generated_at: str,
                 failed_writes: Mapping[str, str], previous: Mapping[str, object] | None = None,
                 notes: tuple[str, ...] = ()) -> Report:
    """The report of a full plan; ``failed_writes`` maps account ids whose last write failed to its error.

    ``previous`` is the last report's summary (``report_summary``): drift it did not have is new, drift
    it had that is gone is resolved.
    """
    if not plan.full:
        raise ValueError("a reconciliation report needs a full read")
    accounts = tuple(sorted((categorize(item, failed_writes, failed_writes) for item in plan.accounts),
                            key=lambda line: (list(Category).index(line.category), line.account_id)))
    orphans = tuple(OrphanLine(o.organization_id, o.name, o.external_id, o.why) for o in plan.orphans)
    report = Report(report_id, generated_at, accounts, tier_counts(config, plan), orphans,
                    routing_lines(plan.routing), notes=notes)
    if previous is None:
        return report
    before = {str(key) for key in previous.get("drift_keys", []) or []}  # type: ignore[attr-defined]
    now = set(report.drift_keys)
    return Report(**{**report.__dict__, "previous_report": str(previous.get("report_id") or "") or None,
                     "new_drift": tuple(sorted(now - before)), "resolved_drift": tuple(sorted(before - now))})


def report_summary(report: Report) -> dict[str, object]:
    """What the next report and the alerts need of this one (kept, the last N, in Redis or files)."""
    return {"report_id": report.report_id, "generated_at": report.generated_at, "version": report.version,
            "totals": report.totals, "drift_keys": list(report.drift_keys), "fingerprint": report.fingerprint,
            "has_drift": report.has_drift}
