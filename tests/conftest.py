"""Shared fixtures: a clean redaction registry and environment for every test."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.core.redaction import clear_secrets

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "tiers.yaml"

_OUR_VARS = (
    "SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_DOMAIN", "SALESFORCE_CONSUMER_KEY", "SALESFORCE_PRIVATE_KEY_FILE",
    "ZENDESK_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN", "ZENDESK_OAUTH_TOKEN", "TIERSYNC_CONFIG",
    "TIERSYNC_STATE_DIR", "REDIS_URL", "SLACK_WEBHOOK_URL", "TIERSYNC_LOG_LEVEL", "ZENPY_FORCE_NETLOC",
    "SALESFORCE_API_VERSION", "TIERSYNC_HTTP_TIMEOUT", "TIERSYNC_MAX_ATTEMPTS", "TIERSYNC_MAX_RETRY_WAIT",
    "TIERSYNC_JOB_TIMEOUT",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _OUR_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env or .tiersync/ from the work tree
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))  # the default state dir, per test
    clear_secrets()
