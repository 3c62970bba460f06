"""Salesforce settings: where the org is and how tiersync signs in (three modes)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.core.errors import ConfigError
from worker.settings.urls import normalise_url, refuse_user_info, require_bare_https

_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_API_VERSION = re.compile(r"[0-9]{1,3}\.[0-9]")
_INSTANCE_EXAMPLE = "https://acme.my.salesforce.com"


class SalesforceAuth(StrEnum):
    """How tiersync signs in to Salesforce."""

    ACCESS_TOKEN = "access_token"  # noqa: S105 - a mode name, not a secret
    PASSWORD = "password"  # noqa: S105
    JWT = "jwt"


class SalesforceSettings(BaseSettings):
    """SALESFORCE_*: the org and one complete set of sign-in variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    salesforce_instance_url: str | None = None
    """The org's URL (My Domain, or https://127.0.0.1:PORT); with an access token, or where a password sign-in goes."""
    salesforce_access_token: SecretStr | None = None
    """Sign-in mode 1: an access token (session id) for SALESFORCE_INSTANCE_URL."""
    salesforce_username: str | None = None
    """The integration user, for the password (mode 2) and JWT (mode 3) sign-ins."""
    salesforce_password: SecretStr | None = None
    """Mode 2: the user's password."""
    salesforce_security_token: SecretStr | None = None
    """Mode 2: the user's security token."""
    salesforce_domain: str = "login"
    """login, test, or a My Domain prefix such as acme.my: the host a sign-in goes to."""
    salesforce_consumer_key: str | None = None
    """Mode 3: the connected app's consumer key."""
    salesforce_private_key_file: Path | None = None
    """Mode 3: the PEM RSA private key of the connected app's certificate."""
    salesforce_api_version: str = "59.0"
    """REST API version, e.g. 59.0."""

    @field_validator("salesforce_instance_url")
    @classmethod
    def _instance_url(cls, value: str | None) -> str | None:
        """No credentials in the URL, and one spelling of it for every later user."""
        refuse_user_info(value, "SALESFORCE_ACCESS_TOKEN, or SALESFORCE_USERNAME + SALESFORCE_PASSWORD + "
                                "SALESFORCE_SECURITY_TOKEN")
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

    def salesforce_auth(self) -> SalesforceAuth:
        """The Salesforce sign-in mode the set variables select.

        Raises:
            ConfigError: no complete set of Salesforce variables is present.

        """
        if self.salesforce_instance_url and self.salesforce_access_token:
            require_bare_https("SALESFORCE_INSTANCE_URL", self.salesforce_instance_url, _INSTANCE_EXAMPLE)
            return SalesforceAuth.ACCESS_TOKEN
        if self.salesforce_username and self.salesforce_consumer_key and self.salesforce_private_key_file:
            _check_private_key(self.salesforce_private_key_file)
            return SalesforceAuth.JWT
        if self.salesforce_username and self.salesforce_password and self.salesforce_security_token:
            if self.salesforce_instance_url:  # sign in at the org's own URL (My Domain, or a test server)
                require_bare_https("SALESFORCE_INSTANCE_URL", self.salesforce_instance_url, _INSTANCE_EXAMPLE)
            return SalesforceAuth.PASSWORD
        raise ConfigError(
            "Salesforce credentials are missing or incomplete",
            hint="set SALESFORCE_INSTANCE_URL + SALESFORCE_ACCESS_TOKEN; or SALESFORCE_USERNAME + "
                 "SALESFORCE_PASSWORD + SALESFORCE_SECURITY_TOKEN; or SALESFORCE_USERNAME + "
                 "SALESFORCE_CONSUMER_KEY + SALESFORCE_PRIVATE_KEY_FILE (see .env.example)",
        )



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
