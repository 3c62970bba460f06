"""The run record: the plan plus what happened to each write (rendered by worker.render)."""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.core.errors import ExitCode
from worker.core.model import WriteResult
from worker.core.plan import Plan
from worker.core.routing_plan import RoutingOutcome


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
        routing: what the routing section did, when it was applied.
        timings: seconds per stage (``read_seconds``, ``plan_seconds``, ``plan_cpu_seconds``, ``apply_seconds``).

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
    routing: RoutingOutcome | None = None
    run_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def applied_writes(self) -> list[tuple[int, str | None]]:
        """``(organization_id, value)`` of every write Zendesk accepted (None: the value was cleared)."""
        if self.plan is None:
            return []
        return [(org_id, value) for org_id, value in self.plan.writes
                if org_id in self.writes and self.writes[org_id].ok]

    def failed_clears(self) -> list[tuple[str, str]]:
        """``(account_id, reason)`` of each removed account whose organization could not be cleared."""
        if self.plan is None:
            return []
        return [(item.account_id, item.reason) for item in self.plan.clears
                if item.organization_id in self.writes and not self.writes[item.organization_id].ok]

    def failed_writes(self) -> list[tuple[str, int, str]]:
        """``(account_id, organization_id, error)`` for each write Zendesk did not accept."""
        if self.plan is None:
            return []
        return [(item.account_id, item.organization_id, self.writes[item.organization_id].error)
                for item in self.plan.changes
                if item.organization_id in self.writes and not self.writes[item.organization_id].ok]
