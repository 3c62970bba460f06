"""The one path: read -> plan -> (apply) -> record. Every entry point calls :func:`run_sync`.

``tiersync sync``, ``resync``, ``demo``, ``routing plan|apply``, ``plan`` and the Celery tasks
differ only in the :class:`SyncRequest` they pass: which sections (the dropdown field, the
organizations, the routing objects), full or incremental read, a list of ids, apply or dry run.
Sections are planned in the order field -> organizations -> routing, every read before any write,
and applied in the same order.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from worker.core.actions import Action
from worker.core.changes import (
    EXPORT_MARGIN_SECONDS,
    READ_MARGIN_SECONDS,
    mark_manual_edits,
    next_written,
    plan_removals,
)
from worker.core.config import TierFile
from worker.core.errors import ExitCode, PlanRefusedError, TiersyncError
from worker.core.fieldplan import plan_field, unread_field, with_holders
from worker.core.plan import Plan, build_plan, check_change_fraction, only_tier
from worker.core.ports import (
    AccountSource,
    LeaseCheck,
    OrganizationTarget,
    ProgressSink,
    RoutingTarget,
    StateStore,
    no_progress,
)
from worker.core.record import RunRecord
from worker.core.routing_plan import RoutingOutcome
from worker.core.runstate import RunState, next_watermark, second_is_over, seen_at_watermark, usable_state
from worker.io.history import RunHistory
from worker.io.http import CallCounter
from worker.reading import Mode, SideRead, read_sides
from worker.render.json import run_entry
from worker.routing_section import PlannedRouting, apply_routing_section, plan_routing_section

log = logging.getLogger(__name__)


class Section(StrEnum):
    """The parts of the plan, in the order they are planned and applied."""

    FIELD = "field"
    ORGANIZATIONS = "organizations"
    ROUTING = "routing"


SYNC_SECTIONS = frozenset({Section.FIELD, Section.ORGANIZATIONS})
ROUTING_SECTIONS = frozenset({Section.FIELD, Section.ROUTING})  # routing conditions test the field
ALL_SECTIONS = frozenset(Section)


@dataclass
class Services:
    """The adapters one run talks through."""

    salesforce: AccountSource
    zendesk: OrganizationTarget
    state: StateStore
    routing: RoutingTarget | None = None
    history: RunHistory | None = None
    counter: CallCounter = field(default_factory=CallCounter)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class SyncRequest:
    """What to sync.

    Attributes:
        mode: ``full`` reads everything; ``incremental`` reads what changed since the watermark
            (plus failed rows); ``ids`` reads only ``account_ids``.
        account_ids: canonical ids for ``ids`` mode.
        dry_run: plan and report, write nothing.
        force: apply even when a safety rail would refuse.
        sections: which parts of the plan to make (and apply): by default the field and the organizations.
        prune_options: on a full read, remove dropdown options no tier uses and no organization holds.
        trigger: who asked (``cli``, ``beat``, ``manual``), for the run history and the log line.
        tier: with a full read, re-check only the accounts this tier concerns (decided as it, or whose
            organization holds its tag); the watermark is left as it is.
        lock_wait: seconds to wait for a run lock another run holds before giving up (exit 9).
        keep_unchanged: on a full read, list every account in the plan (reconcile reports each one); otherwise
            the accounts already at their tier are only counted, and a full run holds only its changes and
            rejections (bench/: the largest structure of a 100,000-account sync).

    """

    mode: Mode
    account_ids: tuple[str, ...] = ()
    dry_run: bool = False
    force: bool = False
    sections: frozenset[Section] = SYNC_SECTIONS
    prune_options: bool = False
    trigger: str = "cli"
    tier: str | None = None
    lock_wait: float = 0.0
    keep_unchanged: bool = False


def _next_state(config: TierFile, request: SyncRequest, state: RunState, read: SideRead | None,
                record: RunRecord, org: str | None, now: datetime) -> RunState:
    routing_objects = record.routing.managed_after if record.routing is not None else state.routing_objects
    routed = config.routing_fingerprint if record.routing is not None else state.routing_fingerprint
    if org is None or read is None:  # no organizations read: only the routing count and digest move
        return replace(state, routing_objects=routing_objects, routing_fingerprint=routed)
    assert record.plan is not None
    failed = {account_id for account_id, _, _ in record.failed_writes()}
    # A full read saw every organization's value as it was: earlier writes need no recognising any more.
    earlier = [w for w in state.written if w[2] >= int(read.started.timestamp())] if read.full else state.written
    written = next_written(earlier, read.review.read_back if read.review else (), record.applied_writes(),
                           int(now.timestamp()))
    pending = tuple(sorted(record.failed_clears()))
    if request.mode == "ids" or request.tier is not None:  # only some ids were re-tried; keep the others' debt
        retried = set(request.account_ids) | {item.account_id for item in record.plan.accounts}
        kept = set(state.failed_ids) - retried
        return replace(state, failed_ids=tuple(sorted(kept | failed)), salesforce_org=org,
                       routing_objects=routing_objects, routing_fingerprint=routed, written=written)
    # Full and incremental runs request every previously failed id (incremental via read_ids), so
    # afterwards the debt is exactly this run's failures: ids that left the scope are dropped.
    same_config = state.config_fingerprint == config.fingerprint
    stamps = read.stamps
    if not read.full:  # an incremental read's accounts are a list; a full read noted its stream as it came
        for account in read.accounts:
            stamps.add(account.id, account.modstamp)
    for removed in read.removed:
        stamps.add(removed.id, removed.modstamp)
    rows = stamps.rows
    previous = state.watermark if same_config and not read.full else None
    watermark = next_watermark([stamps.latest], previous)
    seen = seen_at_watermark(rows, watermark, state.salesforce_seen if watermark == previous else ())
    final = not read.full and second_is_over(watermark, read.salesforce_known_before)
    population = record.plan.population if record.plan.full else state.population
    if read.review is not None:
        mark, at_mark = read.review.mark, read.review.seen
    else:  # a full read saw every organization as it was when the read began, by Zendesk's clock if known
        began = read.zendesk_started
        local = int(read.started.timestamp()) - EXPORT_MARGIN_SECONDS
        mark = began - READ_MARGIN_SECONDS if began is not None else local
        at_mark = ()
    return RunState(watermark, config.fingerprint, population, tuple(sorted(failed)), org, routing_objects, routed,
                    salesforce_seen=seen, salesforce_seen_final=final, zendesk_mark=mark, zendesk_seen=at_mark,
                    written=written, pending_removals=pending)


def _apply(plan: Plan, services: Services, record: RunRecord, progress: ProgressSink, lease: LeaseCheck) -> None:
    zd = services.zendesk
    if plan.field.action is Action.NONE and not plan.writes:
        return
    zd.require_admin()
    lease.check()
    if plan.field.action is not Action.NONE:
        zd.apply_field(plan.field)
        record.field_applied = True
    changes = plan.writes
    progress("zendesk writes", 0, len(changes))
    results = zd.write_tags(changes, lambda n: progress("zendesk writes", n, len(changes)), before_batch=lease.check)
    record.writes = {result.organization_id: result for result in results}


class _Unlocked:
    """A dry run holds no lock, and writes nothing to lose it for."""

    def check(self) -> None:
        """Never raises."""


_UNLOCKED = _Unlocked()


def _plan_and_apply(config: TierFile, services: Services, request: SyncRequest, record: RunRecord,
                    progress: ProgressSink, lease: LeaseCheck) -> None:
    state, org = _load_state(services, request, record)
    read: SideRead | None = None
    if Section.ORGANIZATIONS in request.sections:
        with _timed(record, "read"):
            read = read_sides(config, services.salesforce, services.zendesk, request.mode, request.account_ids,
                              state, record, progress, services.now)
        with _timed(record, "plan", cpu=True):
            record.plan = _plan_organizations(config, services, request, state, read)
        if read.stream_cpu_seconds:  # a full read's accounts stream in while planning: count their reading apart
            streamed = round(read.stream_cpu_seconds, 3)
            record.timings["plan_cpu_seconds"] = round(record.timings["plan_cpu_seconds"] - streamed, 3)
            record.timings["salesforce_read_cpu_seconds"] = streamed
        record.mode = "full" if read.full and request.mode != "full" else record.mode
    else:
        field = plan_field(config, services.zendesk.find_field())
        record.plan = build_plan(config, [], [], field, full=False, population=state.population)
    routing = _plan_routing(config, services, request, state)
    if routing is not None:
        record.plan = replace(record.plan, routing=routing.plan)
    _check_rails(config, request, record)
    if request.dry_run:
        return
    with _timed(record, "apply"):
        _apply(record.plan, services, record, progress, lease)
    if routing is not None:
        lease.check()
        _apply_routing(config, services, routing, record, lease)
    lease.check()  # a run that lost the lock does not move the watermark
    services.state.save(_next_state(config, request, state, read, record, org, services.now()))
    if record.failed_writes() or record.failed_clears():
        record.exit_code = ExitCode.PARTIAL


@contextmanager
def _timed(record: RunRecord, stage: str, *, cpu: bool = False) -> Iterator[None]:
    """Record a stage's wall seconds (and, with ``cpu``, this process's CPU seconds) in ``record.timings``."""
    wall, used = time.monotonic(), time.process_time()
    try:
        yield
    finally:
        record.timings[f"{stage}_seconds"] = round(time.monotonic() - wall, 3)
        if cpu:
            record.timings[f"{stage}_cpu_seconds"] = round(time.process_time() - used, 3)


def _plan_organizations(config: TierFile, services: Services, request: SyncRequest, state: RunState,
                        read: SideRead) -> Plan:
    """The organizations' plan: the field, one outcome per account, and (incremental) hand edits and removals."""
    # An idle incremental run writes nothing, so it does not even read the field.
    field = unread_field(config) if read.nothing_changed else plan_field(config, services.zendesk.find_field())
    if read.full:
        holders = Counter(o.tier_tag for o in read.organizations if o.tier_tag)
        field = with_holders(field, holders, prune=request.prune_options)
    keep = request.keep_unchanged or not read.full or request.tier is not None
    plan = build_plan(config, read.accounts, read.organizations, field, full=read.full,
                      population=state.population, keep_unchanged=keep)
    if read.full:
        plan = replace(plan, holders=tuple(sorted(holders.items())))
    if not read.full:
        plan = mark_manual_edits(plan, read.edited, config.zendesk.on_manual_edit)
        plan = replace(plan, removals=plan_removals(config, read.removed, read.organizations))
    if request.tier is not None:
        plan = only_tier(plan, config.tier(request.tier).tag, request.tier)
    return plan


def _load_state(services: Services, request: SyncRequest, record: RunRecord) -> tuple[RunState, str | None]:
    """The stored state this run may trust. A run without the organizations section needs no Salesforce org."""
    stored = services.state.load()
    if Section.ORGANIZATIONS not in request.sections:
        return stored, None
    org = services.salesforce.org_identity()
    now = services.now()
    state, set_aside = usable_state(stored, org, now)
    if set_aside:
        record.notes.append(set_aside)
    if request.mode == "full" and state.written:
        # A full read sees every organization's value as it is now, so earlier writes need no recognising
        # (see _next_state); forgotten before the read: after a sync that wrote 84,000 organizations they
        # were 11 MiB of a 100,000-account full run's peak (bench/).
        state = replace(state, written=tuple(w for w in state.written if w[2] >= int(now.timestamp())))
    return state, org


def _plan_routing(config: TierFile, services: Services, request: SyncRequest,
                  state: RunState) -> PlannedRouting | None:
    if Section.ROUTING not in request.sections:
        return None
    if services.routing is None:
        raise TiersyncError("this run has no Zendesk routing client")  # a wiring bug, exit 1
    return plan_routing_section(config, services.routing, state, force=request.force)


def _apply_routing(config: TierFile, services: Services, routing: PlannedRouting, record: RunRecord,
                   lease: LeaseCheck) -> None:
    assert services.routing is not None
    if routing.plan.writes or routing.plan.category_action is not Action.NONE:
        services.zendesk.require_admin()
    record.routing = RoutingOutcome(managed_after=routing.managed_before)
    created = record.field_applied and record.plan is not None and record.plan.field.action is Action.CREATE
    apply_routing_section(config, routing, services.routing, record.routing, field_created=created,
                          before_write=lease.check)


def _check_rails(config: TierFile, request: SyncRequest, record: RunRecord) -> None:
    assert record.plan is not None
    try:
        check_change_fraction(record.plan, config.max_change_fraction, force=request.force)
    except PlanRefusedError as refused:
        record.refusal = refused.message
        if not request.dry_run:
            raise


def _record_history(services: Services, request: SyncRequest, record: RunRecord, started_at: str) -> None:
    entry = run_entry(record, request.trigger, uuid.uuid4().hex[:12], started_at)
    record.run_id = entry["run_id"]
    log.info("%s", json.dumps(entry, sort_keys=True))  # one structured line per run
    if services.history is not None:
        services.history.append(entry)


def run_sync(config: TierFile, services: Services, request: SyncRequest,
             progress: ProgressSink = no_progress) -> RunRecord:
    """Walk the one path once and return what was decided and done.

    Errors raised by a service end the run: the record carries the error and its exit code, and
    the state is left as it was so that nothing read in this run is forgotten. Writing runs hold
    the state store's run lock, so two never overlap; dry runs take no lock.
    """
    started = time.monotonic()
    started_at = services.now().isoformat(timespec="milliseconds")
    calls_before = services.counter.snapshot()
    record = RunRecord(mode=request.mode if Section.ORGANIZATIONS in request.sections else "routing",
                       dry_run=request.dry_run)
    try:
        with nullcontext(_UNLOCKED) if request.dry_run else services.state.lock(request.lock_wait) as lease:
            _plan_and_apply(config, services, request, record, progress, lease)
    except TiersyncError as exc:  # reported by the caller (CLI line, task log), not logged twice here
        record.error, record.hint, record.exit_code = exc.message, exc.hint, exc.exit_code
        record.retryable, record.retry_after = exc.retryable, getattr(exc, "retry_after", None)
    finally:
        record.api_calls = services.counter.since(calls_before)
        usage = services.salesforce.usage()
        if usage is not None:
            record.salesforce_usage = (usage.used, usage.total)
        record.duration_seconds = time.monotonic() - started
    _record_history(services, request, record, started_at)
    return record
