"""Slack settings: where drift alerts go, and how often the same drift is alerted again."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.settings.urls import refuse_user_info

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SlackSettings(BaseSettings):
    """SLACK_WEBHOOK_URL, and the reconciliation reports' and alerts' options."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_webhook_url: SecretStr | None = None
    """An incoming-webhook URL for drift alerts; a secret (the URL is the credential). Unset: no alerts."""
    tiersync_alert_repeat_after: float = Field(default=86400.0, ge=0, le=30 * 86400, allow_inf_nan=False)
    """Seconds before the same drift (same fingerprint) is alerted again; 0: on every reconcile."""
    tiersync_report_dir: Path | None = None
    """Where scheduled reconciliations write their report files; unset: ``reports/`` in TIERSYNC_STATE_DIR."""
    tiersync_reports_kept: int = Field(default=30, ge=1, le=1000)
    """How many reports (summaries in the state store, and report files) are kept."""
    tiersync_report_url: str | None = None
    """Where people open the reports (a shared folder or web server serving TIERSYNC_REPORT_DIR), for alerts."""

    @field_validator("slack_webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        """No user info, and https (plain http only to this machine, e.g. the sandbox's receiver).

        The URL is the credential: over plain http anyone on the way could read it and post to the channel.
        The message never quotes the URL.
        """
        if value is None:
            return None
        url = value.get_secret_value().strip()
        if not url:
            return None
        refuse_user_info(url)
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise ValueError("is not a valid URL") from None
        if not host or not (parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)):
            raise ValueError("must be an https:// URL (Slack's look like https://hooks.slack.com/services/T…/B…/…)")
        return SecretStr(url)
