"""The run record: the plan plus what happened to each write, and its machine-readable summary."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from worker.core.errors import ExitCode
from worker.core.model import WriteResult
from worker.core.plan import Outcome, Plan


@dataclass
class RunRecord:
    """Everything one run decided and did.

    Attributes:
        mode: ``full``, ``incremental`` or ``ids``.
        dry_run: True when nothing was written.
        plan: the plan (None when the run failed before planning).
        writes: Zendesk's verdict per organization id (empty on a dry run).
        field_applied: whether the dropdown field was created or updated.
        api_calls: ``{service: {"calls": n, "writes": m}}``.
        salesforce_usage: ``(used, total)`` daily API requests, when known.
        notes: things the operator should know (fallbacks, missing ids...).
        refusal: the safety rail's message when the plan is (or would be) refused.
        error: the error that ended the run early, if any.
        hint: what to do about ``error``.
        retryable: whether trying the same run again later may succeed (a scheduler's decision).
        retry_after: seconds the service asked us to wait before that, when it said.

    """

    mode: str
    dry_run: bool
    plan: Plan | None = None
    writes: dict[int, WriteResult] = field(default_factory=dict)
    field_applied: bool = False
    api_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    salesforce_usage: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None
    error: str | None = None
    hint: str = ""
    retryable: bool = False
    retry_after: float | None = None
    exit_code: int = ExitCode.OK
    duration_seconds: float = 0.0

    def failed_writes(self) -> list[tuple[str, int, str]]:
        """``(account_id, organization_id, error)`` for each write Zendesk did not accept."""
        if self.plan is None:
            return []
        return [(item.account_id, item.organization_id, self.writes[item.organization_id].error)
                for item in self.plan.changes
                if item.organization_id in self.writes and not self.writes[item.organization_id].ok]

    def summary(self) -> dict[str, Any]:
        """The ``--json`` document: counts per outcome and tier, API calls, duration, rejects."""
        plan = self.plan
        document: dict[str, Any] = {
            "mode": self.mode, "dry_run": self.dry_run, "exit_code": int(self.exit_code),
            "duration_seconds": round(self.duration_seconds, 3), "api_calls": self.api_calls,
            "salesforce_api_usage": ({"used": self.salesforce_usage[0], "total": self.salesforce_usage[1]}
                                     if self.salesforce_usage else None),
            "notes": self.notes, "refusal": self.refusal, "error": self.error, "hint": self.hint or None,
            "retryable": self.retryable, "retry_after_seconds": self.retry_after,
        }
        if plan is None:
            return document
        outcomes = Counter(item.outcome.value for item in plan.accounts)
        tiers: dict[str, Counter[str]] = defaultdict(Counter)
        for item in plan.accounts:
            if item.decision.tier is not None and item.outcome in (Outcome.SET_TIER, Outcome.UNCHANGED):
                tiers[item.decision.tier][item.outcome.value] += 1
        ok = sum(1 for result in self.writes.values() if result.ok)
        document |= {
            "plan_fingerprint": plan.fingerprint,
            "accounts": len(plan.accounts),
            "outcomes": {outcome.value: outcomes.get(outcome.value, 0) for outcome in Outcome},
            "tiers": {name: dict(counts) for name, counts in sorted(tiers.items())},
            "writes": {"planned": len(plan.changes), "updated": ok, "failed": len(self.writes) - ok},
            "field": {"action": plan.field.action, "key": plan.field.key, "applied": self.field_applied,
                      "added_options": [tag for _, tag in plan.field.add],
                      "renamed_options": [new for _, _, new in plan.field.rename],
                      "foreign_options": list(plan.field.foreign_options)},
            "changes": [{"account_id": i.account_id, "organization_id": i.organization_id,
                         "from": i.current_tag, "to": i.target_tag} for i in plan.changes],
            "rejected": [{"account_id": i.account_id, "account_name": i.account_name, "reason": i.reason.value
                          if i.reason else None, "organization_id": i.organization_id, "detail": i.detail}
                         for i in plan.accounts if i.outcome is Outcome.REJECTED],
            "failed": [{"account_id": a, "organization_id": o, "error": e} for a, o, e in self.failed_writes()],
            "no_organization": [i.account_id for i in plan.accounts if i.outcome is Outcome.NO_ORGANIZATION],
            "orphans": [{"organization_id": o.organization_id, "external_id": o.external_id, "why": o.why}
                        for o in plan.orphans],
            "duplicates": [{"account_id": d.account_id, "organization_ids": list(d.organization_ids)}
                           for d in plan.duplicates],
            "organizations_without_external_id": plan.organizations_without_external_id,
        }
        return document
