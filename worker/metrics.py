"""Prometheus metrics of the worker, served on TIERSYNC_METRICS_PORT (prometheus-client).

Celery's prefork pool runs tasks in child processes, so the metrics use prometheus-client's
multiprocess mode: each process writes its samples to files in one directory
(``PROMETHEUS_MULTIPROC_DIR``), and the worker's main process serves them all. ``serve()`` runs in
the main process before the pool forks (Celery's ``worker_init``); prometheus-client is imported
only after the directory is known, as its multiprocess mode requires.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from worker.core.record import RunRecord

log = logging.getLogger(__name__)
_metrics: dict[str, Any] = {}


def serve(port: int) -> str:
    """Start the HTTP endpoint on ``port`` (all interfaces); returns the multiprocess directory."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="tiersync-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # at start-up, before any fork: children inherit it
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)
    log.info("metrics: serving on :%d (samples in %s)", port, directory)
    return directory


def _instruments() -> dict[str, Any]:
    if not _metrics:
        from prometheus_client import Counter, Histogram

        _metrics.update(
            runs=Counter("tiersync_runs", "Runs by trigger, mode and outcome.", ["trigger", "mode", "outcome"]),
            duration=Histogram("tiersync_run_duration_seconds", "Run duration.", ["mode"],
                               buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)),
            calls=Counter("tiersync_api_calls", "API calls by service.", ["service"]),
            limited=Counter("tiersync_rate_limited", "Answers of 429 (rate limited) by service.", ["service"]),
            written=Counter("tiersync_organizations_written", "Organizations whose tier was written."),
            failed=Counter("tiersync_failed_rows", "Organization writes Zendesk rejected (retried next run)."),
            drift=Counter("tiersync_routing_drift", "Managed routing objects found edited by hand."),
        )
    return _metrics


def observe(record: RunRecord, trigger: str) -> None:
    """Count one finished run. Does nothing unless the worker serves metrics (TIERSYNC_METRICS_PORT)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    metrics = _instruments()
    outcome = "ok" if record.error is None and not record.failed_writes() else f"exit_{int(record.exit_code)}"
    metrics["runs"].labels(trigger, record.mode, outcome).inc()
    metrics["duration"].labels(record.mode).observe(record.duration_seconds)
    for service, counts in record.api_calls.items():
        metrics["calls"].labels(service).inc(counts.get("calls", 0))
        metrics["limited"].labels(service).inc(counts.get("rate_limited", 0))
    metrics["written"].inc(sum(1 for result in record.writes.values() if result.ok))
    metrics["failed"].inc(len(record.failed_writes()))
    if record.plan is not None and record.plan.routing is not None:
        metrics["drift"].inc(len(record.plan.routing.drift))
