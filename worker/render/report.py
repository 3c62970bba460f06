"""The reconciliation report as documents: JSON (versioned), CSV (one row per account) and Markdown.

The HTML page is :mod:`worker.render.report_html` and the Slack message :mod:`worker.render.slack`; all of
them start from :func:`report_document`, so every format says the same thing. Account and organization
names are untrusted text: CSV cells that a spreadsheet would run as a formula are defused, Markdown
shows control characters as escapes and escapes its own markup and HTML, and JSON is JSON.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from worker.core.report import Category, Report
from worker.render.text import visible

SCHEMA = "tiersync.reconcile"
CSV_COLUMNS = ("account_id", "account_name", "category", "tier", "expected", "actual", "organization_id",
               "organization_changed_at", "detail")


def report_document(report: Report) -> dict[str, Any]:
    """The JSON document (schema ``tiersync.reconcile``, version 1; documented in README.md)."""
    totals = report.totals
    return {
        "schema": SCHEMA, "version": report.version, "report_id": report.report_id,
        "generated_at": report.generated_at, "previous_report": report.previous_report,
        "summary": {"accounts": len(report.accounts), "totals": totals, "has_drift": report.has_drift,
                    "drifted_accounts": len(report.drifted), "routing_problems": len(report.routing),
                    "routing_drift": len(report.routing_drift), "orphan_organizations": len(report.orphans),
                    "new_drift": len(report.new_drift), "resolved_drift": len(report.resolved_drift),
                    "fingerprint": report.fingerprint},
        "tiers": [{"tier": t.tier, "title": t.title, "tag": t.tag, "salesforce_accounts": t.salesforce_accounts,
                   "zendesk_organizations": t.zendesk_organizations} for t in report.tiers],
        "accounts": [{"account_id": a.account_id, "account_name": a.account_name, "category": a.category.value,
                      "tier": a.tier, "expected": a.expected, "actual": a.actual, "organization_id": a.organization_id,
                      "organization_changed_at": a.organization_changed_at, "detail": a.detail or None}
                     for a in report.accounts],
        "orphans": [{"organization_id": o.organization_id, "name": o.name, "external_id": o.external_id,
                     "why": o.why} for o in report.orphans],
        "routing": [{"kind": r.kind, "title": r.title, "id": r.object_id, "problem": r.problem,
                     "detail": r.detail or None} for r in report.routing],
        "new_drift": list(report.new_drift), "resolved_drift": list(report.resolved_drift),
        "notes": list(report.notes), "fixed": report.fixed or None,
    }


def render_json(document: dict[str, Any]) -> str:
    """The document, indented."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_FORMULA = re.compile(r"^[=+\-@\t\r]")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet will not run: text starting ``= + - @`` (or a tab) gets a ``'``.

    OWASP "CSV Injection": prefix such cells with a single quote so the application shows them as text.
    Numbers stay numbers (a negative number is never written here: ids and counts are positive).
    """
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return str(value)
    text = str(value)
    return "'" + text if _FORMULA.match(text) else text


def csv_writer(buffer: io.StringIO) -> Any:
    r"""A CSV writer with RFC 4180 line ends (``\r\n``).

    The csv module quotes a cell holding a character of its line terminator: with ``\n`` alone, a carriage return
    in a name went out bare, and readers (Excel, Python's csv) started a forged row there.
    """
    return csv.writer(buffer, lineterminator="\r\n")


def render_csv(document: dict[str, Any]) -> str:
    """One row per account, with a header; every cell defused (:func:`csv_cell`)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for account in document["accounts"]:
        writer.writerow([csv_cell(account[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def markdown_text(value: Any) -> str:
    """Untrusted text for a Markdown table cell: HTML and Markdown markup escaped, one line."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.split())


def markdown_literal(value: Any) -> str:
    r"""Untrusted text for Markdown: control characters made :func:`visible` (ESC as ``\x1b``), then markup escaped.

    A Markdown report is also read with ``cat`` and ``less``: an escape sequence in a name must not reach the terminal.
    """
    return markdown_text(None if value is None else visible(str(value)))


_LISTED = 200  # drift and problem lines a Markdown report lists before "and N more"


def render_markdown(document: dict[str, Any]) -> str:
    """A report for a ticket or a wiki page: summary, tiers, drift, other problems, changes since last time."""
    summary, md = document["summary"], markdown_literal
    lines = [f"# tiersync reconciliation {md(document['report_id'])}", "",
             f"Generated {md(document['generated_at'])}" + (f"; previous report {md(document['previous_report'])}"
                                                            if document["previous_report"] else ""), "",
             f"**{summary['accounts']:,} accounts**: " + ", ".join(
                 f"{md(name.replace('_', ' '))} {count:,}" for name, count in summary["totals"].items()), "",
             f"Drift: {'yes' if summary['has_drift'] else 'none'} · new since the last report "
             f"{summary['new_drift']:,} · resolved {summary['resolved_drift']:,} · orphan organizations "
             f"{summary['orphan_organizations']:,} · routing problems {summary['routing_problems']:,}", "",
             "## Tiers", "", "| tier | tag | Salesforce accounts | Zendesk organizations |", "|---|---|---:|---:|"]
    lines += [f"| {md(t['title'])} | {md(t['tag'])} | {t['salesforce_accounts']:,} | {t['zendesk_organizations']:,} |"
              for t in document["tiers"]]
    drifted = [a for a in document["accounts"] if a["category"] in (Category.DRIFT, Category.LAST_WRITE_FAILED)]
    lines += ["", f"## Drift ({len(drifted):,})", ""]
    if drifted:
        lines += ["| account | name | expected | actual | organization | changed | |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {md(a['account_id'])} | {md(a['account_name'])} | {md(a['expected'] or '(none)')} | "
                  f"{md(a['actual'] or '(none)')} | {md(a['organization_id'])} | {md(a['organization_changed_at'])} | "
                  f"{md(a['detail'] or '')} |" for a in drifted[:_LISTED]]
        if len(drifted) > _LISTED:
            lines += ["", f"…and {len(drifted) - _LISTED:,} more (see the JSON or CSV report)"]
    problems = [a for a in document["accounts"] if a["category"] in (Category.UNKNOWN_VALUE,
                                                                      Category.DUPLICATE_ORGANIZATIONS,
                                                                      Category.NO_ORGANIZATION)]
    if problems:
        lines += ["", f"## Accounts tiersync cannot match or decide ({len(problems):,})", "",
                  "| account | name | problem | detail |", "|---|---|---|---|"]
        lines += [f"| {md(a['account_id'])} | {md(a['account_name'])} | {md(a['category'].replace('_', ' '))} | "
                  f"{md(a['detail'] or '')} |" for a in problems[:_LISTED]]
    if document["orphans"]:
        lines += ["", f"## Orphan organizations ({len(document['orphans']):,})", "",
                  "| organization | name | external id | why |", "|---|---|---|---|"]
        lines += [f"| {md(o['organization_id'])} | {md(o['name'])} | {md(o['external_id'])} | {md(o['why'])} |"
                  for o in document["orphans"][:_LISTED]]
    if document["routing"]:
        lines += ["", f"## Routing ({len(document['routing']):,})", "", "| kind | title | id | problem | detail |",
                  "|---|---|---|---|---|"]
        lines += [f"| {md(r['kind'])} | {md(r['title'])} | {md(r['id'])} | {md(r['problem'])} | "
                  f"{md(r['detail'] or '')} |" for r in document["routing"]]
    if document["new_drift"] or document["resolved_drift"]:
        lines += ["", "## Since the last report", ""]
        lines += [f"- new: {md(key)}" for key in document["new_drift"][:_LISTED]]
        lines += [f"- resolved: {md(key)}" for key in document["resolved_drift"][:_LISTED]]
    return "\n".join(lines) + "\n"
