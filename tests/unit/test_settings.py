"""Environment validation: every bad variable is a ConfigError (exit 2) naming it, before any API call."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from worker.core.errors import ConfigError, ExitCode
from worker.settings import SalesforceAuth, Settings, load_settings

SECRET = "hunter2-canary"


def config_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> ConfigError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings().check()
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.hint
    return caught.value


# --- issue 6: URLs are normalised once, at load -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("https://Acme.Zendesk.com", "https://acme.zendesk.com"),
        ("  HTTPS://ACME.zendesk.com:443/  ", "https://acme.zendesk.com"),
        ("https://acme.zendesk.com/", "https://acme.zendesk.com"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
        ("https://LocalHost:8443/", "https://localhost:8443"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_url_variables_are_normalised(monkeypatch: pytest.MonkeyPatch, raw: str, normalised: str) -> None:
    monkeypatch.setenv("ZENDESK_URL", raw)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", raw)
    settings = load_settings()
    assert settings.zendesk_url == normalised
    assert settings.salesforce_instance_url == normalised


def test_zendesk_netloc_is_lower_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENDESK_URL", "https://Acme.zendesk.com")
    monkeypatch.setenv("ZENDESK_OAUTH_TOKEN", "t")
    assert load_settings().zendesk_netloc() == "acme.zendesk.com"


@pytest.mark.parametrize("url", ["http://acme.zendesk.com", "acme.zendesk.com", "ftp://Acme.zendesk.com"])
def test_non_https_urls_keep_their_message(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    error = config_error(monkeypatch, ZENDESK_URL=url, SALESFORCE_INSTANCE_URL="https://acme.my.salesforce.com",
                         SALESFORCE_ACCESS_TOKEN="t", ZENDESK_OAUTH_TOKEN="t")
    assert "ZENDESK_URL=" in error.message and "is not an https:// URL" in error.message


@pytest.mark.parametrize("url", ["https://acme.zendesk.com:abc", "https://acme.zendesk.com:99999", "https://[::1"])
def test_malformed_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    error = config_error(monkeypatch, ZENDESK_URL=url)
    assert error.message.startswith("ZENDESK_URL: ")


# --- issue 9: no credentials inside URLs --------------------------------------------------------------


@pytest.mark.parametrize("variable", ["ZENDESK_URL", "SALESFORCE_INSTANCE_URL", "SLACK_WEBHOOK_URL"])
@pytest.mark.parametrize("userinfo", [f"bob:{SECRET}@", "bob@", f":{SECRET}@"])
def test_user_info_in_a_url_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                          userinfo: str) -> None:
    error = config_error(monkeypatch, **{variable: f"https://{userinfo}acme.example.com"})
    text = str(error)
    assert text.startswith(f"{variable}: must not contain a user name or password"), text
    assert SECRET not in text and "bob" not in text


def test_zendesk_user_info_hint_names_the_credential_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(monkeypatch, ZENDESK_URL=f"https://bob:{SECRET}@acme.zendesk.com")
    assert "ZENDESK_EMAIL" in str(error) and "ZENDESK_API_TOKEN" in str(error)


def test_redis_url_may_carry_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://:{SECRET}@127.0.0.1:6379/0")
    settings = load_settings()
    assert settings.redis_url is not None and SECRET in settings.redis_url.get_secret_value()


def test_a_redis_password_is_masked_as_written_and_as_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL holds the password percent-encoded; redis-py sends it decoded: both spellings are secrets."""
    from worker.core.redaction import redact

    monkeypatch.setenv("REDIS_URL", "redis://:s3cret%2Fpw%40x@127.0.0.1:6379/0")
    load_settings()
    assert redact("s3cret/pw@x and s3cret%2Fpw%40x") == "**** and ****"


def test_the_zendesk_basic_credential_is_a_secret_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """zenpy sends ``Basic base64(email/token:TOKEN)``; an error body quoting it back must not show it."""
    import base64

    from worker.core.redaction import redact

    monkeypatch.setenv("ZENDESK_EMAIL", "admin@example.com")
    monkeypatch.setenv("ZENDESK_API_TOKEN", SECRET)
    load_settings()
    sent = base64.b64encode(f"admin@example.com/token:{SECRET}".encode()).decode()
    assert redact(f'[["Authorization", "Basic {sent}"]] and bare {sent}') == '[["Authorization", "Basic ****"]] and bare ****'


# --- issue 15c: REDIS_URL is parsed at load -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis//x", "must start with redis://, rediss:// or unix://"),
        ("http://x", "must start with redis://, rediss:// or unix://"),
        (f"redis://:{SECRET}@x:port", "port"),
        (f"redis://:{SECRET}@x:70000", "port"),
        (f"redis://:{SECRET}@x:6379/zero", "database"),
        (f"redis://:{SECRET}@:6379", "no host"),
        ("unix://", "socket path"),
        (f"redis://:{SECRET}@x:6379/0?socket_timeout=soon", "socket_timeout"),
        (f"redis://:{SECRET}@x:6379/0?sockettimeout=5", "option redis does not know: 'sockettimeout'"),
    ],
)
def test_malformed_redis_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch, url: str, problem: str) -> None:
    error = config_error(monkeypatch, REDIS_URL=url)
    assert error.message.startswith("REDIS_URL: "), error.message
    assert problem in error.message
    assert SECRET not in str(error)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", f"rediss://user:{SECRET}@cache.internal:6380",
                                 "unix:///run/redis.sock", "redis://localhost"])
def test_valid_redis_urls_load(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    settings = load_settings()
    assert settings.redis_url is not None and settings.redis_url.get_secret_value() == url


# --- issue 15d: numeric variables are bounded ---------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("TIERSYNC_HTTP_TIMEOUT", "1e10", "at most 600"),
        ("TIERSYNC_HTTP_TIMEOUT", "inf", "at most 600"),
        ("TIERSYNC_HTTP_TIMEOUT", "nan", "at most 600"),
        ("TIERSYNC_HTTP_TIMEOUT", "0", "greater than 0"),
        ("TIERSYNC_HTTP_TIMEOUT", "soon", "at most 600"),
        ("TIERSYNC_MAX_RETRY_WAIT", "1e10", "from 0 to 3600"),
        ("TIERSYNC_MAX_RETRY_WAIT", "-inf", "from 0 to 3600"),
        ("TIERSYNC_JOB_TIMEOUT", "86401", "at most 86400"),
        ("TIERSYNC_JOB_TIMEOUT", "nan", "at most 86400"),
        ("TIERSYNC_MAX_ATTEMPTS", "1e3", "from 1 to 20"),
        ("TIERSYNC_MAX_ATTEMPTS", "0", "from 1 to 20"),
    ],
)
def test_numbers_out_of_range_name_the_variable_and_the_range(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                               value: str, allowed: str) -> None:
    error = config_error(monkeypatch, **{variable: value})
    assert error.message.startswith(f"{variable}={value!r}: "), error.message
    assert allowed in error.message


def test_numbers_at_the_limits_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in (("TIERSYNC_HTTP_TIMEOUT", "600"), ("TIERSYNC_MAX_RETRY_WAIT", "3600"),
                            ("TIERSYNC_JOB_TIMEOUT", "86400"), ("TIERSYNC_MAX_ATTEMPTS", "20")):
        monkeypatch.setenv(variable, value)
    settings = load_settings()
    assert (settings.tiersync_http_timeout, settings.tiersync_max_retry_wait) == (600, 3600)


# --- issue 15b: a .env that is not UTF-8 --------------------------------------------------------------


def test_non_utf8_env_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("ZENDESK_EMAIL=jos\xe9@acme.test\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.exit_code == ExitCode.CONFIG
    assert str(tmp_path / ".env") in caught.value.message and "UTF-8" in caught.value.message
    assert "UTF-8" in caught.value.hint


# --- issue 15e: the JWT key file ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def jwt_settings(key_file: Path) -> Settings:
    return Settings(_env_file=None, salesforce_username="ops@acme.test", salesforce_consumer_key="3MVG-key",
                    salesforce_private_key_file=key_file)


def test_an_rsa_pem_key_selects_jwt(tmp_path: Path, rsa_pem: bytes) -> None:
    (tmp_path / "key.pem").write_bytes(rsa_pem)
    assert jwt_settings(tmp_path / "key.pem").salesforce_auth() is SalesforceAuth.JWT


def _encrypted(rsa_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(rsa_pem, password=None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(b"passphrase"))


def _ec_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _public(rsa_pem: bytes) -> bytes:
    return serialization.load_pem_private_key(rsa_pem, password=None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (lambda pem: b"not a key at all\n", "is not a PEM private key"),
        (lambda pem: b"\xff\xfe\x00binary", "is not a PEM private key"),
        (_public, "is not a PEM private key"),
        (lambda pem: pem.replace(pem[100:140], b"A" * 40), "cannot be read as a private key"),
        (_encrypted, "is encrypted"),
        (lambda pem: _ec_key(), "is not an RSA key"),
    ],
)
def test_a_key_file_that_is_not_an_rsa_pem_private_key_is_a_config_error(tmp_path: Path, rsa_pem: bytes,
                                                                          content, problem: str) -> None:
    key_file = tmp_path / "key.pem"
    data = content(rsa_pem)
    key_file.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        jwt_settings(key_file).salesforce_auth()
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.message.startswith("SALESFORCE_PRIVATE_KEY_FILE: "), caught.value.message
    assert problem in caught.value.message and caught.value.hint
    assert "MII" not in str(caught.value)  # no key material (base64 DER starts with MII)


def test_an_unreadable_key_file_is_a_config_error(tmp_path: Path, rsa_pem: bytes,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(rsa_pem)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError, match=r"^SALESFORCE_PRIVATE_KEY_FILE: cannot read .*Permission denied"):
        jwt_settings(key_file).salesforce_auth()


# --- siblings: the other Salesforce endpoint variables -----------------------------------------------


@pytest.mark.parametrize(
    ("domain", "problem"),
    [
        ("evil.example/x?", "letters, digits"),
        ("https://acme.my.salesforce.com", "letters, digits"),
        ("acme.my.salesforce.com", "without .salesforce.com"),
        (f"bob:{SECRET}@acme.my", "letters, digits"),
    ],
)
def test_salesforce_domain_is_a_host_prefix(monkeypatch: pytest.MonkeyPatch, domain: str, problem: str) -> None:
    """SALESFORCE_DOMAIN is put into https://<domain>.salesforce.com: anything else sends the password elsewhere."""
    error = config_error(monkeypatch, SALESFORCE_DOMAIN=domain)
    assert error.message.startswith("SALESFORCE_DOMAIN: ") and problem in error.message
    assert SECRET not in str(error)


def test_salesforce_domain_is_lower_cased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFORCE_DOMAIN", " Acme.My ")
    assert load_settings().salesforce_domain == "acme.my"


@pytest.mark.parametrize("version", ["v59.0", "59", "latest", "59.0.1"])
def test_salesforce_api_version_is_a_number(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    error = config_error(monkeypatch, SALESFORCE_API_VERSION=version)
    assert error.message.startswith("SALESFORCE_API_VERSION: ") and "such as 59.0" in error.message


def test_default_state_dir_is_one_absolute_place_whatever_the_working_directory(tmp_path, monkeypatch) -> None:
    from worker.settings import Settings

    first = Settings().tiersync_state_dir
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert Settings().tiersync_state_dir == first == tmp_path / "xdg-state" / "tiersync"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Settings().tiersync_state_dir == tmp_path / "home" / ".local" / "state" / "tiersync"


def test_a_ca_bundle_that_is_not_a_file_is_a_config_error(tmp_path, monkeypatch) -> None:
    from worker.core.errors import ConfigError
    from worker.settings import load_settings

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="REQUESTS_CA_BUNDLE") as caught:
        load_settings()
    assert "PEM file" in caught.value.hint


def test_an_unknown_log_level_is_a_config_error(monkeypatch) -> None:
    from worker.core.errors import ConfigError
    from worker.settings import load_settings

    monkeypatch.setenv("TIERSYNC_LOG_LEVEL", "verbose")
    with pytest.raises(ConfigError, match="TIERSYNC_LOG_LEVEL"):
        load_settings()
    monkeypatch.setenv("TIERSYNC_LOG_LEVEL", " debug ")
    assert load_settings().tiersync_log_level == "DEBUG"


@pytest.mark.parametrize("suffix", ["/services/data", "/?x=1", "#top"])
def test_salesforce_instance_url_is_bare(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """Issue 19: simple-salesforce kept only the host of an access-token URL and appended a SOAP path to the rest."""
    error = config_error(monkeypatch, SALESFORCE_INSTANCE_URL="https://acme.my.salesforce.com" + suffix,
                         SALESFORCE_ACCESS_TOKEN="t", ZENDESK_URL="https://acme.zendesk.com", ZENDESK_OAUTH_TOKEN="t")
    assert error.message.startswith("SALESFORCE_INSTANCE_URL=") and "must not have a path, query or fragment" in error.message
    assert error.hint == "use the bare URL, e.g. https://acme.my.salesforce.com"
