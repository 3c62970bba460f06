"""The Celery app: ``celery -A worker worker`` and ``celery -A worker beat`` (found as ``worker.celery``).

Broker at REDIS_URL. The settings that make a Redis broker safe for these tasks (Celery docs,
"Using Redis" > Caveats, and the task and worker settings reference):

- ``task_acks_late`` with ``task_reject_on_worker_lost``: a task whose worker dies is delivered
  again instead of being lost; tasks are convergent, so running one twice is harmless, and
  :mod:`worker.tasks` bounds redeliveries so a poison message cannot loop.
- ``worker_prefetch_multiplier=1``: a worker takes one task at a time.
- ``task_time_limit`` (soft limit a bit below), well under the visibility timeout, which is set in
  all three places Celery reads it (broker and result-backend transport options, and
  ``visibility_timeout``); the shortest one wins when apps share a broker (celery#7651).
- no result backend: outcomes go to the log, the run history and the metrics.
- stopping: with ``REMAP_SIGTERM=SIGQUIT`` in the environment (the Docker image sets it; on Heroku,
  ``heroku config:set REMAP_SIGTERM=SIGQUIT``), SIGTERM starts a cold shutdown: a running task gets
  :data:`SOFT_SHUTDOWN_SECONDS` to finish (``worker_soft_shutdown_timeout``), then its message goes back on the
  queue and the worker exits, well inside a platform's grace period (Docker 10 s, Heroku 30 s, Kubernetes 60 s
  here). Without it, SIGTERM to the main process alone (Kubernetes, ``docker stop``) waits for the task, the
  platform's SIGKILL comes first, and the message waits out the visibility timeout (an hour) before it runs again.

The beat schedule comes from Settings (TIERSYNC_SYNC_INTERVAL and friends). Exactly one beat may
run: the deployment files give it its own process type with one replica.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_init

from worker.logsetup import protect_handlers, quiet_client_loggers
from worker.settings import Settings, load_settings

VISIBILITY_MARGIN = 3  # the visibility timeout is this many task time limits (and at least an hour)
SOFT_SHUTDOWN_SECONDS = 5.0  # a stopping worker's running task may finish within this; then it is re-queued


def configure(app: Celery, settings: Settings) -> None:
    """Apply the broker, safety settings and beat schedule from ``settings``."""
    broker = settings.redis_url.get_secret_value() if settings.redis_url else "redis://127.0.0.1:6379/0"
    limit = settings.tiersync_task_time_limit
    visibility = max(3600, VISIBILITY_MARGIN * limit)
    app.conf.update(
        broker_url=broker,
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=limit,
        task_soft_time_limit=max(limit - 30, int(limit * 0.9)),
        broker_transport_options={"visibility_timeout": visibility},
        result_backend_transport_options={"visibility_timeout": visibility},
        visibility_timeout=visibility,
        task_ignore_result=True,
        worker_soft_shutdown_timeout=SOFT_SHUTDOWN_SECONDS,
        result_backend=None,
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(settings),
        beat_schedule_filename=str(settings.tiersync_state_dir / "celerybeat-schedule"),
        timezone="UTC",
    )


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Incremental sync, full sync, routing apply, reconcile and the service report, every configured interval."""
    return {
        "incremental-sync": {"task": "tiersync.sync", "schedule": settings.tiersync_sync_interval,
                             "kwargs": {"mode": "incremental", "trigger": "beat"}},
        "full-sync": {"task": "tiersync.sync", "schedule": settings.tiersync_full_sync_interval,
                      "kwargs": {"mode": "full", "trigger": "beat"}},
        "routing-apply": {"task": "tiersync.routing_apply", "schedule": settings.tiersync_routing_interval,
                          "kwargs": {"trigger": "beat"}},
        "reconcile": {"task": "tiersync.reconcile", "schedule": settings.tiersync_reconcile_interval,
                      "kwargs": {"trigger": "beat"}},
        "service-report": {"task": "tiersync.service_report", "schedule": settings.tiersync_service_report_interval,
                           "kwargs": {"trigger": "beat"}},
    }


def schedule_interval(settings: Settings, task_name: str, kwargs: dict[str, Any]) -> float | None:
    """The interval of the beat entry that sends ``task_name`` with ``kwargs``; None when beat sends no such message."""
    for entry in beat_schedule(settings).values():
        if entry["task"] == task_name and entry["kwargs"] == kwargs:
            return float(entry["schedule"])
    return None


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_celery_logging(logger: logging.Logger, *args: Any, **kwargs: Any) -> None:
    """Celery owns the worker's logging: give its handlers the redaction filter and keep clients quiet."""
    protect_handlers(logger)
    protect_handlers(logging.getLogger())
    quiet_client_loggers()


@worker_init.connect
def _warn_without_remap_sigterm(*args: Any, **kwargs: Any) -> None:
    """Say so at start when SIGTERM would not re-queue a running task (REMAP_SIGTERM is read by Celery at import)."""
    if os.environ.get("REMAP_SIGTERM") != "SIGQUIT":
        logging.getLogger("worker.celery").warning(
            "REMAP_SIGTERM is not SIGQUIT: a SIGTERM to this worker waits for its running task, and a task cut off "
            "by the platform's SIGKILL runs again only after the visibility timeout; set REMAP_SIGTERM=SIGQUIT")


@worker_init.connect
def _serve_metrics(*args: Any, **kwargs: Any) -> None:
    """In the worker's main process, before the pool forks: serve metrics when TIERSYNC_METRICS_PORT is set."""
    port = load_settings().tiersync_metrics_port
    if port:
        from worker.metrics import serve

        serve(port)


app = Celery("tiersync", include=["worker.tasks"])
_settings = load_settings()
configure(app, _settings)
_settings.tiersync_state_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
