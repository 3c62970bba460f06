"""Issue 19, part 4: hostile and careless input, one catalogue through the real CLI on the HTTPS sandbox.

Each refused input ends with its documented exit code, one ``error:`` line naming the input (and a ``fix:``
line), no call to either service where the input is checked before any (so nothing written to Zendesk), and
the state directory exactly as it was. Text that is accepted (names from Salesforce and Zendesk) is never
interpreted by a terminal, whatever the output. tests/integration/test_untrusted_text.py covers markup, ESC [
and newlines in the sync, explain and doctor output; this module adds the other control sequences, very long
and unicode names, and the report files.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.integration.conftest import Run, World, expected_tags
from worker.io.state import FileStateStore, RunState, namespace_for

pytestmark = pytest.mark.integration

STATE = RunState(watermark="2026-01-01T00:00:00.000+0000", config_fingerprint="0123456789abcdef", population=5,
                 failed_ids=("001A00000000001IAA",))


# -- helpers -------------------------------------------------------------------------------------------------

def state_dir(world: World) -> Path:
    return world.config_path.parent / "state"  # TIERSYNC_STATE_DIR of the world fixture


def namespace(world: World) -> str:
    return namespace_for(world.sandbox.zendesk_url.removeprefix("https://"))


def seed_state(world: World) -> FileStateStore:
    """A valid state file, as an earlier run left it."""
    store = FileStateStore(state_dir(world), namespace(world))
    store.save(STATE)
    return store


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every state file under ``directory`` and its bytes, temporary ones included.

    The lock file (taking the lock creates it) and the run history (which lists the failed run) are left out.
    """
    if not directory.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())
            if p.is_file() and p.suffix != ".lock" and not p.name.startswith("history-")}


def service_calls(world: World) -> int:
    return len(world.sandbox.zendesk.requests) + len(world.sandbox.salesforce.requests)


def assert_refused(run: Run, code: int, *named: str, fix: str = "fix: ") -> None:
    """Exit ``code``, an ``error:`` line naming every ``named`` text, then one ``fix:`` line; nothing else."""
    lines = run.stderr.splitlines()
    assert run.exit_code == code, run.stdout + run.stderr
    assert len(lines) == 2, run.stderr
    assert lines[0].startswith("error: ") and all(text in lines[0] for text in named), lines[0]
    assert lines[1].startswith(fix), lines[1]
    assert "Traceback" not in run.stdout + run.stderr


# -- the tier file -------------------------------------------------------------------------------------------

EXAMPLE_MAX = "max_change_fraction: 0.25"
WHERE = "where: \"Type = 'Customer'\""
LAUGHS = "".join(f"\nl{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'lol'}]" for i in range(10))


def edit(old: str, new: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return change


def append(extra: str) -> Callable[[str], str]:
    return lambda text: text + extra


TIER_FILES = {
    "billion_laughs": (append(LAUGHS + "\n"), "anchors and aliases are not allowed", "fix: write each value out"),
    "huge_file": (append("# " + "x" * (1024 * 1024) + "\n"), "is larger than 1 MiB", "fix: point TIERSYNC_CONFIG"),
    "duplicate_key": (append("max_change_fraction: 0.9\n"), "duplicate key 'max_change_fraction' (first at line",
                      "fix: keep one of them"),
    "where_escapes_its_parentheses": (edit(WHERE, "where: \"Type = 'x') OR (Id != null\""),
                                      "salesforce.where: ')' at character 11 closes no '('", "fix: "),
    "where_unclosed_literal": (edit(WHERE, "where: \"Name = 'x OR Id != null\""),
                               "salesforce.where: the string literal opened at character 8 is not closed", "fix: "),
    "tier_name_is_a_number": (edit("name: starter", "name: 3"), "tiers[2].name: must be text, not the number 3",
                              "fix: "),
    "field_key_is_a_number": (edit("organization_field: support_tier", "organization_field: 123"),
                              "zendesk.organization_field: must be text, not the number 123", "fix: "),
    "salesforce_value_is_a_boolean": (edit('salesforce_values: ["Starter", "Tier 3"]', "salesforce_values: [yes]"),
                                      "tiers[2].salesforce_values[0]: must be text, not the boolean true", "fix: "),
    "values_map_key_is_a_number": (append("report: {min_sla_achieved_pct: {1: 90}}\n"),
                                   "report.min_sla_achieved_pct: key 1 is the number 1, not text; quote it",
                                   "fix: "),
    "mapping_key_is_a_boolean": (append("true: 1\n"), "(top level): key True is the boolean true, not text",
                                 "fix: "),
    "max_change_fraction_nan": (edit(EXAMPLE_MAX, "max_change_fraction: .nan"),
                                "max_change_fraction: must be a finite number", "fix: "),
    "max_change_fraction_negative": (edit(EXAMPLE_MAX, "max_change_fraction: -0.1"),
                                     "max_change_fraction: must be greater than 0, not -0.1", "fix: "),
    "max_change_fraction_above_1": (edit(EXAMPLE_MAX, "max_change_fraction: 1.5"),
                                    "max_change_fraction: must be less than or equal to 1, not 1.5", "fix: "),
    "max_api_usage_fraction_inf": (edit("max_api_usage_fraction: 0.8", "max_api_usage_fraction: .inf"),
                                   "salesforce.max_api_usage_fraction: must be a finite number", "fix: "),
    "min_sla_achieved_pct_nan": (append("report: {min_sla_achieved_pct: .nan}\n"),
                                 "report.min_sla_achieved_pct: must be a percentage from 0 to 100", "fix: "),
    "min_sla_achieved_pct_over_100": (append("report: {min_sla_achieved_pct: {enterprise: 100.5}}\n"),
                                      "for 'enterprise', e.g. 95 (not 100.5)", "fix: "),
}


@pytest.mark.parametrize("case", sorted(TIER_FILES))
def test_a_hostile_tier_file_is_refused_before_any_call(world: World, case: str) -> None:
    change, problem, fix = TIER_FILES[case]
    world.config_path.write_text(change(world.config_path.read_text()))
    before = snapshot(seed_state(world).path.parent)
    run = world.cli("sync", "--full")
    assert_refused(run, 2, str(world.config_path), problem, fix=fix)
    assert service_calls(world) == 0 and snapshot(state_dir(world)) == before


def test_a_binary_tier_file_is_refused(world: World) -> None:
    world.config_path.write_bytes(bytes(range(256)) * 64)
    run = world.cli("sync", "--full")
    assert_refused(run, 2, str(world.config_path), "line 2: is not UTF-8 text (byte 0x80)",  # after the 0x0a
                   fix="fix: save the tier file as UTF-8")
    assert service_calls(world) == 0


@pytest.mark.parametrize("command", [("reconcile",), ("report", "service"), ("routing", "apply"), ("plan",),
                                     ("health",), ("explain", "001A000001abcdeAAA")], ids=" ".join)
def test_every_command_reads_the_tier_file_through_the_same_guard(world: World, command: tuple[str, ...]) -> None:
    with world.config_path.open("a") as out:  # /dev/zero-like: only the first MiB and one byte are ever read
        out.write("#" * (2 * 1024 * 1024))
    run = world.cli(*command)
    assert_refused(run, 2, str(world.config_path), "is larger than 1 MiB")
    assert service_calls(world) == 0


# -- endpoints ----------------------------------------------------------------------------------------------

URLS = {
    "zendesk_path": ("ZENDESK_URL", "{zendesk}/api/v2", "must not have a path, query or fragment",
                     "fix: use the bare URL, e.g. https://acme.zendesk.com"),
    "zendesk_query": ("ZENDESK_URL", "{zendesk}?locale=en", "must not have a path, query or fragment", "fix: "),
    "zendesk_fragment": ("ZENDESK_URL", "{zendesk}#x", "must not have a path, query or fragment", "fix: "),
    "zendesk_credentials": ("ZENDESK_URL", "https://admin:hunter2@{zendesk_host}",
                            "ZENDESK_URL: must not contain a user name or password", "fix: set ZENDESK_URL"),
    "zendesk_plain_http": ("ZENDESK_URL", "http://{zendesk_host}", "is not an https:// URL", "fix: "),
    "salesforce_path": ("SALESFORCE_INSTANCE_URL", "{salesforce}/services/data",
                        "must not have a path, query or fragment",
                        "fix: use the bare URL, e.g. https://acme.my.salesforce.com"),
    "salesforce_credentials": ("SALESFORCE_INSTANCE_URL", "https://admin:hunter2@{salesforce_host}",
                               "SALESFORCE_INSTANCE_URL: must not contain a user name or password",
                               "fix: set SALESFORCE_INSTANCE_URL"),
    "salesforce_plain_http": ("SALESFORCE_INSTANCE_URL", "http://{salesforce_host}", "is not an https:// URL",
                              "fix: "),
    "slack_credentials": ("SLACK_WEBHOOK_URL", "https://u:hunter2@hooks.slack.com/services/T/B/x",
                          "SLACK_WEBHOOK_URL", "fix: "),
}


@pytest.mark.parametrize("case", sorted(URLS))
def test_an_endpoint_with_a_path_credentials_or_plain_http_is_refused(world: World, case: str) -> None:
    variable, template, problem, fix = URLS[case]
    zendesk, salesforce = world.sandbox.zendesk_url, os.environ["SALESFORCE_INSTANCE_URL"]
    value = template.format(zendesk=zendesk, zendesk_host=zendesk.removeprefix("https://"), salesforce=salesforce,
                            salesforce_host=salesforce.removeprefix("https://"))
    world.monkeypatch.setenv(variable, value)
    run = world.cli(*(["reconcile"] if variable == "SLACK_WEBHOOK_URL" else ["sync", "--full"]))
    assert_refused(run, 2, problem, fix=fix)
    assert "hunter2" not in run.stdout + run.stderr  # a password in a URL is never echoed
    assert service_calls(world) == 0


class Recorder(ThreadingHTTPServer):
    """A plain-http server on 127.0.0.1 that records every request made to it (the redirect's target)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_any(self) -> None:
                recorder.seen.append((self.command, self.path, self.headers.get("Authorization")))
                self.send_response(200)
                self.end_headers()

            do_GET = do_POST = do_PUT = do_any

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_host_is_never_followed(world: World, elsewhere: Recorder, status: int) -> None:
    """The Zendesk token and the Salesforce session stay with their hosts: exit 4, and the other host hears nothing."""
    world.sandbox.zendesk.fail_next(1, status, {}, headers={"Location": f"{elsewhere.url}/steal?u=a:b"})
    world.sandbox.salesforce.fail_next(1, status, {}, headers={"Location": f"{elsewhere.url}/steal"},
                                       path_contains="/query")
    before = snapshot(seed_state(world).path.parent)
    run = world.cli("sync", "--full")
    assert_refused(run, 4, f"redirect to {elsewhere.url}; tiersync follows no redirects", fix="fix: set ")
    assert "steal" not in run.stderr and "a:b" not in run.stderr
    assert elsewhere.seen == []
    assert world.zendesk_writes() == 0 and snapshot(state_dir(world)) == before


# -- names from Salesforce and Zendesk ----------------------------------------------------------------------

OSC8 = "\x1b]8;;https://evil.example\x1b\\click me\x1b]8;;\x1b\\"
CONTROLS = f"Ctl {OSC8} \x1b[31mred\x1b[0m\rFORGED LINE \u202egnp.exe\u202c \x9b2J \u2028end"
LONG = "Long " + "ab" * 5000  # 10,005 characters
UNICODE = "Ünïcode 🚀👩‍💻 שלום مرحبا e\u0301 株式会社"
RAW_CONTROL = ("\x1b", "\x9b", "\r", "\u202e", "\u202c", "\u2028", "\x07")


def name_matched_accounts(world: World, names: list[str]) -> dict[str, int]:
    """Give accounts whose organization the next full sync writes (and those organizations) these names.

    Returns:
        account id -> organization id, in the order of ``names``.

    """
    sf, zd = world.sandbox.salesforce, world.sandbox.zendesk
    expected = expected_tags(world)
    by_external = {org["external_id"][:15].lower(): org_id for org_id, org in zd.organizations.items()
                   if org.get("external_id")}
    matched = [a for a in sorted(sf.accounts) if by_external.get(a[:15].lower()) in expected]
    for account_id, name in zip(matched, names, strict=False):
        sf.update_account(account_id, Name=name)
        zd.organizations[by_external[account_id[:15].lower()]]["name"] = name
    return {account_id: by_external[account_id[:15].lower()] for account_id in matched[: len(names)]}


def assert_no_raw_control(text: str, where: str) -> None:
    found = [repr(char) for char in RAW_CONTROL if char in text]
    assert not found, f"{where}: {found}"


def test_control_sequences_long_and_unicode_names_through_sync_and_explain(world: World) -> None:
    named = name_matched_accounts(world, [CONTROLS, LONG, UNICODE])
    run = world.cli("sync", "--full", "--limit", "0")
    assert run.exit_code == 0, run.stderr
    assert_no_raw_control(run.stdout + run.stderr, "sync")
    assert "\\x1b]8;;https://evil.example\\x1b\\click me" in run.stdout  # the OSC 8 hyperlink shown, not made
    assert "\\rFORGED LINE" in run.stdout and "\\u202egnp.exe\\u202c \\x9b2J \\u2028end" in run.stdout
    assert not any(line.startswith("FORGED LINE") for line in run.stdout.splitlines())
    assert UNICODE in run.stdout  # letters, emoji, RTL script and combining marks are kept as they are
    assert LONG.removeprefix("Long ") in re.sub(r"[\s│]", "", run.stdout)  # wrapped over lines, but whole
    for account_id in named:
        explained = world.cli("explain", account_id)
        assert explained.exit_code == 0, explained.stderr
        assert_no_raw_control(explained.stdout + explained.stderr, "explain")


def test_hostile_names_in_every_reconcile_report_format(world: World, tmp_path: Path) -> None:
    """JSON and CSV keep the exact text (data); Markdown and HTML show control characters as escapes."""
    named = name_matched_accounts(world, [CONTROLS, LONG, UNICODE])
    assert world.cli("sync", "--full").exit_code == 0
    for org_id in named.values():  # drift, so the Markdown and HTML drift lists name these accounts
        world.sandbox.zendesk.set_org_field(org_id, "support_tier", None)
    world.sandbox.zendesk.reset_requests()
    out = tmp_path / "reports"
    run = world.cli("reconcile", "--output", str(out))
    assert run.exit_code == 0, run.stderr
    assert_no_raw_control(run.stdout + run.stderr, "reconcile summary")
    files = {p.suffix: p.read_bytes().decode("utf-8") for p in out.iterdir()}  # as written: no newline translation
    names = {a["account_id"]: a["account_name"] for a in json.loads(files[".json"])["accounts"]}
    assert [names[a] for a in named] == [CONTROLS, LONG, UNICODE]  # JSON is exact
    rows = {r["account_id"]: r["account_name"] for r in csv.DictReader(io.StringIO(files[".csv"], newline=""))}
    assert [rows[a] for a in named] == [CONTROLS, LONG, UNICODE]  # CSV is exact (no formula start here)
    shown = {".html": r"\x1b]8;;https://evil.example\x1b\click me\x1b]8;;\x1b\ \x1b[31mred\x1b[0m\rFORGED LINE "
                      r"\u202egnp.exe\u202c \x9b2J \u2028end",
             ".md": r"\\x1b\]8;;https://evil\.example\\x1b\\click me\\x1b\]8;;\\x1b\\ \\x1b\[31mred\\x1b\[0m"
                    r"\\rFORGED LINE \\u202egnp\.exe\\u202c \\x9b2J \\u2028end"}  # Markdown escapes its own markup too
    for suffix, escaped in shown.items():
        assert_no_raw_control(files[suffix], suffix)
        assert f"Ctl {escaped}" in files[suffix], suffix
        assert "🚀👩\u200d💻 שלום مرحبا e\u0301 株式会社" in files[suffix], suffix  # kept as they are
        assert "ab" * 5000 in files[suffix], suffix  # the 10k name whole
    assert world.zendesk_writes() == 0


# -- the state directory ------------------------------------------------------------------------------------

def test_a_truncated_state_file_counts_as_none_and_is_replaced(world: World) -> None:
    store = seed_state(world)
    store.path.write_bytes(store.path.read_bytes()[:25])  # cut mid-value, as a crash in a non-atomic copy would
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stderr
    notes = run.json()["notes"]
    assert any("not valid JSON" in note for note in notes), notes
    assert any("reading every account" in note for note in notes), notes
    assert store.load().discarded is None and store.load().watermark is not None  # replaced by a whole state


def test_state_from_another_tier_file_reads_everything(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    world.config_path.write_text(world.config_path.read_text().replace('"Tier 3"]', '"Tier 3", "Basic"]'))
    world.sandbox.salesforce.reset_requests()
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["mode"] == "full"  # asked for incremental; the watermark belongs to another tier file
    assert "no watermark for this tier file yet: reading every account (full run)" in run.json()["notes"]


def test_a_damaged_history_file_never_fails_a_run(world: World) -> None:
    seed_state(world)
    history = state_dir(world) / f"history-{namespace(world)}.jsonl"
    history.write_bytes(b"\xff\xfe garbage\n{\"run_id\": \"old\"}\n")
    run = world.cli("sync", "--full")
    assert run.exit_code == 0, run.stderr
    status = world.cli("status", "--json")
    assert status.exit_code == 0, status.stderr
    assert [r.get("run_id") for r in status.json()["runs"]][1:] == ["old"]  # the new run, then the readable old


def test_a_state_directory_that_is_a_file_is_exit_4_before_any_write(world: World, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # even root cannot create a directory below a file
    world.monkeypatch.setenv("TIERSYNC_STATE_DIR", str(blocker / "state"))
    run = world.cli("sync", "--full")
    assert_refused(run, 4, "state: cannot create the run lock", str(blocker / "state"),
                   fix="fix: make TIERSYNC_STATE_DIR a directory this user can write, or set REDIS_URL")
    assert world.zendesk_writes() == 0


def _fail_with(error: int) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        raise OSError(error, os.strerror(error))
    return fail


@pytest.mark.parametrize(("target", "error", "fix"), [
    ("mkstemp", errno.EROFS, "fix: make TIERSYNC_STATE_DIR a directory this user can write"),  # read-only
    ("mkstemp", errno.EACCES, "fix: make TIERSYNC_STATE_DIR a directory this user can write"),  # chmod, as non-root
    ("fsync", errno.ENOSPC, "fix: free disk space in TIERSYNC_STATE_DIR"),  # full disk
])
def test_an_unwritable_or_full_state_directory_stops_before_any_zendesk_write(
        world: World, target: str, error: int, fix: str) -> None:
    """Root ignores chmod, so read-only and full are simulated where the OS would say so; the lock's probe fails."""
    store = seed_state(world)
    before = snapshot(store.path.parent)
    world.monkeypatch.setattr(tempfile if target == "mkstemp" else os, target, _fail_with(error))
    run = world.cli("sync", "--full")
    assert_refused(run, 4, f"state: cannot write {store.path}: {os.strerror(error)}", fix=fix)
    assert world.zendesk_writes() == 0
    assert snapshot(store.path.parent) == before
    assert world.cli("sync", "--full", "--dry-run").exit_code == 0  # reading needs no write: a dry run still works
