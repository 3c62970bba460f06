"""Terminal rendering of a run: the plan (what will change and why) and the outcome.

Every interpolated value goes through :func:`worker.render.text.literal`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from worker.core.actions import Action
from worker.core.plan import PADDED_EXTERNAL_ID, Outcome, Plan
from worker.core.record import RunRecord
from worker.render.routing import render_routing, render_routing_outcome, routing_counts
from worker.render.text import literal


def _field_line(plan: Plan) -> str:
    field = plan.field
    key, added = literal(repr(field.key)), literal(", ".join(tag for _, tag in field.add))
    if field.action is Action.CREATE:
        return f"create dropdown field {key} with options {added}"
    if field.action is Action.UPDATE:
        parts = [f"add {added}"] if field.add else []
        parts += [f"rename option {literal(repr(old))} to {literal(repr(new))}" for _, old, new in field.rename]
        parts += [f"remove unused option {literal(repr(value))}" for value in field.remove]
        kept = "" if field.remove else " (every existing option kept)"
        return f"update field {key}: {'; '.join(parts)}{kept}"
    return f"field {key} is up to date"


def render_plan(plan: Plan, console: Console, *, limit: int = 20, organizations: bool = True) -> None:
    """Print the plan: counts per outcome, the field change, the changes and rejects, then routing."""
    if organizations:
        _render_organizations(plan, console, limit)
    else:
        console.print(f"  Field: {_field_line(plan)}")
    if plan.routing is not None:
        render_routing(plan.routing, console)


def plan_summary(plan: Plan) -> str:
    """One line: what the plan changes, e.g. ``add 1 option; create 1 trigger, 1 view; 37 organizations change``."""
    parts = []
    if plan.field.action is Action.CREATE:
        parts.append(f"create the field with {len(plan.field.add)} options")
    elif plan.field.add or plan.field.rename:
        parts.append(f"add {len(plan.field.add)} option(s), rename {len(plan.field.rename)}")
    if plan.routing is not None:
        parts.append(routing_counts(plan.routing))
    parts.append(f"{len(plan.changes):,} organization{'' if len(plan.changes) == 1 else 's'} change")
    if plan.clears:
        parts.append(f"{len(plan.clears):,} cleared")
    return "; ".join(parts)


def _render_organizations(plan: Plan, console: Console, limit: int) -> None:
    counts = plan.outcome_counts()
    reasons = Counter(item.reason.value for item in plan.accounts if item.reason)
    console.print(f"[bold]Plan {plan.fingerprint}[/bold] ({'full' if plan.full else 'partial'} read): "
                  f"{plan.account_count:,} accounts")
    console.print(f"  set tier         {counts[Outcome.SET_TIER]:>8,}   "
                  f"({plan.replacements:,} replace an existing value)")
    console.print(f"  unchanged        {counts[Outcome.UNCHANGED]:>8,}")
    console.print(f"  rejected         {counts[Outcome.REJECTED]:>8,}   "
                  + " · ".join(f"{literal(reason)} {n:,}" for reason, n in sorted(reasons.items())))
    console.print(f"  no organization  {counts[Outcome.NO_ORGANIZATION]:>8,}")
    console.print(f"  Field: {_field_line(plan)}")
    for value, holders in plan.field.in_use:
        console.print(f"  [yellow]Option {literal(repr(value))} is no tier's any more; kept while {holders:,} "
                      "organization(s) hold it[/yellow]")
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
    _render_side_changes(plan, console, limit)


_EDIT_ACTIONS = {"restore": "restored to the Salesforce tier", "report": "left as found (on_manual_edit: report)",
                 "none": "left: the account has no tier to restore"}
_REMOVAL_ACTIONS = {"keep": "value kept", "clear": "value cleared"}


def _render_side_changes(plan: Plan, console: Console, limit: int) -> None:
    """The hand edits the Zendesk export showed, and the accounts that left the Salesforce scope."""
    edits = [(str(e.organization_id), e.account_id, e.account_name, e.found or "(none)", e.expected or "(none)",
              _EDIT_ACTIONS[e.action.value]) for e in plan.manual_edits]
    _table(console, "Hand edits in Zendesk", edits, limit,
           ("organization", "account", "name", "found", "expected", "action"))
    removed = [(r.account_id, r.account_name, r.reason.replace("_", " "), str(r.organization_id), r.found,
                _REMOVAL_ACTIONS[r.action.value] + (f" ({r.detail})" if r.detail else "")) for r in plan.removals]
    _table(console, "Accounts removed in Salesforce", removed, limit,
           ("account", "name", "reason", "organization", "value", "action"))


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
    elif record.mode == "routing":
        if record.field_applied:
            console.print("[bold]Applied:[/bold] field created/updated")
    elif record.writes or record.field_applied or (record.plan is not None and record.error is None):
        failed = record.failed_writes()
        updated = sum(1 for r in record.writes.values() if r.ok)
        field = " · field created/updated" if record.field_applied else ""
        console.print(f"[bold]Applied:[/bold] {updated:,} organizations updated, {len(failed):,} failed{field}")
        for account_id, organization_id, error in failed[:20]:
            console.print(f"  [red]failed[/red] {literal(account_id)} (organization {literal(organization_id)}): "
                          f"{literal(error)}")
    if record.routing is not None:
        render_routing_outcome(record.routing, console)
    calls = " · ".join(f"{literal(service)} {c['calls']:,} calls ({c['writes']:,} writes)"
                       for service, c in record.api_calls.items())
    console.print(f"API: {calls or 'no calls'}"
                  + (f" · Salesforce daily usage {record.salesforce_usage[0]:,}/{record.salesforce_usage[1]:,}"
                     if record.salesforce_usage else ""))
    console.print(f"Done in {record.duration_seconds:.1f}s")
