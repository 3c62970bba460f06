"""The Slack messages of a reconciliation: Block Kit payloads built from the report document, pure.

Both messages start from :func:`worker.render.report.report_document`, like every other format. Their text is
``mrkdwn``, and everything that comes from the document (account names and ids, tags, details, routing titles,
the report id) or from the caller (where the full report is) is untrusted: it passes through
:func:`slack_text`, which shows control characters as escapes, shortens it, and escapes Slack's three control
characters. Slack's "Formatting text" reference (docs.slack.dev/messaging/formatting-message-text#escaping,
formerly api.slack.com/reference/surfaces/formatting#escaping) says ``&``, ``<`` and ``>`` are the characters
Slack parses, to be replaced by ``&amp;``, ``&lt;`` and ``&gt;``, and that the rest of the text must not be
HTML-encoded. So ``<!channel>``, ``<@U123>`` and ``<https://evil|click>`` arrive as literal text: no mention,
no link. Every text object also sets ``"verbatim": true`` (docs.slack.dev, "Text object"): Slack then does not
auto-link bare URLs or channel names, nor parse bare mentions, in that text.

mrkdwn has no escape for ``*``, ``_``, ``~`` or a backquote, so a name such as ``*Acme*`` may show in bold:
harmless (it cannot ping, link or hide other lines).

Block Kit limits respected here (docs.slack.dev/reference/block-kit): a section's text is at most 3,000
characters, a header's at most 150, and a message has at most 50 blocks; the top-level ``text`` is the
notification fallback and is kept to one short line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from worker.render.text import visible

MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BLOCKS = 50
VALUE_CHARS = 80  # one untrusted value (a name, a tag, a title), before escaping
DETAIL_CHARS = 120
LOCATION_CHARS = 500
_DRIFTED = ("drift", "last_write_failed")
_ROUTING_DRIFT = ("drift", "missing")
_MORE_RESERVE = 40  # room kept in a list's last section for "…and N more"


def slack_escape(text: str) -> str:
    """``text`` with Slack's control characters escaped: ``&`` → ``&amp;``, ``<`` → ``&lt;``, ``>`` → ``&gt;``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(value: Any, limit: int = VALUE_CHARS, *, empty: str = "(none)") -> str:
    r"""An untrusted value as mrkdwn that shows exactly that text: one line, at most ``limit`` characters.

    Control characters (newlines, ESC, bidirectional overrides) are shown as escapes (``\n``, ``\x1b``,
    ``\u202e``), so a name cannot forge list lines; the text is cut before escaping, so no entity is split.
    """
    text = "" if value is None else visible(str(value))
    if not text:
        return empty
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return slack_escape(text)


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else slack_text(value)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:MAX_HEADER_TEXT], "emoji": False}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text[:MAX_SECTION_TEXT])}


def _list_sections(title: str, lines: list[str], total: int, max_blocks: int) -> list[dict[str, Any]]:
    """``title`` then ``lines`` in as few sections as fit (each ≤ 3,000 characters, at most ``max_blocks``).

    Lines that do not fit are counted with the ``total - len(lines)`` left out: "…and N more".
    """
    sections: list[str] = []
    text, shown = title, 0
    for line in lines:
        room = MAX_SECTION_TEXT - _MORE_RESERVE
        if len(text) + 1 + len(line) <= room:
            text, shown = f"{text}\n{line}", shown + 1
        elif len(sections) + 2 <= max_blocks:
            sections.append(text)
            text, shown = line, shown + 1
        else:
            break
    more = total - shown
    if more > 0:
        text += f"\n…and {more:,} more"
    sections.append(text)
    return [_section(s) for s in sections[:max_blocks]]


def _account_key(account: dict[str, Any]) -> str:
    """The account's key in the report's ``new_drift`` (``Report.drift_keys``)."""
    return f"account:{account.get('account_id')}:{account.get('expected')}:{account.get('actual')}"


def _account_line(account: dict[str, Any], new: bool) -> str:
    line = (f"• {slack_text(account.get('account_name'), empty='(no name)')} "
            f"({slack_text(account.get('account_id'), 24)}) — {slack_text(account.get('expected'))} → "
            f"{slack_text(account.get('actual'))}")
    if account.get("category") == "last_write_failed":
        line += " — last write failed"
        if account.get("detail"):
            line += f": {slack_text(account.get('detail'), DETAIL_CHARS)}"
    return line + (" _(new)_" if new else "")


def _routing_line(line: dict[str, Any], new: bool) -> str:
    text = (f"• {slack_text(line.get('kind'), 24)} {slack_text(line.get('title'))} — "
            f"{slack_text(line.get('problem'), 24)}")
    if line.get("detail"):
        text += f": {slack_text(line.get('detail'), DETAIL_CHARS)}"
    return text + (" _(new)_" if new else "")


def _new_first(items: Iterable[tuple[bool, str]]) -> list[str]:
    """The lines, new drift first (each group in the report's order)."""
    ordered = sorted(items, key=lambda item: not item[0])  # sorted() is stable
    return [line for _new, line in ordered]


def _footer(document: dict[str, Any], report_location: str) -> dict[str, Any]:
    where = f"Full report: {slack_text(report_location, LOCATION_CHARS)}"
    which = (f"Report {slack_text(document.get('report_id'))} · generated "
             f"{slack_text(document.get('generated_at'), 40)}")
    return {"type": "context", "elements": [_mrkdwn(where), _mrkdwn(which)]}


def drift_message(document: dict[str, Any], report_location: str, limit: int = 10) -> dict[str, Any]:
    """The drift alert: header, summary, the first ``limit`` drifted accounts (and routing objects), where to look.

    Args:
        document: ``report_document(report)``.
        report_location: where the full report is (a file path or a URL), shown as text, never as a link.
        limit: drifted accounts (and, separately, drifted routing objects) listed; the rest are counted.

    """
    summary = document["summary"]
    new_keys = set(document.get("new_drift") or ())
    drifted = [a for a in document["accounts"] if a.get("category") in _DRIFTED]
    routing = [r for r in document.get("routing") or () if r.get("problem") in _ROUTING_DRIFT]
    since = (f"*{_count(summary.get('new_drift'))}* new since the last report" if document.get("previous_report")
             else "no earlier report to compare with")
    summary_text = (f"*{_count(summary.get('drifted_accounts'))}* of {_count(summary.get('accounts'))} accounts "
                    f"differ from their Salesforce tier in Zendesk · {since} · routing drift: "
                    f"*{_count(summary.get('routing_drift'))}*")
    blocks = [_header("tiersync: tier drift found"), _section(summary_text)]
    footer = _footer(document, report_location)
    budget = MAX_BLOCKS - len(blocks) - 1  # the footer
    limit = max(0, limit)
    if drifted:
        flags = [_account_key(a) in new_keys for a in drifted]
        lines = _new_first((new, _account_line(a, new)) for a, new in zip(drifted, flags, strict=True))
        sections = _list_sections("*Drifted accounts* (name — expected → actual)", lines[:limit], len(drifted),
                                  budget - (1 if routing else 0))
        blocks += sections
        budget -= len(sections)
    if routing:
        flags = [f"routing:{r.get('kind')}:{r.get('title')}" in new_keys for r in routing]
        lines = _new_first((new, _routing_line(r, new)) for r, new in zip(routing, flags, strict=True))
        blocks += _list_sections("*Routing not as configured*", lines[:limit], len(routing), budget)
    blocks.append(footer)
    fallback = (f"tiersync: tier drift in {_count(summary.get('drifted_accounts'))} account(s) and "
                f"{_count(summary.get('routing_drift'))} routing object(s)")
    return {"text": fallback, "blocks": blocks}


def recovery_message(document: dict[str, Any], report_location: str) -> dict[str, Any]:
    """The one message after drift cleared: no account differs from its tier, routing is as configured."""
    summary = document["summary"]
    text = (f"No account differs from its Salesforce tier any more, and routing is as configured "
            f"({_count(summary.get('accounts'))} accounts checked; {_count(summary.get('resolved_drift'))} "
            "differences resolved since the last report).")
    blocks = [_header("tiersync: tier drift resolved"), _section(text), _footer(document, report_location)]
    return {"text": "tiersync: tier drift resolved", "blocks": blocks}


def service_message(document: dict[str, Any], report_location: str) -> dict[str, Any]:
    """The service report's alert: the tiers whose SLA achievement is below their minimum, and where to look.

    Args:
        document: the service report's document (``worker.core.service.service_document``).
        report_location: where the full report is, shown as text.

    """
    below = [row for row in document.get("tiers") or () if row.get("below_min")]
    lines = [f"• {slack_text(row.get('title'))}: SLA achieved *{slack_text(row['sla'].get('achieved_pct'))}%* "
             f"(minimum {slack_text(row.get('min_sla_achieved_pct'))}%; {_count(row['sla'].get('breached'))} of "
             f"{_count(row['sla'].get('applied'))} SLA targets breached)" for row in below]
    window = document.get("window") or {}
    summary = (f"The last {_count(document.get('days'))} days ({slack_text(window.get('start'), 40)} to "
               f"{slack_text(window.get('end'), 40)}): {len(below)} tier(s) below the minimum SLA achievement.")
    blocks = [_header("tiersync: a tier is below its SLA minimum"), _section(summary)]
    blocks += _list_sections("*Tiers below their minimum*", lines, len(lines), MAX_BLOCKS - 3)
    where = f"Full report: {slack_text(report_location, LOCATION_CHARS)}"
    blocks.append({"type": "context", "elements": [_mrkdwn(where)]})
    return {"text": f"tiersync: {len(below)} tier(s) below the minimum SLA achievement", "blocks": blocks}


def dead_letter_message(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """The alert for a dead-lettered task message: which task, its arguments, how many deliveries died.

    Args:
        entry: the dead letter (``worker.io.taskguard.TaskGuard.dead_letter``): task, task_id, kwargs, deliveries.
        where: where the dead letters are kept (the Redis list's name), shown as text.

    """
    task = slack_text(entry.get("task"))
    arguments = slack_text(json.dumps(entry.get("kwargs") or {}, sort_keys=True, default=str), DETAIL_CHARS)
    text = (f"Task *{task}* (id {slack_text(entry.get('task_id'))}, arguments {arguments}) lost its worker "
            f"process on each of {_count(entry.get('deliveries'))} deliveries, so it was taken off the queue "
            f"and kept in the Redis list {slack_text(where)}. Look at the worker logs and the "
            "workers' memory limit, then queue it again.")
    blocks = [_header("tiersync: a task keeps crashing its worker"), _section(text)]
    return {"text": f"tiersync: task {task} dead-lettered", "blocks": blocks}


def run_failure_message(task: str, exit_code: int, error: str, hint: str) -> dict[str, Any]:
    """The alert for a scheduled run that stopped on something a person must fix (a lost role, a quota, a refusal).

    Args:
        task: the Celery task's name.
        exit_code: the run's exit code (README "Exit codes").
        error: the run's one-line error, redacted by the caller; shown as text.
        hint: the fix, redacted by the caller; shown as text.

    """
    name = slack_text(task)
    text = (f"*{name}* stopped with exit code {int(exit_code)}: {slack_text(error, DETAIL_CHARS)}"
            + (f"\nFix: {slack_text(hint, DETAIL_CHARS)}" if hint else "")
            + "\nNothing was written by this run. The same failure is not alerted again within the alert window; "
              "a recovery message follows the first run that succeeds.")
    return {"text": f"tiersync: {name} needs attention (exit {int(exit_code)})",
            "blocks": [_header("tiersync: a scheduled run needs attention"), _section(text)]}


def run_recovery_message(task: str) -> dict[str, Any]:
    """The message after a run-failure alert, once a run of the same task succeeds again."""
    name = slack_text(task)
    return {"text": f"tiersync: {name} runs again",
            "blocks": [_header("tiersync: recovered"), _section(f"*{name}* succeeded again after the failure alerted "
                                                                 "earlier.")]}
