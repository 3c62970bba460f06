"""SLACK_WEBHOOK_URL is an https URL (plain http only to this machine); the alert window is bounded."""

from __future__ import annotations

import pytest

from worker.core.errors import ConfigError
from worker.core.redaction import redact
from worker.settings import load_settings

TOKEN = "canary0123456789abcdef"


@pytest.mark.parametrize("url", [
    f"https://hooks.slack.com/services/T000/B000/{TOKEN}",
    f"  https://hooks.slack.com/services/T000/B000/{TOKEN}  ",
    f"http://127.0.0.1:8080/services/T000/B000/{TOKEN}",
    f"http://localhost:8080/services/T000/B000/{TOKEN}",
    f"http://[::1]:8080/services/T000/B000/{TOKEN}",
])
def test_accepted_webhook_urls(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    settings = load_settings()
    assert settings.slack_webhook_url is not None
    assert settings.slack_webhook_url.get_secret_value() == url.strip()
    assert TOKEN not in redact(url) and TOKEN not in repr(settings)


@pytest.mark.parametrize("url", [
    f"http://hooks.slack.com/services/T000/B000/{TOKEN}",
    f"hooks.slack.com/services/T000/B000/{TOKEN}",
    f"ftp://hooks.slack.com/services/T000/B000/{TOKEN}",
    f"https:///services/T000/B000/{TOKEN}",
    f"http://10.0.0.1/services/T000/B000/{TOKEN}",
    f"https://[::1/services/T000/B000/{TOKEN}",
])
def test_refused_webhook_urls_are_not_quoted(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    text = str(caught.value)
    assert text.startswith("SLACK_WEBHOOK_URL: ") and TOKEN not in text
    assert "SLACK_WEBHOOK_URL" in caught.value.hint


def test_blank_webhook_url_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "  ")
    assert load_settings().slack_webhook_url is None


def test_alert_repeat_after(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().tiersync_alert_repeat_after == 86400
    monkeypatch.setenv("TIERSYNC_ALERT_REPEAT_AFTER", "0")
    assert load_settings().tiersync_alert_repeat_after == 0
    for bad in ("-1", "inf", "nan", str(31 * 86400), "daily"):
        monkeypatch.setenv("TIERSYNC_ALERT_REPEAT_AFTER", bad)
        with pytest.raises(ConfigError, match=r"^TIERSYNC_ALERT_REPEAT_AFTER"):
            load_settings()


def test_alert_repeat_after_is_a_known_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.settings import misspelled_variables

    monkeypatch.setenv("TIERSYNC_ALERT_REPEAT_AFTER", "60")
    monkeypatch.setenv("TIERSYNC_ALERT_REPEAT_AFTR", "60")
    assert [(v.name, v.suggestion) for v in misspelled_variables()] == \
        [("TIERSYNC_ALERT_REPEAT_AFTR", "TIERSYNC_ALERT_REPEAT_AFTER")]
