"""Defect 10: remote and configured text is printed literally, never interpreted by the terminal renderer."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Run, World, expected_tags

pytestmark = pytest.mark.integration

EVIL = "Evil [/] [link=https://evil.example]click[/link] \x1b[2J :star: one\ntwo\tMüller 株式会社"
EVIL_SHOWN = "Evil [/] [link=https://evil.example]click[/link] \\x1b[2J :star: one\\ntwo\\tMüller 株式会社"
EVIL_VALUE = "[/]:star:\x1b[2J"  # an unknown tier value; shown through repr() as '[/]:star:\\x1b[2J'


def assert_inert(run: Run) -> None:
    """Nothing in the output was interpreted: no escape byte, no emoji, no OSC-8 hyperlink."""
    output = run.stdout + run.stderr
    assert "\x1b" not in output
    assert "\x1b]8;" not in output
    assert "⭐" not in output
    assert "Traceback" not in output


def _seed(world: World) -> tuple[str, str]:
    """Name one matched account and its organization EVIL; give another account an EVIL tier value."""
    sf, zd = world.sandbox.salesforce, world.sandbox.zendesk
    expected = expected_tags(world)
    by_external = {org["external_id"][:15].lower(): org_id for org_id, org in zd.organizations.items()
                   if org.get("external_id")}
    matched = [a for a in sorted(sf.accounts) if by_external.get(a[:15].lower()) in expected]
    named, rejected = matched[0], matched[1]
    sf.update_account(named, Name=EVIL)
    zd.organizations[by_external[named[:15].lower()]]["name"] = EVIL
    sf.update_account(rejected, Name="Rejected Co", Support_Tier__c=EVIL_VALUE)
    zd.add_field("support_tier", "dropdown", "Support tier",
                 options=[(EVIL, "tier_enterprise"), (EVIL, "legacy[/]:star:")])
    return named, rejected


def test_remote_text_is_printed_literally(world: World) -> None:
    named, rejected = _seed(world)

    dry = world.cli("sync", "--full", "--dry-run", "--limit", "0")
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    assert_inert(dry)
    assert EVIL_SHOWN in dry.stdout  # the changes table
    unwrapped = dry.stdout.replace("\n", "")  # rich wraps the long field line at the console width
    assert f"rename option {EVIL!r} to 'Enterprise'" in unwrapped  # the option label, markup and all
    assert repr(EVIL_VALUE) in dry.stdout  # the rejected table's reason

    as_json = world.cli("sync", "--full", "--dry-run", "--json")
    assert as_json.exit_code == 0 and "\x1b" not in as_json.stdout  # JSON escapes it as \u001b
    document = as_json.json()
    assert document["field"]["foreign_options"] == ["legacy[/]:star:"]
    (reject,) = [r for r in document["rejected"] if r["account_id"] == rejected]
    assert repr(EVIL_VALUE) in reject["detail"]  # the core explains values with repr()

    run = world.cli("sync", "--full", "--limit", "0")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert_inert(run)
    assert EVIL_SHOWN in run.stdout and "Applied:" in run.stdout

    for account_id in (named, rejected):
        explained = world.cli("explain", account_id)
        assert explained.exit_code == 0, explained.stdout + explained.stderr
        assert_inert(explained)
    assert f"{EVIL_SHOWN} ({named})" in world.cli("explain", named).stdout
    assert f"Support_Tier__c = {EVIL_VALUE!r}" in explained.stdout

    doctor = world.cli("doctor")
    assert_inert(doctor)
    assert "legacy[/]:star:" in doctor.stdout


def test_explain_shows_the_organization_name_literally(world: World) -> None:
    named, _ = _seed(world)
    explained = world.cli("explain", named)
    assert explained.exit_code == 0, explained.stdout + explained.stderr
    assert_inert(explained)
    assert repr(EVIL) in explained.stdout  # the organization's name, as repr shows it


@pytest.mark.parametrize("command", [("sync", "--full"), ("explain", "001A000001abcdeAAA")])
def test_service_error_messages_are_printed_literally(world: World, command: tuple[str, ...]) -> None:
    world.sandbox.zendesk.fail_next(1, 422, {"error": "RecordInvalid", "description": EVIL},
                                    path_contains="/organization_fields")
    run = world.cli(*command)
    assert run.exit_code == 7, run.stdout + run.stderr
    assert_inert(run)
    assert EVIL_SHOWN in run.stderr and run.stderr.startswith("error: ")
    assert len(run.stderr.splitlines()) == 2  # error + fix: the newline inside cannot forge a line


def test_log_lines_show_remote_text_literally(world: World) -> None:
    """A retry warning quotes the service's words: no escape byte, and one line per record."""
    world.sandbox.zendesk.fail_next(1, 503, {"error": "Busy", "description": EVIL},
                                    path_contains="/organization_fields")
    run = world.cli("sync", "--full", "--dry-run")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert_inert(run)
    (warning,) = [line for line in run.stderr.splitlines() if "retrying" in line]
    assert EVIL_SHOWN in warning


def test_doctor_prints_service_errors_literally(world: World) -> None:
    world.sandbox.zendesk.fail_next(1, 422, {"error": "RecordInvalid", "description": EVIL},
                                    path_contains="/organization_fields")
    run = world.cli("doctor")
    assert run.exit_code == 7, run.stdout + run.stderr
    assert_inert(run)
    unwrapped = run.stdout.replace("\n", "")  # rich wraps lines at the console width
    assert "✗ Zendesk organization field: zendesk rejected the request" in unwrapped
    assert EVIL_SHOWN in unwrapped
