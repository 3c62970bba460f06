"""Zendesk settings: the account's URL and an admin's credentials."""

from __future__ import annotations

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.core.errors import ConfigError
from worker.settings.urls import normalise_url, refuse_user_info, require_bare_https


class ZendeskSettings(BaseSettings):
    """ZENDESK_*: the account and an admin's API token or OAuth token."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    zendesk_url: str | None = None
    """The account's URL, e.g. https://acme.zendesk.com; no path."""
    zendesk_email: str | None = None
    """The admin whose API token is ZENDESK_API_TOKEN."""
    zendesk_api_token: SecretStr | None = None
    """An admin's API token (with ZENDESK_EMAIL)."""
    zendesk_oauth_token: SecretStr | None = None
    """Or an admin's OAuth access token."""

    @field_validator("zendesk_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        """No credentials in the URL, and one spelling of it for every later user."""
        refuse_user_info(value, "ZENDESK_EMAIL + ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN")
        return normalise_url(value) if value is not None else None

    def zendesk_netloc(self) -> str:
        """``host[:port]`` of ZENDESK_URL, validated.

        Raises:
            ConfigError: ZENDESK_URL is missing, not https, has a path, query or fragment, or credentials are missing.

        """
        if not self.zendesk_url:
            raise ConfigError("ZENDESK_URL is not set", hint="set it to https://<subdomain>.zendesk.com")
        parts = require_bare_https("ZENDESK_URL", self.zendesk_url, "https://acme.zendesk.com")
        if not self.zendesk_oauth_token and not (self.zendesk_email and self.zendesk_api_token):
            raise ConfigError("Zendesk credentials are missing",
                              hint="set ZENDESK_EMAIL + ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN")
        return str(parts.netloc)
