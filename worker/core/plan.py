"""Desired (Salesforce tiers) vs actual (Zendesk organizations) -> a typed, showable Plan.

Every account in scope ends in exactly one :class:`Outcome`. Safety rails live here too:
never write an empty value, never downgrade on an unknown value, and refuse plans that would
replace more existing values than ``max_change_fraction`` allows.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from worker.core.actions import Action
from worker.core.config import TierFile
from worker.core.edits import ManualEdit, Removal, RemovalAction
from worker.core.errors import PlanRefusedError
from worker.core.matching import OrganizationIndex
from worker.core.model import Account, Organization, iso_utc
from worker.core.policy import DecisionSource, TierDecision, TierPolicy
from worker.core.routing_plan import RoutingPlan


class Outcome(StrEnum):
    """Where an account ends up in the plan."""

    SET_TIER = "set_tier"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"
    NO_ORGANIZATION = "no_organization"


class RejectReason(StrEnum):
    """Why an account's organization is left untouched."""

    UNKNOWN_VALUE = "unknown_value"
    BLANK_VALUE = "blank_value"
    INVALID_DATA = "invalid_data"
    WOULD_DOWNGRADE = "would_downgrade"
    DUPLICATE_ORGANIZATIONS = "duplicate_organizations"
    MANUAL_EDIT = "manual_edit"  # changed by hand in Zendesk and held, as zendesk.on_manual_edit: report asks


@dataclass(frozen=True, slots=True)  # one per account: no __dict__
class AccountPlan:
    """The plan for one account."""

    account_id: str
    account_name: str
    outcome: Outcome
    decision: TierDecision
    organization_id: int | None = None
    current_tag: str | None = None
    target_tag: str | None = None
    reason: RejectReason | None = None
    detail: str = ""
    organization_changed_at: str | None = None

    @property
    def replaces_value(self) -> bool:
        """True when this change overwrites an existing value (counted by the change rail)."""
        return self.outcome is Outcome.SET_TIER and self.current_tag is not None


@dataclass(frozen=True, slots=True)  # a full read of 1,000,000 organizations may find 150,000: no __dict__
class OrphanOrganization:
    """An organization no account in scope claims (full runs only)."""

    organization_id: int
    name: str
    external_id: str
    why: str


@dataclass(frozen=True)
class DuplicateExternalId:
    """Several organizations claim the same account."""

    account_id: str
    organization_ids: tuple[int, ...]
    external_ids: tuple[str, ...]


@dataclass(frozen=True)
class FieldPlan:
    """What must change on the managed dropdown field before organizations can be written.

    ``action`` is CREATE, UPDATE (add or rename our options; remove only options no tier uses and
    no organization holds, and only when asked) or NONE; the field is never deleted. ``in_use``
    counts, after a full read, the organizations that hold each option no tier uses.
    """

    action: Action
    key: str
    title: str
    field_id: int | None = None
    add: tuple[tuple[str, str], ...] = ()
    rename: tuple[tuple[int, str, str], ...] = ()
    foreign_options: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    in_use: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Plan:
    """Every decision of one run, before anything is written."""

    full: bool
    field: FieldPlan
    accounts: tuple[AccountPlan, ...]
    orphans: tuple[OrphanOrganization, ...] = ()
    duplicates: tuple[DuplicateExternalId, ...] = ()
    organizations_without_external_id: int = 0
    population: int = 0
    notes: tuple[str, ...] = ()
    routing: RoutingPlan | None = None
    manual_edits: tuple[ManualEdit, ...] = ()
    removals: tuple[Removal, ...] = ()
    holders: tuple[tuple[str, int], ...] = ()  # full reads: organizations holding each value of the field
    # Accounts whose organization already holds their tier, counted per tier instead of listed in
    # ``accounts`` when a full sync keeps only what it writes or rejects (``build_plan(keep_unchanged=False)``).
    unchanged_by_tier: tuple[tuple[str, int], ...] = ()

    @property
    def account_count(self) -> int:
        """Every account planned: those listed in ``accounts`` and those only counted as unchanged."""
        return len(self.accounts) + sum(n for _, n in self.unchanged_by_tier)

    def outcome_counts(self) -> Counter[Outcome]:
        """Accounts per outcome, the counted unchanged ones included."""
        counts = Counter(item.outcome for item in self.accounts)
        counts[Outcome.UNCHANGED] += sum(n for _, n in self.unchanged_by_tier)
        return counts

    def tier_counts(self) -> dict[str, Counter[str]]:
        """Per tier, the accounts set to it and those already at it (by outcome value)."""
        tiers: dict[str, Counter[str]] = defaultdict(Counter)
        for item in self.accounts:
            if item.decision.tier is not None and item.outcome in (Outcome.SET_TIER, Outcome.UNCHANGED):
                tiers[item.decision.tier][item.outcome.value] += 1
        for tier, n in self.unchanged_by_tier:
            tiers[tier][Outcome.UNCHANGED.value] += n
        return dict(sorted(tiers.items()))

    @property
    def changes(self) -> tuple[AccountPlan, ...]:
        """Accounts whose organization gets a new value."""
        return tuple(item for item in self.accounts if item.outcome is Outcome.SET_TIER)

    @property
    def clears(self) -> tuple[Removal, ...]:
        """Removed accounts whose organization's value is to be cleared."""
        return tuple(item for item in self.removals if item.action is RemovalAction.CLEAR)

    @property
    def writes(self) -> list[tuple[int, str | None]]:
        """Every organization write of this plan, ``(organization id, value)``; None clears the field."""
        sets: list[tuple[int, str | None]] = [(item.organization_id, item.target_tag) for item in self.changes
                                              if item.organization_id is not None and item.target_tag]
        return sets + [(item.organization_id, None) for item in self.clears]

    @property
    def replacements(self) -> int:
        """Changes that overwrite an existing value, clears included."""
        return sum(1 for item in self.accounts if item.replaces_value) + len(self.clears)

    @property
    def fingerprint(self) -> str:
        """A short digest of the writes this plan makes; equal plans write the same things."""
        digest = hashlib.sha256()
        digest.update(f"{self.field.action}|{self.field.add}|{self.field.rename}".encode())
        for org_id, value in sorted(self.writes, key=lambda write: write[0]):
            digest.update(f"{org_id}={value};".encode())
        return digest.hexdigest()[:12]


def _rank(config: TierFile) -> dict[str, int]:
    return {tier.tag: index for index, tier in enumerate(config.tiers)}


PADDED_EXTERNAL_ID = "external_id has surrounding whitespace, so incremental runs cannot find it; trim it in Zendesk"


def _plan_one(account: Account, decision: TierDecision, organizations: Sequence[Organization],
              tags: dict[str, str], ranks: dict[str, int], padded: Sequence[Organization] = ()) -> AccountPlan:
    # Built with the constructor, never dataclasses.replace: a full run plans one per account (bench/).
    if not organizations:
        detail = (f"organization {', '.join(str(o.id) for o in padded)}: {PADDED_EXTERNAL_ID}" if padded
                  else "no organization has this external_id")
        return AccountPlan(account.id, account.name, Outcome.NO_ORGANIZATION, decision, detail=detail)
    if len(organizations) > 1:
        ids = ", ".join(str(o.id) for o in organizations)
        return AccountPlan(account.id, account.name, Outcome.REJECTED, decision,
                           reason=RejectReason.DUPLICATE_ORGANIZATIONS,
                           detail=f"organizations {ids} all claim this account; merge them or clear one external_id")
    organization = organizations[0]
    current = organization.tier_tag

    def outcome(kind: Outcome, target: str | None = None, reason: RejectReason | None = None,
                detail: str = "") -> AccountPlan:
        return AccountPlan(account.id, account.name, kind, decision, organization.id, current, target, reason,
                           detail, iso_utc(organization.updated_at))

    if decision.tier is None:
        return outcome(Outcome.REJECTED, reason=_UNDECIDED.get(decision.source, RejectReason.UNKNOWN_VALUE),
                       detail=decision.explanation)
    target = tags[decision.tier]
    if not target:  # never write an empty value (tags are validated non-empty; belt and braces)
        return outcome(Outcome.REJECTED, reason=RejectReason.INVALID_DATA, detail="empty tag")
    if current == target:
        return outcome(Outcome.UNCHANGED, target)
    if decision.is_fallback and current is not None and ranks.get(current, -1) <= ranks[target]:
        return outcome(Outcome.REJECTED, target, RejectReason.WOULD_DOWNGRADE,
                       f"{decision.explanation}, but the organization has {current!r}; an unknown value never "
                       "downgrades")
    return outcome(Outcome.SET_TIER, target)


_UNDECIDED = {
    DecisionSource.UNKNOWN_VALUE: RejectReason.UNKNOWN_VALUE,
    DecisionSource.BLANK_VALUE: RejectReason.BLANK_VALUE,
    DecisionSource.INVALID_DATA: RejectReason.INVALID_DATA,
}


def _orphans(index: OrganizationIndex, claimed: set[int]) -> tuple[OrphanOrganization, ...]:
    """Organizations no account in scope claims; ``claimed`` holds the first organization id of each claimed id."""
    orphans = [
        OrphanOrganization(o.id, o.name, o.external_id or "", "no Salesforce account in scope has this id")
        for orgs in index.by_account.values() if orgs[0].id not in claimed for o in orgs
    ]
    orphans += [OrphanOrganization(o.id, o.name, o.external_id or "", "external_id is not a Salesforce id")
                for o in index.foreign]
    orphans += [OrphanOrganization(o.id, o.name, o.external_id or "", PADDED_EXTERNAL_ID)
                for orgs in index.padded.values() for o in orgs]
    return tuple(sorted(orphans, key=lambda o: o.organization_id))


def build_plan(config: TierFile, accounts: Iterable[Account], organizations: Iterable[Organization],
               field: FieldPlan, *, full: bool, population: int = 0, keep_unchanged: bool = True) -> Plan:
    """Compare accounts with organizations and decide one outcome per account.

    Args:
        config: the validated tier file.
        accounts: accounts in scope, possibly a stream read once (de-duplicated by id, last one wins).
        organizations: every organization (full run) or those that may match (incremental).
        field: the field plan; when the field is to be created, no organization has a value yet.
        full: whether ``organizations`` is every organization (enables orphan reporting).
        population: organizations matched by the last full run; a partial run's change-rail
            denominator is the larger of it and this run's matches, a full run's is its own matches.
        keep_unchanged: list the accounts whose organization already holds their tier; when False they are
            only counted per tier (``Plan.unchanged_by_tier``), so that a full sync of 100,000 accounts keeps
            what it writes and rejects, not one plan per account. Salesforce's query cursor returns each
            row once, so counting them without their ids does not count one twice.

    """
    policy = TierPolicy(config)
    index = OrganizationIndex.build(organizations)
    ranks = _rank(config)
    tags = {tier.name: tier.tag for tier in config.tiers}
    planned: dict[str, AccountPlan] = {}
    unchanged: Counter[str] = Counter()
    claimed: set[int] = set()  # the first organization id of every claimed account id (an int the index holds)
    for account in accounts:  # planned as it arrives (a stream, on a full read): only its plan is kept
        claims = index.by_account.get(account.id, ())
        if claims:
            claimed.add(claims[0].id)
        item = _plan_one(account, policy.resolve(account), claims, tags, ranks,
                         index.padded.get(account.id, ()) if full else ())
        if keep_unchanged or item.outcome is not Outcome.UNCHANGED or item.decision.tier is None:
            planned[account.id] = item
        else:
            unchanged[item.decision.tier] += 1
    items = tuple(planned[account_id] for account_id in sorted(planned))
    duplicates = tuple(
        DuplicateExternalId(key, tuple(o.id for o in orgs), tuple(o.external_id or "" for o in orgs))
        for key, orgs in sorted(index.duplicates().items())
    )
    matched = sum(1 for item in items if item.organization_id is not None) + sum(unchanged.values())
    return Plan(
        full=full, field=field, accounts=items,
        orphans=_orphans(index, claimed) if full else (),
        duplicates=duplicates,
        organizations_without_external_id=index.without_external_id if full else 0,
        population=matched if full else max(population, matched),
        unchanged_by_tier=tuple(sorted(unchanged.items())),
    )


def only_tier(plan: Plan, tag: str, tier: str) -> Plan:
    """The plan restricted to the accounts a tier concerns: decided as it, or whose organization holds its tag."""
    kept = tuple(item for item in plan.accounts if item.decision.tier == tier or item.current_tag == tag)
    counted = tuple((name, n) for name, n in plan.unchanged_by_tier if name == tier)
    return replace(plan, accounts=kept, orphans=(), duplicates=(), organizations_without_external_id=0,
                   unchanged_by_tier=counted)


def check_change_fraction(plan: Plan, max_fraction: float, *, force: bool) -> None:
    """Refuse a plan that replaces more existing values than allowed.

    Setting a value on an organization that has none is not counted: the rail guards against a
    mapping mistake flipping existing tiers en masse, not against the first run.

    Raises:
        PlanRefusedError: too many replacements and ``force`` is False.

    """
    if force or not plan.population:
        return
    fraction = plan.replacements / plan.population
    if fraction > max_fraction:
        raise PlanRefusedError(
            f"plan would replace the tier of {plan.replacements} of {plan.population} organizations "
            f"({fraction:.0%}), above max_change_fraction {max_fraction:.0%}; nothing was written",
            hint="check the tier mapping with `tiersync sync --dry-run`, then re-run with --force if it is right",
        )
