"""Endpoints, credentials and knobs from the environment (and an optional ``.env`` file).

Secrets are ``SecretStr`` and are registered with :mod:`worker.core.redaction` as soon as they load.
:meth:`Settings.check` turns a missing or contradictory setting into a ConfigError naming the
variables to set, before any API call.
"""

from __future__ import annotations

import os
import re
from contextlib import suppress
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.core.errors import ConfigError
from worker.core.redaction import register_secret
from worker.envnames import UnknownVariable, unknown_variables


class SalesforceAuth(StrEnum):
    """How tiersync signs in to Salesforce."""

    ACCESS_TOKEN = "access_token"  # noqa: S105 - a mode name, not a secret
    PASSWORD = "password"  # noqa: S105
    JWT = "jwt"


class Settings(BaseSettings):
    """Every environment variable tiersync reads (documented in README.md)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    salesforce_instance_url: str | None = None
    salesforce_access_token: SecretStr | None = None
    salesforce_username: str | None = None
    salesforce_password: SecretStr | None = None
    salesforce_security_token: SecretStr | None = None
    salesforce_domain: str = "login"
    salesforce_consumer_key: str | None = None
    salesforce_private_key_file: Path | None = None
    salesforce_api_version: str = "59.0"

    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_oauth_token: SecretStr | None = None

    tiersync_config: Path = Path("config/tiers.yaml")
    tiersync_log_level: str | None = None
    """DEBUG, INFO, WARNING or ERROR; unset: WARNING for commands at a terminal (their output says
    what happened), INFO for long-running processes."""
    tiersync_state_dir: Path = Field(default_factory=lambda: default_state_dir())
    redis_url: SecretStr | None = None
    requests_ca_bundle: Path | None = None
    """CA bundle for a private CA (the sandbox, a corporate proxy); the standard requests variable."""
    slack_webhook_url: SecretStr | None = None

    # Every number is finite and bounded: 1e10 or inf would reach socket timeouts and sleeps (README.md lists
    # the ranges; _ALLOWED below words them for error messages).
    tiersync_http_timeout: float = Field(default=30.0, gt=0, le=600, allow_inf_nan=False)
    """Read timeout of every HTTP request, seconds (connect timeout is a third of it)."""
    tiersync_max_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts per request for retryable failures (timeouts, 5xx, 429)."""
    tiersync_max_retry_wait: float = Field(default=60.0, ge=0, le=3600, allow_inf_nan=False)
    """Longest Retry-After honoured in-process; a longer one ends the run as rate limited."""
    tiersync_job_timeout: float = Field(default=600.0, gt=0, le=86400, allow_inf_nan=False)
    """Longest wait for one Zendesk update_many job to finish, seconds."""

    @field_validator("zendesk_url", "salesforce_instance_url", "slack_webhook_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | SecretStr | None, info: ValidationInfo) -> str | SecretStr | None:
        """Refuse ``https://user:password@host``: the URL is printed, logged and names state files.

        Any ``@`` is refused, not only one in the host part: none of these URLs has a path that needs one,
        and a password containing ``/`` would otherwise move the rest of it into the path.
        """
        url = value.get_secret_value() if isinstance(value, SecretStr) else value
        if url is not None and "@" in url:
            instead = _CREDENTIAL_VARIABLES.get(str(info.field_name))
            raise ValueError("must not contain a user name or password" +
                             (f"; put credentials in {instead}" if instead else ""))
        return value

    @field_validator("zendesk_url", "salesforce_instance_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        """One spelling of each endpoint for every later user (clients, state namespace, messages).

        Runs after _no_credentials_in_url (validators run in the order they are defined), so user-info is
        refused, never silently dropped.
        """
        return normalise_url(value) if value is not None else None

    @field_validator("salesforce_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        """A host prefix: it becomes ``https://<domain>.salesforce.com``, where the password is sent."""
        domain = value.strip().lower()
        if not _DOMAIN.fullmatch(domain):
            raise ValueError("must be login, test or a My Domain prefix such as acme.my "
                             "(letters, digits, '-' and '.')")
        if domain.endswith(".salesforce.com"):
            raise ValueError("is the prefix only: write it without .salesforce.com (e.g. acme.my)")
        return domain

    @field_validator("salesforce_api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        version = value.strip()
        if not _API_VERSION.fullmatch(version):
            raise ValueError("must be a REST API version such as 59.0 (no leading v)")
        return version

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
        register_secret(urlsplit(url).password)  # before any message could quote it
        problem = redis_url_problem(url)
        if problem:
            raise ValueError(problem)  # the message never contains the URL: it may hold a password
        return SecretStr(url)

    def model_post_init(self, _context: object) -> None:
        """Register every secret value for redaction."""
        for secret in (self.salesforce_access_token, self.salesforce_password, self.salesforce_security_token,
                       self.zendesk_api_token, self.zendesk_oauth_token, self.slack_webhook_url):
            if secret is not None:
                register_secret(secret.get_secret_value())
        if self.redis_url is not None:
            password = urlsplit(self.redis_url.get_secret_value()).password
            register_secret(password)

    @property
    def has_credentials(self) -> bool:
        """True when any Salesforce or Zendesk endpoint is configured."""
        return bool(self.salesforce_instance_url or self.salesforce_username or self.zendesk_url)

    def salesforce_auth(self) -> SalesforceAuth:
        """The Salesforce sign-in mode the set variables select.

        Raises:
            ConfigError: no complete set of Salesforce variables is present.

        """
        if self.salesforce_instance_url and self.salesforce_access_token:
            _require_https("SALESFORCE_INSTANCE_URL", self.salesforce_instance_url)
            return SalesforceAuth.ACCESS_TOKEN
        if self.salesforce_username and self.salesforce_consumer_key and self.salesforce_private_key_file:
            _check_private_key(self.salesforce_private_key_file)
            return SalesforceAuth.JWT
        if self.salesforce_username and self.salesforce_password and self.salesforce_security_token:
            if self.salesforce_instance_url:  # sign in at the org's own URL (My Domain, or a test server)
                _require_https("SALESFORCE_INSTANCE_URL", self.salesforce_instance_url)
            return SalesforceAuth.PASSWORD
        raise ConfigError(
            "Salesforce credentials are missing or incomplete",
            hint="set SALESFORCE_INSTANCE_URL + SALESFORCE_ACCESS_TOKEN; or SALESFORCE_USERNAME + "
                 "SALESFORCE_PASSWORD + SALESFORCE_SECURITY_TOKEN; or SALESFORCE_USERNAME + "
                 "SALESFORCE_CONSUMER_KEY + SALESFORCE_PRIVATE_KEY_FILE (see .env.example)",
        )

    def zendesk_netloc(self) -> str:
        """``host[:port]`` of ZENDESK_URL, validated.

        Raises:
            ConfigError: ZENDESK_URL is missing, not https, has a path, or credentials are missing.

        """
        if not self.zendesk_url:
            raise ConfigError("ZENDESK_URL is not set", hint="set it to https://<subdomain>.zendesk.com")
        parts = _require_https("ZENDESK_URL", self.zendesk_url)
        if parts.path not in ("", "/") or parts.query:
            raise ConfigError(f"ZENDESK_URL={self.zendesk_url!r} must not have a path",
                              hint="use the bare account URL, e.g. https://acme.zendesk.com")
        if not self.zendesk_oauth_token and not (self.zendesk_email and self.zendesk_api_token):
            raise ConfigError("Zendesk credentials are missing",
                              hint="set ZENDESK_EMAIL + ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN")
        return str(parts.netloc)

    def check(self) -> None:
        """Validate every service setting at once (raises the first ConfigError)."""
        self.salesforce_auth()
        self.zendesk_netloc()


_CREDENTIAL_VARIABLES = {
    "zendesk_url": "ZENDESK_EMAIL + ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN",
    "salesforce_instance_url": "SALESFORCE_ACCESS_TOKEN, or SALESFORCE_USERNAME + SALESFORCE_PASSWORD + "
                               "SALESFORCE_SECURITY_TOKEN",
}
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


def normalise_url(url: str) -> str:
    """``url`` without surrounding whitespace, with a lower-case scheme and host, no default port, no trailing ``/``.

    requests lower-cases the host it sends, so ``https://Acme.zendesk.com`` would otherwise not match the URLs
    zenpy builds. Text that is not an absolute URL comes back stripped, for :meth:`Settings.check` to report.

    Raises:
        ValueError: the port is not a number from 0 to 65535, or the host is malformed (``[::1``).

    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URL: check the host and the port (a number from 0 to 65535)") from None
    if not parts.scheme or not parts.hostname:
        return text
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # urlsplit lower-cases both
    netloc = host if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))


_DEFAULT_PORTS = {"https": 443, "http": 80}
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_API_VERSION = re.compile(r"[0-9]{1,3}\.[0-9]")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_REDIS_DB = re.compile(r"/?[0-9]*/?")


def redis_url_problem(url: str) -> str | None:
    """What is wrong with a Redis URL, or None; the answer never quotes the URL (it may hold a password)."""
    if not url.startswith(_REDIS_SCHEMES):
        return "must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "has a port that is not a number from 0 to 65535, or a malformed host"
    if parts.scheme == "unix":
        return None if parts.path else "a unix:// URL needs a socket path, e.g. unix:///run/redis/redis.sock"
    if not parts.hostname:
        return "has no host, e.g. redis://127.0.0.1:6379/0"
    if not _REDIS_DB.fullmatch(parts.path):
        return "has a database that is not a number, e.g. redis://127.0.0.1:6379/0"
    return _redis_options_problem(url)


def _redis_options_problem(url: str) -> str | None:
    """Build (without connecting) the connection open_store's client would make, to check ``?options``."""
    import redis  # only when REDIS_URL is set

    try:
        redis.ConnectionPool.from_url(url).make_connection()
    except ValueError as exc:  # "Invalid value for 'socket_timeout' in connection URL."
        return str(exc)
    except TypeError as exc:  # "... got an unexpected keyword argument 'foo'"
        return f"has an option redis does not know: {str(exc).rsplit(' ', 1)[-1]}"
    return None


_KEY_HINT = ("point SALESFORCE_PRIVATE_KEY_FILE at the unencrypted PEM RSA private key of the connected app's "
             "certificate (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
_PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")


def _check_private_key(path: Path) -> None:
    """Check that ``path`` holds a PEM RSA private key that the JWT bearer flow can sign with (RS256).

    The key is loaded with ``cryptography``, as PyJWT will load it; messages never show the file's content.

    Raises:
        ConfigError: naming SALESFORCE_PRIVATE_KEY_FILE.

    """
    def fail(problem: str) -> ConfigError:
        return ConfigError(f"SALESFORCE_PRIVATE_KEY_FILE: {path} {problem}", hint=_KEY_HINT)

    if not path.is_file():
        raise fail("is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"SALESFORCE_PRIVATE_KEY_FILE: cannot read {path}: {exc.strerror}",
                          hint="make the key file readable by the user tiersync runs as") from None
    if not _PEM_PRIVATE_KEY.search(data):
        raise fail("is not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----' line)")
    # cryptography comes with PyJWT[crypto], which simple-salesforce requires; imported here, in JWT mode only.
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise fail("is encrypted with a passphrase; tiersync needs the key without one") from None
    except (ValueError, UnsupportedAlgorithm):
        raise fail("cannot be read as a private key (damaged or not PEM)") from None
    if not isinstance(key, RSAPrivateKey):
        raise fail("is not an RSA key; Salesforce's JWT bearer flow signs with RS256")


def _require_https(name: str, url: str) -> SplitResult:
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"{name}={url!r} is not an https:// URL",
                          hint="both services are reached over HTTPS; for a private CA set REQUESTS_CA_BUNDLE")
    return parts


_ALLOWED = {
    "tiersync_http_timeout": "a number of seconds greater than 0 and at most 600",
    "tiersync_max_attempts": "a whole number from 1 to 20",
    "tiersync_max_retry_wait": "a number of seconds from 0 to 3600",
    "tiersync_job_timeout": "a number of seconds greater than 0 and at most 86400",
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

