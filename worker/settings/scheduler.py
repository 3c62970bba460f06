"""Scheduler settings: how often Celery beat starts each job (seconds), and the task time limits."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SchedulerSettings(BaseSettings):
    """TIERSYNC_*_INTERVAL and the task limits; as short as a second for tests and demos."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    tiersync_sync_interval: float = Field(default=300.0, ge=1, le=7 * 86400, allow_inf_nan=False)
    """Seconds between scheduled incremental syncs (default 5 minutes)."""
    tiersync_full_sync_interval: float = Field(default=86400.0, ge=1, le=7 * 86400, allow_inf_nan=False)
    """Seconds between scheduled full syncs (default a day)."""
    tiersync_routing_interval: float = Field(default=86400.0, ge=1, le=7 * 86400, allow_inf_nan=False)
    """Seconds between scheduled routing applies (default a day)."""
    tiersync_reconcile_interval: float = Field(default=86400.0, ge=1, le=7 * 86400, allow_inf_nan=False)
    """Seconds between scheduled reconciliations (default a day)."""
    tiersync_reconcile_repair: bool = False
    """Whether scheduled reconciliations also repair the drift they find (``reconcile --fix``); default: report."""
    tiersync_service_report_interval: float = Field(default=7 * 86400.0, ge=1, le=7 * 86400, allow_inf_nan=False)
    """Seconds between scheduled service reports (default a week)."""
    tiersync_service_report_days: int = Field(default=30, ge=1, le=3650)
    """The window of scheduled service reports, in days (default 30)."""
    tiersync_task_time_limit: int = Field(default=900, ge=30, le=6 * 3600)
    """Hard time limit of one task, seconds; the broker's visibility timeout is set well above it."""
