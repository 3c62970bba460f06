"""``reconcile``: a full dry run of the one path, seen as a report; kept, written, and told to Slack.

It reads both sides in full through :func:`worker.engine.run_sync` (the routing too, when the tier file
has any), turns the plan into a :class:`worker.core.report.Report`, compares it with the previous report,
writes the report files, and sends a Slack alert when drift appears (or a recovery message when it
clears). ``--fix`` makes the same run a writing one, with the sync's safety rails and run lock: the plan
that removes the drift is applied, and the report shows what is left. Slack never fails a reconcile.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from worker.core.alerts import AlertState, Decision, decide
from worker.core.config import TierFile
from worker.core.errors import ExitCode, TiersyncError
from worker.core.record import RunRecord
from worker.core.report import Category, Report, build_report, report_summary
from worker.engine import ALL_SECTIONS, SYNC_SECTIONS, Services, SyncRequest, run_sync
from worker.io.reports import ReportStore, write_report_files
from worker.render.report import render_csv, render_json, render_markdown, report_document
from worker.render.report_html import render_html
from worker.render.slack import drift_message, recovery_message

log = logging.getLogger(__name__)
FORMATS = {"json": render_json, "csv": render_csv, "html": render_html, "markdown": render_markdown}
EXTENSIONS = {"json": "json", "csv": "csv", "html": "html", "markdown": "md"}


class Notifier(Protocol):
    """Where alerts go (worker.io.slack.SlackNotifier): ``send`` never raises and says whether it was sent."""

    def send(self, payload: dict[str, Any]) -> Any:
        """Send one message; the result has a boolean ``sent``."""


@dataclass(frozen=True)
class ReconcileRequest:
    """What to reconcile and what to do with the result.

    Attributes:
        fix: apply the plan that removes the drift (with the sync's rails and lock).
        force: with ``fix``, apply even when a safety rail refuses.
        fail_on_drift: exit 10 when drift remains.
        formats: the report files to write into ``output`` (none: only the summary is kept).
        output: the directory for report files.
        keep: how many report files (and summaries) to keep.
        repeat_after: seconds before the same drift is announced again.
        report_url: where people open the reports (a URL or path), named in alerts.
        trigger: who asked (``cli``, ``beat``).

    """

    fix: bool = False
    force: bool = False
    fail_on_drift: bool = False
    formats: tuple[str, ...] = ()
    output: Path | None = None
    keep: int = 30
    repeat_after: float = 86400.0
    report_url: str | None = None
    trigger: str = "cli"
    lock_wait: float = 0.0


@dataclass
class ReconcileResult:
    """What a reconciliation found and did."""

    record: RunRecord
    report: Report | None = None
    document: dict[str, Any] | None = None
    files: list[Path] = field(default_factory=list)
    alert: str = "none"  # none, drift, recovery; with "(not sent: ...)" when Slack failed
    exit_code: int = ExitCode.OK


def _sections(config: TierFile) -> frozenset[Any]:
    routed = any(tier.routing or tier.view or tier.sla for tier in config.tiers)
    return ALL_SECTIONS if routed else SYNC_SECTIONS


def _for_fix(config: TierFile) -> TierFile:
    """A fix restores routing objects a person edited, whatever ``routing.on_drift`` says for apply runs."""
    return config.model_copy(update={"routing": config.routing.model_copy(update={"on_drift": "enforce"})})


def run_reconcile(config: TierFile, services: Services, store: ReportStore, request: ReconcileRequest,
                  notifier: Notifier | None = None) -> ReconcileResult:
    """Reconcile once: read (and with ``fix``, repair), report, keep, write files, alert."""
    failed_before = set(services.state.load().failed_ids)
    sync = SyncRequest(mode="full", dry_run=not request.fix, force=request.force, sections=_sections(config),
                       trigger=request.trigger, lock_wait=request.lock_wait, keep_unchanged=True)
    record = run_sync(_for_fix(config) if request.fix else config, services, sync)
    result = ReconcileResult(record, exit_code=int(record.exit_code))
    if record.plan is None or not record.plan.full or (record.error and not record.writes):
        return result  # nothing trustworthy to report: the run's own error says why
    now = services.now()
    report = build_report(config, record.plan, report_id=_report_id(now),
                          generated_at=now.isoformat(timespec="seconds"),
                          failed_writes={account_id: "" for account_id in failed_before},
                          previous=store.previous(), notes=tuple(record.notes))
    if request.fix:
        report = _after_fix(report, record)
    store.append(report_summary(report))
    result.report, result.document = report, report_document(report)
    if request.output is not None and request.formats:
        result.files = write_reports(result.document, request.output, request.formats, report.report_id, request.keep)
    result.alert = _alert(store, report, result, request, notifier, now)
    if record.exit_code == ExitCode.OK and request.fail_on_drift and report.has_drift:
        result.exit_code = ExitCode.DRIFT
    return result


def _report_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _after_fix(report: Report, record: RunRecord) -> Report:
    """The report after a fix: accounts written are in sync, failed writes are last_write_failed."""
    lines = []
    written = record.writes
    for line in report.accounts:
        result = written.get(line.organization_id or -1)
        if line.category in (Category.DRIFT, Category.LAST_WRITE_FAILED) and result is not None:
            line = replace(line, category=Category.IN_SYNC, actual=line.expected, detail="fixed by this run") \
                if result.ok else replace(line, category=Category.LAST_WRITE_FAILED, detail=result.error)
        lines.append(line)
    routing = report.routing
    routing_written = 0
    if record.routing is not None and record.error is None:  # the apply finished: drifted and missing are restored
        routing = tuple(r for r in routing if r.problem not in ("drift", "missing", "pending"))
        routing_written = len(record.routing.done)
    ok = sum(1 for r in written.values() if r.ok)
    fixed = {"organizations_written": ok, "organizations_failed": len(written) - ok, "routing_written": routing_written,
             "field_written": int(record.field_applied)}
    updated = replace(report, accounts=tuple(lines), routing=routing, fixed=fixed)
    remaining = set(updated.drift_keys)
    resolved = set(updated.resolved_drift) | (set(report.drift_keys) - remaining)
    return replace(updated, resolved_drift=tuple(sorted(resolved)),
                   new_drift=tuple(sorted(set(updated.new_drift) & remaining)))


def write_reports(document: dict[str, Any], directory: Path, formats: Sequence[str], report_id: str,
                  keep: int) -> list[Path]:
    """Write the report in each format as ``reconcile-<id>.<ext>``; keep the newest ``keep`` reports."""
    rendered = {EXTENSIONS[name]: FORMATS[name](document) for name in formats}
    return write_report_files(directory, f"reconcile-{report_id}", rendered, keep, "reconcile")


def _alert(store: ReportStore, report: Report, result: ReconcileResult, request: ReconcileRequest,
           notifier: Notifier | None, now: datetime) -> str:
    if notifier is None or result.document is None:
        return "none"
    state = AlertState.from_json(store.alert_state())
    decision, after = decide(state, has_drift=report.has_drift, fingerprint=report.fingerprint, now=now.timestamp(),
                             repeat_after=request.repeat_after)
    if decision is Decision.NONE:
        return "none"
    location = request.report_url or (str(next((f for f in result.files if f.suffix == ".html"), result.files[0]))
                                      if result.files else "run `tiersync reconcile --output DIR` for the full report")
    payload = (drift_message(result.document, location) if decision is Decision.DRIFT
               else recovery_message(result.document, location))
    sent = notifier.send(payload)
    if not getattr(sent, "sent", False):
        return f"{decision.value} (not sent: {getattr(sent, 'error', None) or 'Slack did not accept it'})"
    try:
        store.save_alert_state(after.to_json())
    except TiersyncError as exc:  # the alert went out; at worst it is repeated next time
        log.warning("reconcile: the alert was sent but its state was not saved (%s)", exc.message)
    return decision.value
