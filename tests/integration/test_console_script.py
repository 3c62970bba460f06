"""The installed `tiersync` entry point as a user runs it: a real process, a bare environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def tiersync(*args: str, cwd: Path, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "ZENDESK_", "TIERSYNC_", "REDIS"))}
    env |= extra or {}
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_demo_runs_with_no_credentials_and_no_redis(tmp_path: Path) -> None:
    result = tiersync("demo", "--accounts", "80", "--json", cwd=tmp_path, extra={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)
    first, second = runs["first_run"], runs["second_run"]
    assert first["writes"]["updated"] == first["outcomes"]["set_tier"] > 0
    assert first["field"]["action"] == "create" and first["field"]["applied"]
    assert second["api_calls"]["zendesk"]["writes"] == 0
    edits = runs["hand_edits"]
    assert [e["action"] for e in edits["manual_edits"]] == ["restore", "restore"]
    assert [(r["reason"], r["action"]) for r in edits["removed"]] == [("deleted", "keep")]
    assert edits["writes"]["updated"] == 2 and edits["exit_code"] == 0
    service = runs["service_report"]
    assert [row["tier"] for row in service["tiers"]] == ["enterprise", "professional", "starter", "untiered"]
    assert sum(row["tickets"] for row in service["tiers"]) > 100 and service["version"] == 1
    routing, again = runs["routing_apply"]["routing"], runs["routing_again"]["routing"]
    assert routing["category"]["action"] == "create" and routing["applied"]["managed_after"] == 9
    assert [c["action"] for c in routing["changes"]] == ["create"] * 9
    assert again["writes"] == 0 and runs["routing_again"]["api_calls"]["zendesk"]["writes"] == 0
    assert not (tmp_path / ".tiersync").exists()  # the demo keeps its state in a temporary directory


def test_run_without_credentials_is_the_demo(tmp_path: Path) -> None:
    result = tiersync("run", cwd=tmp_path, extra={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "running the demo" in result.stdout
    assert "Applied:" in result.stdout and "Second run" in result.stdout


def test_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text("salesforce: {tier_field: X}\ntiers: []\n")
    result = tiersync("sync", cwd=tmp_path, extra={"PYTHONPATH": str(ROOT), "TIERSYNC_CONFIG": "tiers.yaml"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("error: tiers.yaml: tiers: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("accounts", ["-5", "0", "100001"])
def test_demo_refuses_a_nonsense_account_count(tmp_path: Path, accounts: str) -> None:
    result = tiersync("demo", "--accounts", accounts, cwd=tmp_path, extra={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--accounts" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "env", "dotenv", "named"),
    [
        ("doctor", {"ZENDESK_URL": "https://bob:hunter2-canary@acme.zendesk.com"}, None, "ZENDESK_URL"),
        ("sync", {"ZENDESK_URL": "https://bob:hunter2-canary@acme.zendesk.com"}, None, "ZENDESK_URL"),
        ("sync", {"REDIS_URL": "http://:hunter2-canary@cache:6379"}, None, "REDIS_URL"),
        ("sync", {"TIERSYNC_HTTP_TIMEOUT": "inf"}, None, "TIERSYNC_HTTP_TIMEOUT"),
        ("run", {}, "ZENDESK_EMAIL=jos\xe9@acme.test\n".encode("latin-1"), ".env"),
    ],
)
def test_bad_environment_is_exit_2_and_never_shows_a_secret(tmp_path: Path, command: str, env: dict[str, str],
                                                           dotenv: bytes | None, named: str) -> None:
    if dotenv is not None:
        (tmp_path / ".env").write_bytes(dotenv)
    result = tiersync(command, cwd=tmp_path, extra={"PYTHONPATH": str(ROOT)} | env)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert named in output and "fix" in output
    assert "hunter2" not in output and "Traceback" not in output and "internal error" not in output


def test_demo_leaves_the_process_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    import worker.cli.demo as demo_module

    seen = []
    real_run_sync = demo_module.run_sync

    def watching(*args, **kwargs):  # the environment as the runs see it
        seen.append(dict(os.environ))
        return real_run_sync(*args, **kwargs)

    monkeypatch.setattr(demo_module, "run_sync", watching)
    before = dict(os.environ)
    assert demo_module.run_demo(Console(file=io.StringIO()), accounts=20) == 0
    assert seen == [before] * 5  # not edited even while the runs go on
    assert dict(os.environ) == before


def test_run_with_a_misspelled_credential_is_exit_2_not_the_demo(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SALESFORCE_USER=integration@acme.test\nZENDESK_URL=https://acme.zendesk.com\n")
    result = tiersync("run", cwd=tmp_path, extra={"PYTHONPATH": str(ROOT), "ZENDESK_APITOKEN": "tok-canary-1234"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "demo" not in result.stdout
    assert "SALESFORCE_USER (.env) is not a tiersync variable; did you mean SALESFORCE_USERNAME?" in result.stderr
    assert "ZENDESK_APITOKEN (environment) is not a tiersync variable; did you mean ZENDESK_API_TOKEN?" in result.stderr
    assert "tok-canary-1234" not in result.stdout + result.stderr


def test_run_with_incomplete_credentials_is_exit_2_not_the_demo(tmp_path: Path) -> None:
    result = tiersync("run", cwd=tmp_path, extra={"PYTHONPATH": str(ROOT), "ZENDESK_EMAIL": "a@acme.test",
                                                  "TIERSYNC_CONFIG": str(ROOT / "config" / "tiers.yaml")})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "demo" not in result.stdout
    assert "Salesforce credentials are missing or incomplete" in result.stderr


def test_json_mode_reports_configuration_errors_on_stdout_too(tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text("salesforce: {tier_field: X}\ntiers: []\n")
    result = tiersync("sync", "--json", cwd=tmp_path, extra={"PYTHONPATH": str(ROOT), "TIERSYNC_CONFIG": "tiers.yaml"})
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["exit_code"] == 2 and document["error"].startswith("tiers.yaml: tiers: ") and document["hint"]
    assert result.stderr.startswith("error: tiers.yaml: tiers: ")


def test_negative_limit_is_refused(tmp_path: Path) -> None:
    result = tiersync("sync", "--limit", "-1", cwd=tmp_path, extra={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
