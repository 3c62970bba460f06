"""Runtime settings: the tier file, logging, run state, TLS trust and the HTTP knobs."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.core.redaction import register_secret
from worker.settings.urls import redis_url_problem


class RuntimeSettings(BaseSettings):
    """TIERSYNC_*, REDIS_URL and REQUESTS_CA_BUNDLE: how this process runs."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    tiersync_config: Path = Path("config/tiers.yaml")
    """The tier file."""
    tiersync_log_level: str | None = None
    """DEBUG, INFO, WARNING or ERROR; unset: WARNING for commands at a terminal (their output says
    what happened), INFO for long-running processes."""
    tiersync_state_dir: Path = Field(default_factory=lambda: default_state_dir())
    """Where state files live when REDIS_URL is unset."""
    redis_url: SecretStr | None = None
    """Run state and the run lock (and Celery's broker); unset: state files in TIERSYNC_STATE_DIR."""
    requests_ca_bundle: Path | None = None
    """CA bundle for a private CA (the sandbox, a corporate proxy); the standard requests variable."""
    # Every number is finite and bounded: 1e10 or inf would reach socket timeouts and sleeps (README.md lists
    # the ranges; _ALLOWED below words them for error messages).
    tiersync_http_timeout: float = Field(default=30.0, gt=0, le=600, allow_inf_nan=False)
    """Read timeout of every HTTP request, seconds (connect timeout is a third of it)."""
    tiersync_max_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts per request for retryable failures (timeouts, 5xx, 429)."""
    tiersync_max_retry_wait: float = Field(default=60.0, ge=0, le=3600, allow_inf_nan=False)
    """Longest Retry-After honoured in-process; a longer one ends the run as rate limited."""
    tiersync_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Port the worker serves Prometheus metrics on (``/metrics``); unset: no metrics."""
    tiersync_lock_wait: float = Field(default=30.0, ge=0, le=3600, allow_inf_nan=False)
    """How long a command waits for a run lock another run holds before giving up (exit 9), seconds."""
    tiersync_job_timeout: float = Field(default=600.0, gt=0, le=86400, allow_inf_nan=False)
    """Longest wait for one Zendesk update_many job to finish, seconds."""
    tiersync_max_jobs_in_flight: int = Field(default=5, ge=1, le=30)
    """update_many jobs queued or running at once; Zendesk's job limit (30 an account) is shared with other apps."""

    @field_validator("tiersync_log_level")
    @classmethod
    def _log_level(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("requests_ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        """A CA bundle must be a readable file; requests would otherwise fail every request with OSError."""
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Parse REDIS_URL now, as redis-py will, so that a malformed one is exit 2, not a crash later."""
        url = value.get_secret_value().strip() if value is not None else ""
        if not url:
            return None
        register_redis_password(url)  # before any message could quote it
        problem = redis_url_problem(url)
        if problem:
            raise ValueError(problem)  # the message never contains the URL: it may hold a password
        return SecretStr(url)



def register_redis_password(url: str) -> None:
    """Register the password of a Redis URL as a secret: as written (percent-encoded) and as sent (decoded).

    redis-py sends ``unquote(password)``; a password with ``/``, ``@`` or ``%`` is written encoded in the URL,
    so its two spellings differ and each must be masked.
    """
    try:
        password = urlsplit(url).password
    except ValueError:  # a malformed host: redis_url_problem reports it, quoting nothing
        return
    if password:
        register_secret(password)
        register_secret(unquote(password))


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/tiersync``, else ``~/.local/state/tiersync``: one place whatever the working directory.

    A relative default gave each working directory its own state and its own run lock, so two runs
    started from different directories could write to one Zendesk at once.
    """
    base = os.environ.get("XDG_STATE_HOME", "").strip()
    if base and Path(base).is_absolute():
        return Path(base) / "tiersync"
    try:
        return Path.home() / ".local" / "state" / "tiersync"
    except RuntimeError:  # no HOME and no passwd entry (a container with an arbitrary uid)
        return Path(".tiersync")  # last resort; TIERSYNC_STATE_DIR is the real answer there
