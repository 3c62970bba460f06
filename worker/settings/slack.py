"""Slack settings: where drift alerts go."""

from __future__ import annotations

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.settings.urls import refuse_user_info


class SlackSettings(BaseSettings):
    """SLACK_WEBHOOK_URL (and, with the alerts, their options)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_webhook_url: SecretStr | None = None
    """An incoming-webhook URL for drift alerts; a secret (the URL is the credential)."""

    @field_validator("slack_webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        refuse_user_info(value.get_secret_value() if value is not None else None)
        return value
