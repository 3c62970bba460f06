"""Celery tasks: thin doors onto the engine's one path.

Arguments are ids and options, never secrets: each task loads Settings and the tier file itself
and builds fresh adapters. A run that finds the lock held is skipped (beat) or retried later
(manual resync); a retryable failure goes back to Celery with the countdown the service asked
for (Retry-After) instead of sleeping in the worker.

Every task runs through :class:`GuardedTask`: a message whose worker process keeps dying is delivered at most
:data:`MAX_DELIVERIES` times, then dead-lettered with one Slack alert (no message loop), and a beat message
runs only if no other message of its schedule entry ran within most of one interval (a second beat process
does not double the jobs). See :mod:`worker.io.taskguard`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from celery import Task

from worker.celery import app, schedule_interval
from worker.core.alerts import Decision, decide, run_failure_fingerprint, run_needs_a_person
from worker.core.config import TierFile, load_tier_file
from worker.core.errors import ExitCode, TiersyncError
from worker.core.record import RunRecord
from worker.core.redaction import redact
from worker.core.routing import routing_due
from worker.engine import ROUTING_SECTIONS, Section, Services, SyncRequest, run_sync
from worker.io.redisclient import redis_client
from worker.io.slack import notifier_from_settings
from worker.io.taskguard import DEAD_LETTER_KEY, WINDOW_SHARE, TaskGuard
from worker.metrics import observe
from worker.reconcile import FORMATS, ReconcileRequest, run_reconcile
from worker.render.slack import dead_letter_message, run_failure_message, run_recovery_message
from worker.service_report import FORMATS as SERVICE_FORMATS
from worker.service_report import ServiceRequest, run_service_report
from worker.services import build_report_store, build_service_readers, build_services
from worker.settings import Settings, load_settings

log = logging.getLogger("worker.tasks")
MAX_RETRIES = 5
MAX_DELIVERIES = 3  # deliveries of one message that may die with their worker; the next one is dead-lettered
DEAD_LETTERED = -1  # the result of a dead-lettered delivery (no run happened)


class GuardedTask(Task):  # type: ignore[misc]  # Celery's Task is untyped
    """A task whose deliveries are counted (poison messages are dead-lettered) and whose beat runs are deduped."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task body once for this delivery, unless the guard says it must not run."""
        task_id = self.request.id
        settings = load_settings()
        if task_id is None or settings.redis_url is None:  # called in-process, not delivered: nothing to guard
            return super().__call__(*args, **kwargs)
        guard = TaskGuard(redis_client(settings.redis_url.get_secret_value()))
        try:
            deliveries = guard.arrive(task_id)
        except Exception as exc:  # noqa: BLE001 - a Redis blip must not drop the message: run it unguarded
            log.warning("%s[%s]: delivery not counted (%s)", self.name, task_id, type(exc).__name__)
            return super().__call__(*args, **kwargs)
        if deliveries > MAX_DELIVERIES:
            _dead_letter(guard, settings, self.name, task_id, kwargs, deliveries - 1)
            return DEAD_LETTERED
        interval = schedule_interval(settings, self.name, kwargs) if kwargs.get("trigger") == "beat" else None
        if interval is not None and not guard.claim_window(self.name, kwargs, task_id, interval):
            guard.settle(task_id)
            log.info("%s %s: skipped, another beat message of this schedule entry ran less than %.0fs ago",
                     self.name, kwargs, interval * WINDOW_SHARE)
            return int(ExitCode.OK)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            guard.settle(task_id)


def _dead_letter(guard: TaskGuard, settings: Settings, task_name: str, task_id: str, kwargs: dict[str, Any],
                 crashed: int) -> None:
    """Take a message that killed its worker ``crashed`` times off the queue; alert once per alert window."""
    entry = guard.dead_letter(task_name, task_id, kwargs, crashed)
    log.error("%s[%s] %s: its worker process died on each of %d deliveries; dead-lettered to %s, not run again",
              task_name, task_id, kwargs, crashed, DEAD_LETTER_KEY)
    notifier = notifier_from_settings(settings)
    if notifier is not None and guard.first_alert(task_name, kwargs, settings.tiersync_alert_repeat_after):
        notifier.send(dead_letter_message(entry, DEAD_LETTER_KEY))


def run_request(request: SyncRequest, trigger: str) -> RunRecord:
    """Walk the one path once for a task; the engine logs the run's JSON line and records its history."""
    settings = load_settings()  # logging is Celery's here (worker.celery adds the redaction filter)
    tier_file = load_tier_file(settings.tiersync_config)
    services = build_services(settings, tier_file)
    record = run_sync(tier_file, services, replace(request, trigger=trigger))
    observe(record, trigger)
    if Section.ORGANIZATIONS in request.sections and record.exit_code == ExitCode.OK:
        _apply_routing_when_the_tier_file_changed(tier_file, services)
    return record


def _apply_routing_when_the_tier_file_changed(tier_file: TierFile, services: Services) -> None:
    """Queue a routing apply when the tier file's routing changed since the last one (besides its interval)."""
    try:
        applied = services.state.load().routing_fingerprint
    except TiersyncError:
        return
    if routing_due(tier_file, applied):
        routing_apply.apply_async(kwargs={"trigger": "tier-file"})


def _settle(task: Task, record: RunRecord, *, retry_when_locked: bool) -> int:
    """Turn a record into the task's result, or a Celery retry when trying again later can help."""
    locked = record.exit_code == ExitCode.LOCKED
    if locked and not retry_when_locked:
        return int(record.exit_code)  # the next beat comes soon; do not queue up behind a running sync
    if record.retryable and task.request.retries < MAX_RETRIES:
        countdown = record.retry_after if record.retry_after is not None else min(300, 15 * 2 ** task.request.retries)
        raise task.retry(countdown=countdown, max_retries=MAX_RETRIES)
    if not locked:
        _alert_on_outcome(task.name, record)
    return int(record.exit_code)


def _alert_on_outcome(task_name: str, record: RunRecord) -> None:
    """One Slack alert when a run stops on something a person must fix, one recovery when a run succeeds again.

    Fault matrix rows 8 (the admin role lost), 11 (a Salesforce quota) and 17 (a refused plan): the run writes
    nothing and says why; this tells a person once (I7: the same failure is not alerted again within
    TIERSYNC_ALERT_REPEAT_AFTER). Alerting never fails the task.
    """
    settings = load_settings()
    notifier = notifier_from_settings(settings)
    if notifier is None or settings.redis_url is None:
        return
    failed = run_needs_a_person(record.exit_code, record.retryable)
    error, hint = redact(record.error or ""), redact(record.hint or "")
    try:
        guard = TaskGuard(redis_client(settings.redis_url.get_secret_value()))
        decision, state = decide(guard.run_alert_state(task_name), has_drift=failed,
                                 fingerprint=run_failure_fingerprint(task_name, record.exit_code, error),
                                 now=time.time(), repeat_after=settings.tiersync_alert_repeat_after)
        if decision is Decision.NONE:
            return
        message = (run_failure_message(task_name, record.exit_code, error, hint) if decision is Decision.DRIFT
                   else run_recovery_message(task_name))
        if notifier.send(message).sent:
            guard.save_run_alert_state(task_name, state)
    except Exception as exc:  # noqa: BLE001 - an alert must never fail the run it reports
        log.warning("%s: run alert not sent (%s)", task_name, type(exc).__name__)


@app.task(name="tiersync.sync", bind=True, acks_late=True, reject_on_worker_lost=True, base=GuardedTask)
def sync(self: Task, mode: str = "incremental", trigger: str = "beat") -> int:
    """A scheduled (or queued) incremental or full sync."""
    if mode not in ("incremental", "full"):
        raise ValueError(f"mode must be incremental or full, not {mode!r}")
    request = SyncRequest(mode="full" if mode == "full" else "incremental")
    return _settle(self, run_request(request, trigger), retry_when_locked=trigger != "beat")


@app.task(name="tiersync.resync", bind=True, acks_late=True, reject_on_worker_lost=True, base=GuardedTask)
def resync(self: Task, account_ids: list[str] | None = None, tier: str | None = None,
           trigger: str = "manual") -> int:
    """A queued resync: the given (canonical) account ids, a tier's accounts, or every account."""
    if account_ids:
        request = SyncRequest(mode="ids", account_ids=tuple(account_ids))
    else:
        request = SyncRequest(mode="full", tier=tier)
    return _settle(self, run_request(request, trigger), retry_when_locked=True)


@app.task(name="tiersync.routing_apply", bind=True, acks_late=True, reject_on_worker_lost=True, base=GuardedTask)
def routing_apply(self: Task, trigger: str = "beat") -> int:
    """Keep the per-tier triggers, views and SLA policies in step with the tier file."""
    return _settle(self, run_request(SyncRequest(mode="full", sections=ROUTING_SECTIONS), trigger),
                   retry_when_locked=trigger != "beat")


@app.task(name="tiersync.reconcile", bind=True, acks_late=True, reject_on_worker_lost=True, base=GuardedTask)
def reconcile(self: Task, trigger: str = "beat") -> int:
    """A scheduled reconciliation: report files, a Slack alert on new drift, a repair if configured.

    The files go to TIERSYNC_REPORT_DIR; TIERSYNC_RECONCILE_REPAIR=true repairs too. Drift is not a failure.
    """
    settings = load_settings()
    tier_file = load_tier_file(settings.tiersync_config)
    request = ReconcileRequest(fix=settings.tiersync_reconcile_repair, formats=tuple(FORMATS),
                               output=settings.tiersync_report_dir or settings.tiersync_state_dir / "reports",
                               keep=settings.tiersync_reports_kept, repeat_after=settings.tiersync_alert_repeat_after,
                               report_url=settings.tiersync_report_url, trigger=trigger)
    result = run_reconcile(tier_file, build_services(settings, tier_file), build_report_store(settings), request,
                           notifier_from_settings(settings))
    observe(result.record, trigger)
    if result.report is not None:
        log.info("reconcile %s: %s; alert %s; files %s", result.report.report_id, result.report.totals,
                 result.alert, ", ".join(str(path) for path in result.files))
    return _settle(self, result.record, retry_when_locked=False)


@app.task(name="tiersync.service_report", bind=True, acks_late=True, reject_on_worker_lost=True, base=GuardedTask)
def service_report(self: Task, trigger: str = "beat") -> int:
    """The scheduled per-tier service report; read-only, it takes no run lock.

    Every format goes to TIERSYNC_REPORT_DIR; a Slack alert when a tier is below its minimum SLA achievement.
    """
    settings = load_settings()
    tier_file = load_tier_file(settings.tiersync_config)
    tickets, organizations, now = build_service_readers(settings, tier_file)
    request = ServiceRequest(days=settings.tiersync_service_report_days, formats=tuple(SERVICE_FORMATS),
                             output=settings.tiersync_report_dir or settings.tiersync_state_dir / "reports",
                             keep=settings.tiersync_reports_kept, repeat_after=settings.tiersync_alert_repeat_after,
                             report_url=settings.tiersync_report_url)
    try:
        result = run_service_report(tier_file, tickets, organizations, now(), request,
                                    store=build_report_store(settings, "service"),
                                    notifier=notifier_from_settings(settings))
    except TiersyncError as error:
        log.warning("service report (%s): %s", trigger, error.message)
        if error.retryable and self.request.retries < MAX_RETRIES:
            raise self.retry(countdown=getattr(error, "retry_after", None) or 60, max_retries=MAX_RETRIES) from None
        return int(error.exit_code)
    log.info("service report (%s): %s; alert %s", trigger, ", ".join(str(p) for p in result.files), result.alert)
    return int(ExitCode.OK)


def enqueue_resync(account_ids: list[str] | None, tier: str | None = None) -> str:
    """Put a resync on the queue; returns the task id.

    Raises:
        TiersyncError: the broker cannot be reached (exit 4).

    """
    from kombu.exceptions import OperationalError

    settings = load_settings()
    broker = settings.redis_url.get_secret_value() if settings.redis_url else app.conf.broker_url
    try:
        with app.connection_for_write(broker) as connection:  # the REDIS_URL of now, not of import time
            result = resync.apply_async(kwargs={"account_ids": account_ids, "tier": tier, "trigger": "manual"},
                                        retry=False,
                                        connection=connection)
        return str(result.id)
    except OperationalError as exc:
        from worker.core.errors import UnreachableError

        raise UnreachableError(f"redis: cannot queue the resync ({type(exc).__name__})",
                               hint="check REDIS_URL and that Redis is running, or run without --enqueue") from None


__all__ = ["GuardedTask", "TiersyncError", "enqueue_resync", "reconcile", "resync", "routing_apply", "service_report",
           "sync"]
