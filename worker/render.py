"""Terminal rendering of a run: the plan (what will change and why) and the outcome.

Also the one place that makes text safe for the terminal. Account and organization names,
external ids, option labels, service error messages and configured text are data, never markup:
every value interpolated into a rich markup string goes through :func:`literal`, and every
Console tiersync creates comes from :func:`make_console` (no emoji codes, no highlighting).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from worker.core.plan import PADDED_EXTERNAL_ID, Outcome, Plan
from worker.core.report import RunRecord

# C0 and C1 controls and DEL, line/paragraph separators, bidirectional controls, lone surrogates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                      "\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    r"""``text`` with every control character shown as a Python-style escape.

    ESC becomes ``\x1b``, a newline ``\n``, a tab ``\t``, U+202E ``\u202e``: no escape sequence
    reaches the terminal, and a name cannot forge extra lines or reorder what follows. Spaces and
    printable non-ASCII text ("Müller GmbH", "株式会社") are kept as they are.
    """
    return _CONTROL.sub(_escaped, text)


# A "[" with the backslashes before it; group 2 is set when rich would read a tag there
# (rich.markup.RE_TAGS: "[" then one of a-z # / @, up to the next "]" without another "[").
_BRACKET = re.compile(r"(\\*)\[(?=([a-z#/@][^[]*?\])?)")


def _bracket_escaped(match: re.Match[str]) -> str:
    backslashes, tag = match.group(1), match.group(2)
    if tag is not None:  # rich prints half the backslashes, then the tag as text
        return backslashes * 2 + "\\["
    return backslashes + "\\[" if backslashes else "["  # rich turns "\\[" into "[" even before a non-tag


def literal(value: object) -> str:
    """``str(value)`` made :func:`visible`, as rich markup that prints exactly that text.

    Markup such as ``[/]`` or ``[link=...]`` is escaped, and backslashes survive: rich's own
    ``escape`` drops a backslash before a non-tag ``[``, and a trailing backslash would escape a
    tag that follows. A trailing run is therefore doubled and closed by an empty ``[i][/i]``.
    """
    text = visible(str(value))
    body = text.rstrip("\\")
    trailing = len(text) - len(body)
    return _BRACKET.sub(_bracket_escaped, body) + ("\\" * (2 * trailing) + "[i][/i]" if trailing else "")


def make_console(**options: Any) -> Console:
    """A rich Console that shows text literally: no ``:emoji:`` codes, no automatic highlighting."""
    return Console(emoji=False, highlight=False, **options)


def _field_line(plan: Plan) -> str:
    field = plan.field
    key, added = literal(repr(field.key)), literal(", ".join(title for _, title in field.add))
    if field.action == "create":
        return f"create dropdown field {key} with options {added}"
    if field.action == "update":
        parts = [f"add {added}"] if field.add else []
        parts += [f"rename option {literal(repr(old))} to {literal(repr(new))}" for _, old, new in field.rename]
        return f"update field {key}: {'; '.join(parts)} (every existing option kept)"
    return f"field {key} is up to date"


def render_plan(plan: Plan, console: Console, *, limit: int = 20) -> None:
    """Print the plan: counts per outcome, the field change, then the changes and rejects."""
    counts = Counter(item.outcome for item in plan.accounts)
    reasons = Counter(item.reason.value for item in plan.accounts if item.reason)
    console.print(f"[bold]Plan {plan.fingerprint}[/bold] ({'full' if plan.full else 'partial'} read): "
                  f"{len(plan.accounts):,} accounts")
    console.print(f"  set tier         {counts[Outcome.SET_TIER]:>8,}   "
                  f"({plan.replacements:,} replace an existing value)")
    console.print(f"  unchanged        {counts[Outcome.UNCHANGED]:>8,}")
    console.print(f"  rejected         {counts[Outcome.REJECTED]:>8,}   "
                  + " · ".join(f"{literal(reason)} {n:,}" for reason, n in sorted(reasons.items())))
    console.print(f"  no organization  {counts[Outcome.NO_ORGANIZATION]:>8,}")
    console.print(f"  Field: {_field_line(plan)}")
    if plan.full:
        console.print(f"  Orphan organizations: {len(plan.orphans):,} · duplicate external ids: "
                      f"{len(plan.duplicates):,} · organizations without external_id: "
                      f"{plan.organizations_without_external_id:,}")
        padded = [o.organization_id for o in plan.orphans if o.why == PADDED_EXTERNAL_ID]
        if padded:
            shown = ", ".join(str(i) for i in padded[:10]) + (" …" if len(padded) > 10 else "")
            console.print(f"  [yellow]{len(padded):,} organization(s) have an external_id with surrounding whitespace, "
                          f"which incremental runs cannot find; trim it in Zendesk:[/yellow] {literal(shown)}")
    _table(console, "Changes", [(i.account_id, i.account_name, str(i.organization_id),
                                 f"{i.current_tag or '(none)'} → {i.target_tag}") for i in plan.changes], limit,
           ("account", "name", "organization", "tier tag"))
    rejected = [(i.account_id, i.account_name, i.reason.value if i.reason else "", i.detail)
                for i in plan.accounts if i.outcome is Outcome.REJECTED]
    _table(console, "Rejected (organization left untouched)", rejected, limit, ("account", "name", "reason", "why"))


def _table(console: Console, title: str, rows: Sequence[tuple[str, ...]], limit: int, columns: tuple[str, ...]) -> None:
    if not rows:
        return
    shown = rows if limit <= 0 else rows[:limit]
    suffix = "" if len(shown) == len(rows) else f" (first {len(shown)} of {len(rows):,}; --limit 0 shows all)"
    table = Table(title=literal(f"{title}{suffix}"), title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(literal(column), overflow="fold")
    for row in shown:
        table.add_row(*(literal(cell) for cell in row))
    console.print(table)


def render_outcome(record: RunRecord, console: Console) -> None:
    """Print what the run did: writes, API calls, duration, notes."""
    for note in record.notes:
        console.print(f"[yellow]note:[/yellow] {literal(note)}")
    if record.refusal:
        console.print(f"[red]refused:[/red] {literal(record.refusal)}")
    if record.plan is not None and record.dry_run:
        console.print("Dry run: nothing was written.")
    elif record.writes or record.field_applied or (record.plan is not None and record.error is None):
        failed = record.failed_writes()
        updated = sum(1 for r in record.writes.values() if r.ok)
        field = " · field created/updated" if record.field_applied else ""
        console.print(f"[bold]Applied:[/bold] {updated:,} organizations updated, {len(failed):,} failed{field}")
        for account_id, organization_id, error in failed[:20]:
            console.print(f"  [red]failed[/red] {literal(account_id)} (organization {literal(organization_id)}): "
                          f"{literal(error)}")
    calls = " · ".join(f"{literal(service)} {c['calls']:,} calls ({c['writes']:,} writes)"
                       for service, c in record.api_calls.items())
    console.print(f"API: {calls or 'no calls'}"
                  + (f" · Salesforce daily usage {record.salesforce_usage[0]:,}/{record.salesforce_usage[1]:,}"
                     if record.salesforce_usage else ""))
    console.print(f"Done in {record.duration_seconds:.1f}s")
