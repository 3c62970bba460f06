"""The reconciliation report: one category per account, totals that add up, drift keys, and its documents."""

from __future__ import annotations

import csv
import io
import json

from tests.unit.helpers import account, account_id, make_config, org
from worker.core.fieldplan import unread_field
from worker.core.plan import build_plan
from worker.core.report import Category, build_report, report_summary
from worker.render.report import csv_cell, markdown_text, render_csv, render_json, render_markdown, report_document

HOSTILE = '=HYPERLINK("http://evil")<script>alert(1)</script> & <!channel> |x|'


def full_plan():  # type: ignore[no-untyped-def]
    accounts = [account(1, "Enterprise"), account(2, "Enterprise"), account(3, "Platinum"), account(4, None),
                account(5, "Starter"), account(6, "Professional"), account(7, "Starter")]
    accounts[1] = type(accounts[1])(id=accounts[1].id, name=HOSTILE, fields=accounts[1].fields)  # drifted
    organizations = [org(1, "tier_enterprise"), org(2, "tier_starter"), org(3, "tier_starter"), org(4, None),
                     org(5, "tier_starter", org_id=5005), org(5, None, org_id=6005), org(6, None),
                     org(99, "tier_enterprise")]  # 7 has no organization; 99 names no account: an orphan
    plan = build_plan(make_config(), accounts, organizations, unread_field(make_config()), full=True)
    from dataclasses import replace
    return replace(plan, holders=(("tier_enterprise", 2), ("tier_starter", 3)))


def test_every_account_is_in_exactly_one_category_and_the_totals_add_up() -> None:
    report = build_report(make_config(), full_plan(), report_id="r1", generated_at="2026-11-29T10:00:00+00:00",
                          failed_writes={account_id(6): ""})
    categories = {line.account_id: line.category for line in report.accounts}
    assert categories == {account_id(1): Category.IN_SYNC, account_id(2): Category.DRIFT,
                          account_id(3): Category.UNKNOWN_VALUE, account_id(4): Category.UNKNOWN_VALUE,
                          account_id(5): Category.DUPLICATE_ORGANIZATIONS, account_id(6): Category.LAST_WRITE_FAILED,
                          account_id(7): Category.NO_ORGANIZATION}
    assert sum(report.totals.values()) == 7 and report.totals["unknown_value"] == 2
    drift = next(line for line in report.accounts if line.category is Category.DRIFT)
    assert (drift.expected, drift.actual) == ("tier_enterprise", "tier_starter")
    assert [o.organization_id for o in report.orphans] == [1099]
    assert [(t.tier, t.salesforce_accounts, t.zendesk_organizations) for t in report.tiers] == [
        ("enterprise", 2, 2), ("professional", 1, 0), ("starter", 2, 3)]
    assert report.has_drift and len(report.drift_keys) == 2


def test_the_next_report_says_what_is_new_and_what_was_resolved() -> None:
    first = build_report(make_config(), full_plan(), report_id="r1", generated_at="t", failed_writes={})
    previous = json.loads(json.dumps(report_summary(first)))
    previous["drift_keys"] = [*previous["drift_keys"][1:], "account:001X:tier_a:None"]
    second = build_report(make_config(), full_plan(), report_id="r2", generated_at="t", failed_writes={},
                          previous=previous)
    assert second.previous_report == "r1"
    assert second.new_drift == (first.drift_keys[0],) and second.resolved_drift == ("account:001X:tier_a:None",)
    assert second.fingerprint == first.fingerprint  # equal drift, equal fingerprint


def test_documents_agree_and_escape_untrusted_names() -> None:
    report = build_report(make_config(), full_plan(), report_id="r1", generated_at="t", failed_writes={})
    document = report_document(report)
    assert json.loads(render_json(document))["summary"]["totals"] == report.totals
    assert document["schema"] == "tiersync.reconcile" and document["version"] == 1
    rows = list(csv.DictReader(io.StringIO(render_csv(document))))
    assert len(rows) == 7 and {r["category"] for r in rows} >= {"drift", "in_sync"}
    named = next(r for r in rows if r["account_id"] == account_id(2))
    assert named["account_name"] == "'" + HOSTILE  # a spreadsheet shows it as text, never runs it
    markdown = render_markdown(document)
    assert "<script>" not in markdown and "<!channel>" not in markdown and "&lt;script&gt;" in markdown


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "plain", 42, None)] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "plain", "42", ""]
    assert markdown_text("a|b\nc") == "a\\|b c"


def _document_with_name(name: str) -> dict:  # type: ignore[type-arg]
    report = build_report(make_config(), full_plan(), report_id="r1", generated_at="2026-11-29T10:00:00+00:00",
                          failed_writes={})
    document = report_document(report)
    document["accounts"][1]["account_name"] = name  # the drifted account
    return document


def test_a_carriage_return_in_a_name_cannot_start_a_csv_row() -> None:
    """Issue 19: with bare \\n line ends the csv module left a \\r unquoted, and readers split the row there."""
    name = "Acme\rFORGED,row\nsecond \x1b[2J"
    text = render_csv(_document_with_name(name))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 7 and rows[1]["account_name"] == name  # one row, the exact name
    assert text.endswith("\r\n") and text.count("\r\n") == 8  # RFC 4180 line ends: header and 7 rows


def test_markdown_shows_control_characters_as_escapes() -> None:
    markdown = render_markdown(_document_with_name("Evil \x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\ \u202egnp \x9b"))
    assert not any(char in markdown for char in ("\x1b", "\u202e", "\x9b"))
    assert "Evil \\\\x1b\\]8;;https://x\\\\x1b\\\\link" in markdown  # visible() escapes, then markdown's own
