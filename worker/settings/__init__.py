"""Endpoints, credentials and knobs from the environment (and an optional ``.env`` file), by concern.

One module per concern (salesforce, zendesk, runtime, slack; scheduler and reports join the same
way); :class:`Settings` composes them, so every variable keeps its name. Secrets are ``SecretStr``
and are registered with :mod:`worker.core.redaction` as soon as they load. :meth:`Settings.check`
turns a missing or contradictory setting into a ConfigError naming the variables to set, before
any API call.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from worker.core.errors import ConfigError
from worker.core.redaction import basic_credential, register_secret
from worker.envnames import UnknownVariable, unknown_variables
from worker.settings.runtime import RuntimeSettings, default_state_dir, register_redis_password
from worker.settings.salesforce import SalesforceAuth, SalesforceSettings
from worker.settings.scheduler import SchedulerSettings
from worker.settings.slack import SlackSettings
from worker.settings.urls import normalise_url, redis_url_problem
from worker.settings.zendesk import ZendeskSettings

__all__ = ["SalesforceAuth", "Settings", "default_state_dir", "load_settings", "misspelled_variables",
           "normalise_url", "redis_url_problem", "variable_sources"]


class Settings(SalesforceSettings, ZendeskSettings, SlackSettings, SchedulerSettings, RuntimeSettings):
    """Every environment variable tiersync reads (documented in README.md), grouped by concern."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    def model_post_init(self, _context: object) -> None:
        """Register every secret value for redaction."""
        for secret in (self.salesforce_access_token, self.salesforce_password, self.salesforce_security_token,
                       self.zendesk_api_token, self.zendesk_oauth_token, self.slack_webhook_url):
            if secret is not None:
                register_secret(secret.get_secret_value())
        if self.zendesk_email and self.zendesk_api_token is not None:  # what zenpy sends: Basic b64(email/token:TOKEN)
            register_secret(basic_credential(f"{self.zendesk_email}/token", self.zendesk_api_token.get_secret_value()))
        if self.redis_url is not None:
            register_redis_password(self.redis_url.get_secret_value())

    @property
    def has_credentials(self) -> bool:
        """True when any Salesforce or Zendesk endpoint is configured."""
        return bool(self.salesforce_instance_url or self.salesforce_username or self.zendesk_url)

    def check(self) -> None:
        """Validate every service setting at once (raises the first ConfigError)."""
        self.salesforce_auth()
        self.zendesk_netloc()


_ALLOWED = {
    "tiersync_http_timeout": "a number of seconds greater than 0 and at most 600",
    "tiersync_max_attempts": "a whole number from 1 to 20",
    "tiersync_max_retry_wait": "a number of seconds from 0 to 3600",
    "tiersync_job_timeout": "a number of seconds greater than 0 and at most 86400",
    "tiersync_max_jobs_in_flight": "a whole number from 1 to 30",
    "tiersync_lock_wait": "a number of seconds from 0 to 3600",
    "tiersync_metrics_port": "a port number from 1 to 65535",
    "tiersync_sync_interval": "a number of seconds from 1 to 604800",
    "tiersync_full_sync_interval": "a number of seconds from 1 to 604800",
    "tiersync_routing_interval": "a number of seconds from 1 to 604800",
    "tiersync_task_time_limit": "a whole number of seconds from 30 to 21600",
    "tiersync_reconcile_interval": "a number of seconds from 1 to 604800",
    "tiersync_reconcile_repair": "true or false",
    "tiersync_service_report_interval": "a number of seconds from 1 to 604800",
    "tiersync_service_report_days": "a whole number of days from 1 to 3650",
    "tiersync_alert_repeat_after": "a number of seconds from 0 to 2592000",
    "tiersync_reports_kept": "a whole number from 1 to 1000",
}

_FIX = {
    "zendesk_url": "set ZENDESK_URL to the bare account URL, e.g. https://acme.zendesk.com",
    "salesforce_instance_url": "set SALESFORCE_INSTANCE_URL to the org's URL, e.g. https://acme.my.salesforce.com",
    "slack_webhook_url": "set SLACK_WEBHOOK_URL to the webhook URL Slack gave you",
    "salesforce_domain": "set SALESFORCE_DOMAIN to login, test or your My Domain prefix, or unset it",
    "salesforce_api_version": "set SALESFORCE_API_VERSION to e.g. 59.0, or unset it for the default",
    "redis_url": "use redis://:password@host:port/db (rediss:// for TLS), or unix:///path/to/redis.sock",
    "tiersync_log_level": "set TIERSYNC_LOG_LEVEL to DEBUG, INFO, WARNING or ERROR, or unset it",
    "requests_ca_bundle": "point REQUESTS_CA_BUNDLE at a PEM file of CA certificates, or unset it",
}


def load_settings() -> Settings:
    """Read settings from the environment.

    Raises:
        ConfigError: a variable has a value of the wrong type or out of range (e.g. a timeout of ``inf``).

    """
    try:
        return Settings()
    except ValidationError as exc:
        raise _variable_error(dict(exc.errors()[0])) from None
    except UnicodeDecodeError as exc:  # only the .env file is decoded here
        raise ConfigError(f"{_env_file()}: is not UTF-8 text (byte 0x{exc.object[exc.start]:02x})",
                          hint="save the .env file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{_env_file()}: cannot read: {exc.strerror}",
                          hint="make the .env file readable, or remove it and set the variables in the environment",
                          ) from None


def variable_sources() -> dict[str, list[str]]:
    """The names of the variables set in the environment and in the ``.env`` file (values never read)."""
    sources = {"environment": list(os.environ)}
    env_file = _env_file()
    if env_file.is_file():
        from dotenv import dotenv_values  # pydantic-settings reads .env with python-dotenv too

        with suppress(OSError, UnicodeDecodeError):  # load_settings reports an unreadable .env
            sources[".env"] = list(dotenv_values(env_file, encoding="utf-8"))
    return sources


def misspelled_variables() -> list[UnknownVariable]:
    """Variables with tiersync's prefixes (SALESFORCE_, ZENDESK_, TIERSYNC_) that tiersync does not read."""
    return unknown_variables((name.upper() for name in Settings.model_fields), variable_sources())


def _env_file() -> Path:
    return Path.cwd() / str(Settings.model_config.get("env_file") or ".env")


def _variable_error(error: dict[str, Any]) -> ConfigError:
    """A ConfigError naming the variable of a validation error; secret values are never shown."""
    field = str(error["loc"][0]) if error["loc"] else ""
    name = field.upper() or "environment"
    if field in _ALLOWED:
        return ConfigError(f"{name}={error['input']!r}: must be {_ALLOWED[field]}",
                           hint=f"set {name} to a value in that range, or unset it for the default")
    problem = str(error["msg"]).removeprefix("Value error, ")
    return ConfigError(f"{name}: {problem}", hint=_FIX.get(field, "fix the environment variable or .env"))
