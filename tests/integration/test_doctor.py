"""`tiersync doctor` checks what a sync needs beyond credentials: the state store and the query scope."""

from __future__ import annotations

import pytest

from tests.integration.conftest import World

pytestmark = pytest.mark.integration


def test_doctor_checks_the_state_directory(world: World) -> None:
    run = world.cli("doctor")
    assert run.exit_code == 0, run.stdout
    assert "run state: state file" in run.stdout
    blocker = world.config_path.parent / "blocker"
    blocker.write_text("")
    world.monkeypatch.setenv("TIERSYNC_STATE_DIR", str(blocker / "state"))
    bad = world.cli("doctor")
    assert bad.exit_code == 4, bad.stdout
    assert "✗ run state: state: cannot write to" in bad.stdout and "TIERSYNC_STATE_DIR" in bad.stdout
    assert "ready to sync" not in bad.stdout


def test_doctor_says_when_redis_is_down(world: World) -> None:
    world.monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    run = world.cli("doctor")
    assert run.exit_code == 4, run.stdout
    assert "✗ run state: redis: cannot reach the server" in run.stdout
    assert "ready to sync" not in run.stdout


def test_doctor_says_when_the_redis_password_is_wrong(world: World) -> None:
    world.monkeypatch.setenv("REDIS_URL", "redis://tiersync:not-the-password@127.0.0.1:6379/15")
    run = world.cli("doctor")
    assert run.exit_code == 3, run.stdout
    assert "refused REDIS_URL's user name or password" in run.stdout
    assert "not-the-password" not in run.stdout


def test_doctor_with_a_working_redis(world: World) -> None:
    world.monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    run = world.cli("doctor")
    assert run.exit_code == 0, run.stdout
    assert "run state: Redis at 127.0.0.1:6379 db 15" in run.stdout


def test_doctor_runs_the_where_clause(world: World) -> None:
    world.config_path.write_text(world.config_path.read_text().replace(
        "where: \"Type = 'Customer'\"", "where: \"Typo__c = 'Customer'\""))
    run = world.cli("doctor")
    assert run.exit_code == 7, run.stdout
    assert "Salesforce query (fields and salesforce.where)" in run.stdout
    assert "ready to sync" not in run.stdout
    world.config_path.write_text(world.config_path.read_text().replace(
        "where: \"Typo__c = 'Customer'\"", "where: \"Type = 'Nobody'\""))
    empty = world.cli("doctor")
    assert empty.exit_code == 0, empty.stdout
    assert "matches no Account yet" in empty.stdout


def test_doctor_does_not_guess_about_a_field_it_could_not_read(world: World) -> None:
    world.sandbox.zendesk.fail_next(5, 500, {"error": "InternalError"}, path_contains="organization_fields")
    run = world.cli("doctor")
    assert run.exit_code == 4, run.stdout
    assert "✗ Zendesk organization field:" in run.stdout
    assert "does not exist yet" not in run.stdout


def test_doctor_keeps_checking_credentials_after_a_bad_tier_file(world: World) -> None:
    world.config_path.write_text("tiers: []\n")
    run = world.cli("doctor")
    assert run.exit_code == 2, run.stdout
    assert "✗ tier file" in run.stdout and "Salesforce sign-in mode: access_token" in run.stdout
