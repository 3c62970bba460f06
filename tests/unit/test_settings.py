"""Environment validation: every bad variable is a ConfigError (exit 2) naming it, before any API call."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.core.errors import ConfigError, ExitCode
from worker.settings import load_settings

SECRET = "hunter2-canary"


def config_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> ConfigError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings().check()
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.hint
    return caught.value


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
