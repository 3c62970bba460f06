"""``report service``: read a window of tickets, their SLA events and ratings; compute the per-tier report.

Read-only: no Zendesk write. Reads, all paged and within the limits (worker.io.zendesk_tickets):
the cursor-based incremental ticket export with the ``metric_sets`` sideload, the incremental ticket
metric events, and the satisfaction ratings of the window. The incremental exports share Zendesk's
10 requests a minute; the reader paces itself under it. Organizations' tier values are read only for
tickets without a tier tag (``show_many?ids=``, 100 a call). The arithmetic is worker.core.service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from worker.core.alerts import AlertState, Decision, decide
from worker.core.config import TierFile
from worker.core.ports import ProgressSink, no_progress
from worker.core.service import below_minimum, in_window, service_document, ticket_tier
from worker.io.reports import ReportStore, write_report_files
from worker.render.service_html import render_service_html
from worker.render.service_report import render_service_csv, render_service_json, render_service_markdown
from worker.render.slack import service_message

log = logging.getLogger(__name__)
FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "json": render_service_json, "csv": render_service_csv, "html": render_service_html,
    "markdown": render_service_markdown}
EXTENSIONS = {"json": "json", "csv": "csv", "html": "html", "markdown": "md"}


class TicketSource(Protocol):
    """What the report reads (worker.io.zendesk_tickets.TicketReader)."""

    def tickets_since(self, start_time: int, progress: Callable[[int], None] | None = None) -> Any:
        """Tickets changed at or after ``start_time``, with their metric sets."""

    def metric_events_since(self, start_time: int, progress: Callable[[int], None] | None = None) -> Any:
        """Ticket metric events at or after ``start_time``."""

    def satisfaction_ratings(self, start_time: int, end_time: int,
                             progress: Callable[[int], None] | None = None) -> Any:
        """Satisfaction ratings created in the window."""


class OrganizationValues(Protocol):
    """The managed field's value of organizations by id (worker.io.zendesk.ZendeskClient)."""

    def tier_values(self, organization_ids: list[int]) -> dict[int, str | None]:
        """Organization id -> the managed field's value now."""


class Notifier(Protocol):
    """Where alerts go; ``send`` never raises and its result has ``sent``."""

    def send(self, payload: dict[str, Any]) -> Any:
        """Send one message."""


@dataclass(frozen=True)
class ServiceRequest:
    """Which window, which files, where alerts point."""

    days: int = 30
    formats: tuple[str, ...] = ()
    output: Path | None = None
    keep: int = 30
    repeat_after: float = 86400.0
    report_url: str | None = None


@dataclass
class ServiceResult:
    """The report's document, the files written, and what was said to Slack."""

    document: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    alert: str = "none"


def run_service_report(config: TierFile, tickets: TicketSource, organizations: OrganizationValues, now: datetime,
                       request: ServiceRequest, *, store: ReportStore | None = None, notifier: Notifier | None = None,
                       progress: ProgressSink = no_progress) -> ServiceResult:
    """Read the window, compute the per-tier figures, write the files, alert when a tier is below its minimum."""
    end = int(now.timestamp()) - 60  # the exports leave out the last minute; so does the window
    start = end - request.days * 86400
    read = list(tickets.tickets_since(start, lambda n: progress("zendesk tickets", n)))
    scoped = [t for t in read if in_window(t, start, end)]
    untagged = sorted({t.organization_id for t in scoped if t.organization_id is not None
                       and ticket_tier(t.tags, None, config) == "untiered"})
    values = organizations.tier_values(untagged) if untagged else {}
    events = list(tickets.metric_events_since(start, lambda n: progress("zendesk SLA events", n)))
    ratings = list(tickets.satisfaction_ratings(start, end, lambda n: progress("zendesk ratings", n)))
    window = (_iso(start), _iso(end))
    document = service_document(config, read, events, ratings, values, days=request.days, start=start, end=end,
                                generated_at=now.isoformat(timespec="seconds"), window=window,
                                notes=_notes(read, scoped))
    result = ServiceResult(document)
    if request.output is not None and request.formats:
        rendered = {EXTENSIONS[name]: FORMATS[name](document) for name in request.formats}
        stem = f"service-{now.strftime('%Y%m%dT%H%M%SZ')}-{request.days}d"
        result.files = write_report_files(request.output, stem, rendered, request.keep, "service")
    if store is not None and notifier is not None:
        result.alert = _alert(document, store, notifier, now, request, result.files)
    return result


def _notes(read: list[Any], scoped: list[Any]) -> list[str]:
    deleted = sum(1 for t in read if t.status == "deleted")
    return [f"{len(read):,} tickets read; {len(scoped):,} created in the window and not deleted are counted"
            + (f"; {deleted:,} deleted ones are not" if deleted else "")]


def _iso(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _alert(document: dict[str, Any], store: ReportStore, notifier: Notifier, now: datetime,
           request: ServiceRequest, files: list[Path]) -> str:
    below = below_minimum(document)
    state = AlertState.from_json(store.alert_state())
    fingerprint = "|".join(below)
    decision, after = decide(state, has_drift=bool(below), fingerprint=fingerprint, now=now.timestamp(),
                             repeat_after=request.repeat_after)
    if decision is not Decision.DRIFT:  # a tier back above its minimum needs no message; the state just follows
        if decision is Decision.RECOVERY:
            store.save_alert_state(after.to_json())
        return "none"
    location = request.report_url or (str(files[0]) if files else "run `tiersync report service --output DIR`")
    sent = notifier.send(service_message(document, location))
    if not getattr(sent, "sent", False):
        return f"below minimum (not sent: {getattr(sent, 'error', None) or 'Slack did not accept it'})"
    store.save_alert_state(after.to_json())
    return "below minimum"
