"""The ports: what the engine needs from each adapter, as Protocols the adapters implement.

The engine, the CLI's commands and (later) the Celery tasks import these, never the adapters'
classes, so that in-memory fakes and real clients are interchangeable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from worker.core.model import (
    Account,
    AccountChanges,
    Organization,
    OrganizationExport,
    OrganizationFieldState,
    WriteResult,
)
from worker.core.plan import FieldPlan
from worker.core.rules import Kind, RoutingDefinitions, RuleObject
from worker.core.runstate import RunState


class ProgressSink(Protocol):
    """Receives progress: a stage name, how far it advanced, and its total when known."""

    def __call__(self, stage: str, advance: int, total: int | None = None) -> None:  # noqa: D102
        ...


def no_progress(stage: str, advance: int, total: int | None = None) -> None:
    """A ProgressSink that ignores everything."""
    return None


class AccountSource(Protocol):
    """What the engine needs from Salesforce (worker.io.salesforce.SalesforceReader)."""

    def org_identity(self) -> str:
        """Which Salesforce org this is (its org id), without an API call."""

    def read(self, *, since: str | None = None, progress: Callable[[int], None] | None = None,
             total: Callable[[int], None] | None = None) -> Iterable[Account]:
        """Accounts in scope, all or changed since ``since``; ``total`` is told how many, when known."""

    def read_changes(self, *, since: str, seen: Collection[tuple[str, str]] = frozenset(),
                     progress: Callable[[int], None] | None = None) -> AccountChanges:
        """Accounts changed at or after ``since``: those in scope, and those deleted or out of scope.

        Rows whose ``(id, SystemModstamp)`` is in ``seen`` were handled by the previous run and are skipped.
        """

    def read_ids(self, ids: Iterable[str]) -> Iterable[Account]:
        """Accounts in scope among ``ids``."""

    def usage(self) -> UsageReport | None:
        """Salesforce API usage, when known."""


class UsageReport(Protocol):
    """Daily API usage as the service last reported it."""

    @property
    def used(self) -> int:
        """Requests used."""

    @property
    def total(self) -> int:
        """Requests allowed."""


class OrganizationTarget(Protocol):
    """What the engine needs from Zendesk (worker.io.zendesk.ZendeskClient)."""

    def find_field(self) -> OrganizationFieldState | None:
        """The managed dropdown field, if it exists."""

    def apply_field(self, plan: FieldPlan) -> None:
        """Create the field or add/rename options, keeping every existing option."""

    def require_admin(self) -> None:
        """Raise AuthError unless the credentials belong to an admin."""

    def all_organizations(self, progress: Callable[[int], None] | None = None) -> Iterable[Organization]:
        """Every organization."""

    def organizations_for(self, account_ids: Iterable[str]) -> list[Organization]:
        """Organizations whose external_id names one of these accounts."""

    def read_started(self) -> int | None:
        """Zendesk's own clock (unix seconds) when the last ``all_organizations`` read began, if known."""

    def changed_organizations(self, start_time: int,
                              progress: Callable[[int], None] | None = None) -> OrganizationExport:
        """Organizations changed at or after ``start_time`` (unix seconds), by the incremental export."""

    def write_tags(self, changes: Sequence[tuple[int, str | None]], progress: Callable[[int], None] | None = None,
                   before_batch: Callable[[], None] | None = None) -> list[WriteResult]:
        """Write values (None clears the field) and return one verdict per change.

        ``before_batch`` runs before each request that writes.
        """


class LeaseCheck(Protocol):
    """A held run lock; ``check()`` raises LockLostError once it is lost (call it before each write)."""

    def check(self) -> None:
        """Raise if the lock is no longer ours."""


class StateStore(Protocol):
    """Where run state lives (worker.io.state: Redis or a file), and the run lock."""

    def load(self) -> RunState:
        """The last saved state (empty when none)."""
        ...

    def save(self, state: RunState) -> None:
        """Replace the saved state."""
        ...

    def lock(self, wait: float = 0.0) -> AbstractContextManager[LeaseCheck]:
        """Hold the run lock for a writing run (waiting up to ``wait`` seconds), or raise LockedError."""
        ...

    def holder(self) -> str | None:
        """Who holds the run lock, or None when it is free."""
        ...

    def check(self) -> str:
        """Verify the store is usable and say what it is (doctor); raises like load and save."""
        ...


class SalesforceChecks(AccountSource, Protocol):
    """What ``doctor`` asks of Salesforce beyond a sync's needs."""

    def field_names(self) -> set[str]:
        """API names of the object's fields, lower-cased."""

    def check_scope(self) -> int:
        """Run the full read's query with LIMIT 1; how many records came back."""

    def daily_usage(self) -> Any:
        """Daily API requests from the limits resource (used, total, fraction), if reported."""


class ZendeskChecks(OrganizationTarget, Protocol):
    """What ``doctor`` asks of Zendesk beyond a sync's needs."""

    def me(self) -> dict[str, Any]:
        """The authenticated user: id, email, role."""


class RoutingTarget(Protocol):
    """What the engine needs from Zendesk for per-tier routing (worker.io.zendesk_routing.RoutingClient).

    Every read returns everything or raises: a failed, truncated or permission-limited read is an
    error, never an empty or partial list, because absence is a reason to create.
    """

    def groups(self) -> dict[str, int]:
        """Every group, name -> id."""

    def definitions(self) -> RoutingDefinitions:
        """The condition and action fields Zendesk offers for triggers, views and SLA policies."""

    def find_category(self, name: str) -> str | None:
        """The id of the trigger category called ``name`` (exact name), if any."""

    def create_category(self, name: str) -> str:
        """Create a trigger category; returns its id."""

    def list_rules(self, kind: Kind) -> list[RuleObject]:
        """Every trigger, view or SLA policy in the account (managed or not), canonical form."""

    def create_rule(self, rule: RuleObject) -> RuleObject:
        """Create ``rule``; returns it with Zendesk's id."""

    def update_rule(self, rule: RuleObject) -> RuleObject:
        """Replace the content of ``rule`` (its ``id`` set); returns it as Zendesk now has it."""

    def delete_rule(self, kind: Kind, rule_id: int) -> None:
        """Delete one object."""
