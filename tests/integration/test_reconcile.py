"""Issue 16 on the HTTPS sandbox: reconcile's categories, its files, Slack alerts (deduplicated, recovered, failed)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import World, expected_tags
from tests.integration.test_routing_cli import _edit_enterprise_view, person_trigger
from worker.io.slack import SlackNotifier
from worker.sandbox.slack import SlackReceiver

pytestmark = pytest.mark.integration
FIELD = "support_tier"
HOSTILE = "<script>alert(1)</script> <!channel> & =SUM(A1) Co"
VALUES = {"enterprise": "tier_enterprise", "tier 1": "tier_enterprise", "professional": "tier_professional",
          "tier 2": "tier_professional", "starter": "tier_starter", "tier 3": "tier_starter"}
OTHER = {"tier_enterprise": "tier_starter", "tier_professional": "tier_enterprise", "tier_starter": "tier_professional"}


def independent_categories(world: World, failed: set[str]) -> Counter[str]:
    """Each in-scope account's category, from the sandbox's records and the tier file's meaning, not tiersync's."""
    claims: dict[str, list[dict[str, Any]]] = {}
    for org in world.sandbox.zendesk.organizations.values():
        external = (org.get("external_id") or "")
        if external == external.strip() and external:
            claims.setdefault(external[:15].lower(), []).append(org)
    counts: Counter[str] = Counter()
    for account_id, account in world.sandbox.salesforce.accounts.items():
        if account["Type"] != "Customer" or account.get("IsDeleted"):
            continue
        orgs = claims.get(account_id[:15].lower(), [])
        tag = VALUES.get(str(account.get("Support_Tier__c") or "").strip().lower())
        if not orgs:
            counts["no_organization"] += 1
        elif len(orgs) > 1:
            counts["duplicate_organizations"] += 1
        elif tag is None:
            counts["unknown_value"] += 1
        elif orgs[0]["organization_fields"].get(FIELD) == tag:
            counts["in_sync"] += 1
        else:
            counts["last_write_failed" if account_id in failed else "drift"] += 1
    return counts


def seed_every_category(world: World) -> dict[str, Any]:
    """In sync, drift (3 hand edits, one on a hostile name), a failed write, routing drift and a collision."""
    zendesk, salesforce = world.sandbox.zendesk, world.sandbox.salesforce
    expected = expected_tags(world)
    target = sorted(expected)[0]
    account_id = next(a for a in salesforce.accounts
                      if a[:15].lower() == zendesk.organizations[target]["external_id"][:15].lower())
    salesforce.update_account(account_id, Name=HOSTILE)
    failing = sorted(expected)[10]
    zendesk.fail_org_ids = {failing}
    assert world.cli("sync", "--full").exit_code == 8  # one write refused: its account is last_write_failed
    zendesk.fail_org_ids = set()
    assert world.cli("routing", "apply").exit_code == 0
    person_trigger(world)  # an unmarked trigger with one of tiersync's titles: a collision
    _edit_enterprise_view(world)  # routing drift
    edited = sorted(expected)[:3]
    for org_id in edited:
        zendesk.set_org_field(org_id, FIELD, OTHER[expected[org_id]])
    failed_account = next(a for a in salesforce.accounts
                          if a[:15].lower() == zendesk.organizations[failing]["external_id"][:15].lower())
    return {"edited": edited, "hostile_account": account_id, "failed_account": failed_account}


def test_reconcile_classifies_every_account_once_and_the_counts_add_up(world: World, tmp_path: Path) -> None:
    seeded = seed_every_category(world)
    run = world.cli("reconcile", "--format", "json")
    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    totals = document["summary"]["totals"]
    independent = independent_categories(world, {seeded["failed_account"]})
    assert {k: v for k, v in totals.items() if v} == dict(independent)
    assert sum(totals.values()) == document["summary"]["accounts"] == sum(
        1 for a in world.sandbox.salesforce.accounts.values() if a["Type"] == "Customer")
    assert totals["drift"] == 3 and totals["last_write_failed"] == 1
    assert totals["unknown_value"] > 0 and totals["duplicate_organizations"] > 0 and totals["no_organization"] > 0
    in_scope = {a[:15].lower() for a, v in world.sandbox.salesforce.accounts.items() if v["Type"] == "Customer"}
    orphans = [o for o in world.sandbox.zendesk.organizations.values()
               if o.get("external_id") and o["external_id"][:15].lower() not in in_scope]
    assert len(document["orphans"]) == len(orphans) > world.seeded.orphan_orgs  # prospects' organizations too
    problems = {(r["kind"], r["problem"]) for r in document["routing"]}
    assert ("view", "drift") in problems and ("trigger", "collision") in problems
    assert [t["tier"] for t in document["tiers"]] == ["enterprise", "professional", "starter"]
    drifted = {a["organization_id"]: a for a in document["accounts"] if a["category"] == "drift"}
    assert sorted(drifted) == seeded["edited"]
    assert all(a["organization_changed_at"] and a["expected"] != a["actual"] for a in drifted.values())
    world.sandbox.zendesk.reset_requests()
    assert world.cli("reconcile", "--fail-on-drift", "--format", "json").exit_code == 10
    assert world.zendesk_writes() == 0


def test_every_format_is_written_and_escapes_the_hostile_name(world: World, tmp_path: Path) -> None:
    seed_every_category(world)
    out = tmp_path / "reports"
    run = world.cli("reconcile", "--output", str(out))
    assert run.exit_code == 0, run.stderr
    files = {p.suffix: p for p in out.iterdir()}
    assert set(files) == {".json", ".csv", ".html", ".md"}
    document = json.loads(files[".json"].read_text())
    assert any(a["account_name"] == HOSTILE for a in document["accounts"])  # JSON is exact
    rows = list(csv.DictReader(io.StringIO(files[".csv"].read_text())))
    assert len(rows) == document["summary"]["accounts"]
    assert all(not r["account_name"].startswith(("=", "+", "-", "@")) for r in rows)
    for suffix in (".html", ".md"):
        text = files[suffix].read_text()
        assert "<script>alert(1)</script>" not in text and "<!channel>" not in text, suffix
        assert "&lt;script&gt;" in text, suffix
    assert HOSTILE in run.stdout and "\x1b" not in run.stdout  # a terminal shows markup as the text it is


class Slack:
    """A receiver and notifiers built on it with a recorded (never slept) sleep."""

    def __init__(self, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
        self.receiver, self.sleeps = receiver, []
        monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.url)
        monkeypatch.setattr("worker.cli.reconcile.notifier_from_settings",
                            lambda settings: SlackNotifier(receiver.url, sleep=self.sleeps.append))


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Any:
    with SlackReceiver() as receiver:
        yield Slack(receiver, monkeypatch)


def test_one_alert_for_new_drift_none_for_the_same_and_one_recovery_after_fix(world: World, slack: Slack) -> None:
    seed_every_category(world)
    assert world.cli("reconcile").exit_code == 0
    assert len(slack.receiver.messages) == 1
    message = json.dumps(slack.receiver.messages[0])
    assert "tier drift" in message and "&lt;script&gt;" in message and "&lt;!channel&gt;" in message
    assert "<!channel>" not in message and "<script>" not in message
    assert world.cli("reconcile").exit_code == 0
    assert len(slack.receiver.messages) == 1  # the same drift is not announced again
    fixed = world.cli("reconcile", "--fix", "--format", "json")
    assert fixed.exit_code == 0, fixed.stderr
    assert fixed.json()["summary"]["has_drift"] is False and fixed.json()["fixed"]["organizations_written"] == 4
    assert len(slack.receiver.messages) == 2 and "resolved" in json.dumps(slack.receiver.messages[1])
    assert world.cli("reconcile", "--fail-on-drift").exit_code == 0
    assert len(slack.receiver.messages) == 2


@pytest.mark.parametrize(("status", "body", "headers", "tries"), [
    (429, "rate_limited", {"Retry-After": "3600"}, 1),  # longer than tiersync waits: not retried
    (404, "no_service", {}, 1),  # never retried
    (500, "rollup_error", {}, 3),  # retried within the budget (3 tries), then given up
])
def test_slack_failing_never_fails_the_reconcile(world: World, slack: Slack, status: int, body: str,
                                                 headers: dict[str, str], tries: int) -> None:
    seed_every_category(world)
    slack.receiver.fail_next(status, body, headers, times=tries)
    run = world.cli("reconcile")
    assert run.exit_code == 0, run.stderr
    assert slack.receiver.messages == [] and len(slack.receiver.posts) == tries
    assert "slack: drift (not sent" in run.stderr and slack.receiver.url not in run.stderr
    again = world.cli("reconcile")  # the alert was not sent, so the next reconcile tries again
    assert again.exit_code == 0 and len(slack.receiver.messages) == 1


def test_the_real_report_page_shows_the_summary_and_the_drift_in_chromium(world: World, tmp_path: Path) -> None:
    from tests.integration.test_report_browser import Browser

    seed_every_category(world)
    out = tmp_path / "reports"
    assert world.cli("reconcile", "--output", str(out), "--format", "html", "--format", "json").exit_code == 0
    html = next(out.glob("*.html"))
    document = json.loads(next(out.glob("*.json")).read_text())
    rendered = Browser(tmp_path).dom(html)
    rendered.assert_script_ran_cleanly()
    text = " ".join(rendered.dom.text().split())
    assert f"{document['summary']['accounts']:,}" in text or str(document["summary"]["accounts"]) in text
    drifted = [a["account_id"] for a in document["accounts"] if a["category"] in ("drift", "last_write_failed")]
    assert sorted(rendered.visible()) == sorted(drifted) and len(drifted) == 4
    assert HOSTILE in text  # the hostile name is text in the rendered page, never markup
    shot = tmp_path / "reconcile.png"
    Browser(tmp_path).run(html.as_uri(), f"--screenshot={shot}", "--window-size=1280,1800")
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
