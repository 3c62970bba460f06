"""In-memory adapters for engine tests: Salesforce, Zendesk and the run-state store, no network.

They follow the duck-typed contract :func:`worker.engine.run_sync` uses (the ``AccountSource`` and
``OrganizationTarget`` protocols in worker/engine.py) and the documented behaviour of the real
adapters (worker/io/salesforce.py, worker/io/zendesk.py), and record what was asked of them so
tests can check what a run read and wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.core.actions import Action
from worker.core.errors import LockedError
from worker.core.model import (
    Account,
    AccountChanges,
    ChangedOrganization,
    FieldOption,
    Organization,
    OrganizationExport,
    OrganizationFieldState,
    RemovedAccount,
    WriteResult,
)
from worker.core.plan import FieldPlan
from worker.io.state import RunState

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def format_modstamp(seconds: int) -> str:
    """A SystemModstamp as Salesforce sends it: ``2026-01-01T00:00:05.000+0000``."""
    return (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def parse_modstamp(stamp: str) -> int:
    """Whole seconds since EPOCH of a stamp in the format above (milliseconds ignored)."""
    instant = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int((instant - EPOCH).total_seconds())


class FakeSalesforce:
    """Accounts in scope: id -> (fields, modstamp in whole seconds), with a fake clock.

    ``read(since=...)`` returns accounts with ``modstamp >= since`` (whole seconds), as the real
    SOQL ``SystemModstamp >= since`` does. ``returned`` lists the ids handed out since
    :meth:`begin_run`; the reader keeps no other state between runs, like the real one.
    """

    def __init__(self, tier_field: str = "Support_Tier__c", clock: int = 0) -> None:
        self.tier_field = tier_field
        self.clock = clock
        self.accounts: dict[str, tuple[dict[str, Any], int]] = {}
        self.names: dict[str, str] = {}
        self.org = "00D000000000001"
        self.returned: list[str] = []
        self.removed: dict[str, str] = {}  # account id -> "deleted" | "out_of_scope" (still has rows, not in scope)
        self.queries = 0

    # -- test knobs -------------------------------------------------------------------------
    def add(self, account_id: str, value: Any, name: str = "") -> None:
        """Put an account in scope with the tier field set to ``value``, stamped now."""
        self.accounts[account_id] = ({self.tier_field: value}, self.clock)
        self.names[account_id] = name or f"Account {account_id}"

    def tick(self, seconds: int = 1) -> int:
        """Advance the clock (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.clock += seconds
        return self.clock

    def set_tier(self, account_id: str, value: Any, advance: int = 1) -> None:
        """A user edits the tier field: the value changes and the modstamp becomes now (after ``advance``)."""
        self.tick(advance)
        fields, _ = self.accounts[account_id]
        self.accounts[account_id] = ({**fields, self.tier_field: value}, self.clock)

    def remove(self, account_id: str, reason: str = "deleted", advance: int = 1) -> None:
        """Delete the account, or move it out of scope: its modstamp becomes now."""
        self.tick(advance)
        fields, _ = self.accounts[account_id]
        self.accounts[account_id] = (fields, self.clock)
        self.removed[account_id] = reason

    def restore(self, account_id: str, advance: int = 1) -> None:
        """Undelete the account, or bring it back in scope."""
        self.tick(advance)
        fields, _ = self.accounts[account_id]
        self.accounts[account_id] = (fields, self.clock)
        del self.removed[account_id]

    def value(self, account_id: str) -> Any:
        """The tier field's current value."""
        return self.accounts[account_id][0].get(self.tier_field)

    def begin_run(self) -> None:
        """Start a run: forget the ids returned so far."""
        self.returned = []

    # -- AccountSource ----------------------------------------------------------------------
    def _account(self, account_id: str) -> Account:
        fields, stamp = self.accounts[account_id]
        modstamp = format_modstamp(stamp)
        self.returned.append(account_id)
        return Account(id=account_id, name=self.names[account_id], fields={"Id": account_id, **fields},
                       modstamp=modstamp)

    def read(self, *, since: str | None = None, progress: Callable[[int], None] | None = None,
             total: Callable[[int], None] | None = None) -> Iterator[Account]:
        """Accounts in scope: all of them, or those with ``modstamp >= since``."""
        self.queries += 1
        if total is not None:
            total(len(set(self.accounts) - set(self.removed)))
        floor = parse_modstamp(since) if since is not None else None
        for account_id in sorted(set(self.accounts) - set(self.removed)):
            if floor is None or self.accounts[account_id][1] >= floor:
                if progress:
                    progress(1)
                yield self._account(account_id)

    def read_ids(self, ids: Iterable[str]) -> Iterator[Account]:
        """The accounts in scope among ``ids``."""
        self.queries += 1
        for account_id in sorted(set(ids)):
            if account_id in self.accounts and account_id not in self.removed:
                yield self._account(account_id)

    def read_changes(self, *, since: str, seen: Collection[tuple[str, str]] = frozenset(),
                     progress: Callable[[int], None] | None = None) -> AccountChanges:
        """Rows with ``modstamp >= since`` (whole seconds), removed ones too, minus ``seen``, as queryAll does."""
        self.queries += 1
        floor = parse_modstamp(since)
        accounts, removed = [], []
        for account_id in sorted(self.accounts):
            _, stamp = self.accounts[account_id]
            if stamp < floor or (account_id, format_modstamp(stamp)) in seen:
                continue
            if progress:
                progress(1)
            if account_id in self.removed:
                removed.append(RemovedAccount(account_id, self.names[account_id], self.removed[account_id],
                                              format_modstamp(stamp)))
            else:
                accounts.append(self._account(account_id))
        # Salesforce's clock before the query: the current second has begun, not ended
        return AccountChanges(tuple(accounts), tuple(removed), EPOCH.timestamp() + self.clock)

    def org_identity(self) -> str:
        return self.org

    def usage(self) -> None:
        """No API usage header in a fake."""
        return None


@dataclass
class FakeOrg:
    """A Zendesk organization as the fake stores it."""

    external_id: str | None
    tier_tag: str | None
    name: str = ""


@dataclass(frozen=True)
class WriteLog:
    """One organization update the fake received, and what it did."""

    organization_id: int
    tag: str | None
    ok: bool
    before: str | None
    after: str | None
    options: frozenset[str]  # option values of the managed field when the write arrived


@dataclass
class FakeZendesk:
    """Organizations (id -> FakeOrg) and the managed dropdown field, with failing ids.

    ``write_tags`` rejects (``ok=False``, nothing applied) every organization id in
    ``fail_ids``; ``apply_field`` keeps every existing option, renames per the plan and appends
    the plan's additions, as the real adapter's read-modify-write does.
    """

    field_key: str = "support_tier"
    orgs: dict[int, FakeOrg] = field(default_factory=dict)
    field_state: OrganizationFieldState | None = None
    fail_ids: set[int] = field(default_factory=set)
    writes: list[WriteLog] = field(default_factory=list)
    field_plans: list[FieldPlan] = field(default_factory=list)
    admin_checks: int = 0
    clock: Callable[[], float] = time.time  # unix seconds; updated_at and the export's last minute follow it
    updated: dict[int, int] = field(default_factory=dict)  # organization id -> updated_at (unix seconds)
    export_calls: list[int] = field(default_factory=list)  # start_time of each export request
    export_page: int = 1000
    field_reads: int = 0
    started: int | None = None
    _next_option_id: int = 10_000

    # -- test knobs -------------------------------------------------------------------------
    def option_values(self) -> list[str]:
        """Values (tags) of the managed field's options, in order ([] when there is no field)."""
        return [o.value for o in self.field_state.options] if self.field_state else []

    def snapshot(self) -> dict[int, str | None]:
        """Every organization's current tier value."""
        return {org_id: org.tier_tag for org_id, org in self.orgs.items()}

    def human_set_tier(self, org_id: int, value: str | None) -> None:
        """An agent picks a value in the dropdown (or clears it)."""
        self.orgs[org_id].tier_tag = value
        self.touch(org_id)

    def touch(self, org_id: int) -> None:
        """The organization changed now (its updated_at moves)."""
        self.updated[org_id] = int(self.clock())

    def human_rename_option(self, value: str, name: str) -> None:
        """An admin relabels an option in Admin Center (the tag stays)."""
        assert self.field_state is not None
        options = tuple(FieldOption(o.id, name if o.value == value else o.name, o.value)
                        for o in self.field_state.options)
        self.field_state = _with_options(self.field_state, options)

    def human_delete_option(self, value: str) -> None:
        """An admin deletes an option: Zendesk clears it from every organization that held it."""
        assert self.field_state is not None
        options = tuple(o for o in self.field_state.options if o.value != value)
        self.field_state = _with_options(self.field_state, options)
        for org in self.orgs.values():
            if org.tier_tag == value:
                org.tier_tag = None

    def _new_option_id(self) -> int:
        self._next_option_id += 1
        return self._next_option_id

    def _organization(self, org_id: int) -> Organization:
        org = self.orgs[org_id]
        return Organization(id=org_id, name=org.name or f"Org {org_id}", external_id=org.external_id,
                            tier_tag=org.tier_tag)

    # -- OrganizationTarget -----------------------------------------------------------------
    def require_admin(self) -> None:
        """The fake's credentials are always an admin's."""
        self.admin_checks += 1

    def find_field(self) -> OrganizationFieldState | None:
        """The managed field, or None."""
        self.field_reads += 1
        return self.field_state

    def apply_field(self, plan: FieldPlan) -> OrganizationFieldState | None:
        """Create the dropdown, or rename/add options keeping every existing one."""
        self.field_plans.append(plan)
        if plan.action is Action.CREATE:
            if self.field_state is None:
                options = tuple(FieldOption(self._new_option_id(), name, tag) for name, tag in plan.add)
                self.field_state = OrganizationFieldState(id=77, key=plan.key, type="dropdown", title=plan.title,
                                                          options=options)
            return self.field_state
        if plan.action is not Action.UPDATE:
            return self.field_state
        current = self.field_state
        if current is None:
            raise AssertionError("apply_field(update) on a field that does not exist")
        new_names = {option_id: new for option_id, _, new in plan.rename}
        options = tuple(FieldOption(o.id, new_names.get(o.id or 0, o.name), o.value) for o in current.options)
        options += tuple(FieldOption(self._new_option_id(), name, tag) for name, tag in plan.add)
        self.field_state = _with_options(current, options)
        return self.field_state

    def read_started(self) -> int | None:
        """When the last full read began, on the fake's clock."""
        return self.started

    def all_organizations(self, progress: Callable[[int], None] | None = None) -> Iterator[Organization]:
        """Every organization."""
        self.started = int(self.clock())
        for org_id in sorted(self.orgs):
            if progress:
                progress(1)
            yield self._organization(org_id)

    def organizations_for(self, account_ids: Iterable[str]) -> list[Organization]:
        """Organizations whose external_id equals, ignoring case, an id's 18- or 15-character form."""
        forms = {form.casefold() for account_id in account_ids for form in (account_id, account_id[:15])}
        return [self._organization(org_id) for org_id in sorted(self.orgs)
                if (self.orgs[org_id].external_id or "").casefold() in forms]

    def changed_organizations(self, start_time: int,
                              progress: Callable[[int], None] | None = None) -> OrganizationExport:
        """The export's pages read to the end: updated_at >= start_time, the last minute left out.

        Pages hold ``export_page`` organizations and start at the previous page's end_time
        (inclusive), so more than a page in one second cannot be read past, as in Zendesk.
        """
        cutoff = int(self.clock()) - 60
        if start_time > cutoff:
            return OrganizationExport(too_recent=True)
        found: dict[int, ChangedOrganization] = {}
        start, end = start_time, None
        while True:
            self.export_calls.append(start)
            page = sorted((stamp, org_id) for org_id, stamp in self.updated.items() if start <= stamp <= cutoff)
            page = page[: self.export_page]
            for stamp, org_id in page:
                found[org_id] = ChangedOrganization(self._organization(org_id), stamp)
            end = page[-1][0] if page else start
            if len(page) < self.export_page:
                return OrganizationExport(tuple(found.values()), end)
            if end <= start:
                return OrganizationExport(tuple(found.values()), end, complete=False)
            start = end

    def write_tags(self, changes: Sequence[tuple[int, str | None]], progress: Callable[[int], None] | None = None,
                   before_batch: Callable[[], None] | None = None) -> list[WriteResult]:
        """Apply each ``(org_id, tag)`` unless the id fails; one verdict per change, in order.

        ``before_batch`` runs before every 100 changes, as the real adapter's update_many jobs.
        """
        results = []
        options = frozenset(self.option_values())
        for position, (org_id, tag) in enumerate(changes):
            if before_batch is not None and position % 100 == 0:
                before_batch()
            org = self.orgs.get(org_id)
            before = org.tier_tag if org else None
            if org is None:
                result = WriteResult(org_id, False, "RecordNotFound")
            elif org_id in self.fail_ids:
                result = WriteResult(org_id, False, "RecordInvalid: injected failure")
            else:
                org.tier_tag = tag
                self.touch(org_id)
                result = WriteResult(org_id, True)
            results.append(result)
            self.writes.append(WriteLog(org_id, tag, result.ok, before, org.tier_tag if org else None, options))
            if progress:
                progress(1)
        return results


def _with_options(state: OrganizationFieldState, options: tuple[FieldOption, ...]) -> OrganizationFieldState:
    return OrganizationFieldState(id=state.id, key=state.key, type=state.type, title=state.title, options=options)


class MemoryStateStore:
    """Run state in memory; counts saves."""

    def __init__(self, state: RunState | None = None) -> None:
        self.state = state or RunState()
        self.saves = 0
        self.locked = False
        self.lose_after: int | None = None  # a test's knob: the lease is lost after this many checks

    def load(self) -> RunState:
        """The last saved state."""
        return self.state

    def check(self) -> str:
        return "in memory"

    def save(self, state: RunState) -> None:
        """Replace the state."""
        self.state = state
        self.saves += 1

    @contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[FakeLease]:
        """The run lock; raises LockedError when already held (runs never overlap)."""
        if self.locked:
            raise LockedError("another run holds the in-memory lock")
        self.locked = True
        self.lease = FakeLease(self.lose_after)
        try:
            yield self.lease
        finally:
            self.locked = False

    def holder(self) -> str | None:
        return "in memory" if self.locked else None


class FakeLease:
    """A lease a test can take away: ``lose_after`` checks pass, then every check raises."""

    def __init__(self, lose_after: int | None = None) -> None:
        self.lose_after = lose_after
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.lose_after is not None and self.checks > self.lose_after:
            from worker.core.errors import LockLostError

            raise LockLostError("the run lock was lost mid-run (test)")
