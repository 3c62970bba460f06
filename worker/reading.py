"""The read step of the one path: what a run reads from both sides, full, incremental or by id.

A full run reads every account in scope and every organization. An incremental run reads the
accounts whose SystemModstamp moved (one ``queryAll`` without ``where``, so deleted and out-of-scope
accounts come too), the organizations Zendesk's incremental export says changed since the last run,
and then only the records those changes concern: the changed organizations' accounts and the changed
accounts' organizations. With nothing changed on either side that is one call to each service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from worker.core.changes import EXPORT_MARGIN_SECONDS, ExportReview, review_export
from worker.core.config import TierFile
from worker.core.errors import RateLimitedError, RemoteStateError
from worker.core.matching import OrganizationIndex
from worker.core.model import Account, Organization, RemovedAccount
from worker.core.ports import AccountSource, OrganizationTarget, ProgressSink
from worker.core.record import RunRecord
from worker.core.runstate import RunState, StampTracker

Mode = Literal["full", "incremental", "ids"]


@dataclass
class SideRead:
    """What one run read, and what the next run needs to know about it.

    Attributes:
        accounts: accounts in scope to plan: a list, or on a full read a stream that is read once, while
            planning (``stamps`` then holds what the run state needs of it).
        organizations: every organization (full) or those the accounts and removals name.
        full: whether this was a full read (orphans, option holders, the change rail's population).
        removed: accounts that left the scope (deleted or no longer matching ``where``) since the last run.
        edited: accounts looked at only because their organization changed in Zendesk (hand-edit candidates).
        review: what the organization export showed (None for a full or id read).
        started: when the read began, by the local clock.
        zendesk_started: when the full organization read began by Zendesk's clock, if it said (the next
            export starts there).
        salesforce_known_before: Salesforce's clock before its incremental query was sent, if known.

    """

    accounts: Iterable[Account]
    organizations: list[Organization]
    full: bool
    started: datetime
    removed: list[RemovedAccount] = field(default_factory=list)
    edited: set[str] = field(default_factory=set)
    review: ExportReview | None = None
    zendesk_started: int | None = None
    salesforce_known_before: float | None = None
    stamps: StampTracker = field(default_factory=StampTracker)
    stream_cpu_seconds: float = 0.0  # CPU spent reading the streamed accounts (inside the plan stage)

    @property
    def nothing_changed(self) -> bool:
        """True when an incremental read found nothing to plan on either side."""
        return not self.full and isinstance(self.accounts, list) and not self.accounts and not self.removed


def read_sides(config: TierFile, salesforce: AccountSource, zendesk: OrganizationTarget, mode: Mode,
               account_ids: tuple[str, ...], state: RunState, record: RunRecord, progress: ProgressSink,
               now: Callable[[], datetime]) -> SideRead:
    """Read what this run plans from; an incremental run without a usable watermark reads everything."""
    started = now()
    if mode == "incremental" and (state.watermark is None or state.config_fingerprint != config.fingerprint):
        record.notes.append("no watermark for this tier file yet: reading every account (full run)")
        mode = "full"
    if mode == "incremental":
        read = _incremental(salesforce, zendesk, state, record, progress, started)
        if read is not None:
            return read
        mode = "full"
    if mode == "full":  # the organizations first: the accounts are then planned as they stream in
        if config.zendesk.full_read == "export":
            read = _full_by_export(zendesk, started, progress)
        else:
            organizations = list(zendesk.all_organizations(lambda n: progress("zendesk organizations", n)))
            read = SideRead([], organizations, True, started, zendesk_started=zendesk.read_started())
        read.accounts = _tracked(salesforce.read(progress=lambda n: progress("salesforce accounts", n),
                                                 total=lambda n: progress("salesforce accounts", 0, n)),
                                 read)
        return read
    accounts = list(salesforce.read_ids(account_ids))
    missing = sorted(set(account_ids) - {a.id for a in accounts})
    if missing:
        record.notes.append(f"not found in Salesforce scope: {', '.join(missing)}")
    return SideRead(accounts, zendesk.organizations_for([a.id for a in accounts]), False, started)


def _tracked(accounts: Iterable[Account], read: SideRead) -> Iterator[Account]:
    """The accounts, unchanged, with their stamps noted on the way (for the next watermark).

    Also adds up the CPU their reading takes: the plan stage consumes the stream, its own CPU is the rest.
    """
    stream = iter(accounts)
    while True:
        started = time.process_time()
        account = next(stream, None)
        read.stream_cpu_seconds += time.process_time() - started
        if account is None:
            return
        read.stamps.add(account.id, account.modstamp)
        yield account


def _full_by_export(zendesk: OrganizationTarget, started: datetime, progress: ProgressSink) -> SideRead:
    """Every organization through the incremental export from the beginning (``zendesk.full_read: export``).

    The export leaves out the last minute: an organization changed in it is read by the next incremental
    run, which starts where this export ended.
    """
    export = zendesk.changed_organizations(0, lambda n: progress("zendesk organizations", n))
    if export.too_recent or not export.complete:
        raise RemoteStateError("zendesk: the organization export could not be read to its end",
                               hint="set zendesk.full_read: list in the tier file, or try again")
    organizations = [item.organization for item in export.organizations]
    review = review_export(export, None, (), {})
    return SideRead([], organizations, True, started, review=review)


def _incremental(salesforce: AccountSource, zendesk: OrganizationTarget, state: RunState, record: RunRecord,
                 progress: ProgressSink, started: datetime) -> SideRead | None:
    """Both sides' changes since the last run; None when the export cannot be read without skipping."""
    seen = frozenset(state.salesforce_seen)
    changes = salesforce.read_changes(since=state.watermark or "", seen=seen if state.salesforce_seen_final else (),
                                      progress=lambda n: progress("salesforce accounts", n))
    accounts = list(changes.accounts)
    removed = [r for r in changes.removed if (r.id, r.modstamp) not in seen]  # re-read at the watermark: handled
    changed_in_salesforce = {a.id for a in accounts if (a.id, a.modstamp) not in seen} | {r.id for r in removed}
    accounts, removed = _retry(salesforce, state, record, accounts, removed)
    changed_in_salesforce |= {a.id for a in accounts[len(changes.accounts):]}  # retried: not hand-edit candidates
    review = _review(zendesk, state, record, progress, started)
    if review is None:
        return None
    claimed = OrganizationIndex.build(review.changed).by_account
    wanted = sorted(set(claimed) - {a.id for a in accounts} - {r.id for r in removed})
    accounts += list(salesforce.read_ids(wanted)) if wanted else []
    # Not changed in Salesforce (changed in Zendesk, or re-read unchanged at the watermark's second): a
    # value that differs from the tier there was edited by hand, unless its organization is new.
    edited = {a.id for a in accounts if a.id not in changed_in_salesforce
              and not (a.id in claimed and all(o.id in review.created for o in claimed[a.id]))}
    ids = sorted({a.id for a in accounts} | {r.id for r in removed})
    organizations = zendesk.organizations_for(ids) if ids else []
    return SideRead(accounts, organizations, False, started, removed, edited, review,
                    salesforce_known_before=changes.known_before)


def _retry(salesforce: AccountSource, state: RunState, record: RunRecord, accounts: list[Account],
           removed: list[RemovedAccount]) -> tuple[list[Account], list[RemovedAccount]]:
    """Add the accounts whose last write failed, and the removals whose clear failed (unless they came back)."""
    read = {a.id for a in accounts} | {r.id for r in removed}
    retry = set(state.failed_ids) - read
    pending = {account_id: reason for account_id, reason in state.pending_removals if account_id not in read}
    if not retry and not pending:
        return accounts, removed
    if retry:
        record.notes.append(f"retrying {len(retry)} account(s) whose last write failed")
    back = list(salesforce.read_ids(retry | set(pending)))
    returned = {a.id for a in back}
    removed += [RemovedAccount(account_id, "", reason) for account_id, reason in sorted(pending.items())
                if account_id not in returned]
    return accounts + back, removed


def _review(zendesk: OrganizationTarget, state: RunState, record: RunRecord, progress: ProgressSink,
            started: datetime) -> ExportReview | None:
    """Read the organizations changed in Zendesk since the mark; None when the read must be a full one."""
    written = {org_id: value for org_id, value, _ in state.written}
    if state.zendesk_mark is None:
        record.notes.append("hand edits in Zendesk are watched from this run on (no export mark was saved yet)")
        return ExportReview((), frozenset(), frozenset(), int(started.timestamp()) - EXPORT_MARGIN_SECONDS, ())
    try:
        export = zendesk.changed_organizations(state.zendesk_mark, lambda n: progress("zendesk changes", n))
    except RateLimitedError as limited:
        wait = f" (Retry-After {limited.retry_after:.0f}s)" if limited.retry_after is not None else ""
        record.notes.append(f"Zendesk's incremental export is rate limited{wait}; hand edits are read by the next "
                            "run (its mark did not move)")
        return ExportReview((), frozenset(), frozenset(), state.zendesk_mark, state.zendesk_seen)
    if export.too_recent:
        record.notes.append("Zendesk refused the export's start time as under a minute old; read next run")
    if not export.complete:
        record.notes.append("more organizations changed in one second than an export page holds; "
                            "reading every account and organization (full run) so that none is skipped")
        return None
    return review_export(export, state.zendesk_mark, state.zendesk_seen, written)
