"""The reconciliation report at a terminal: the summary, the tiers, the first drifted accounts, the files."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from worker.core.report import DRIFTED
from worker.render.text import literal


def render_report(document: dict[str, Any], console: Console, *, limit: int = 20) -> None:
    """Print a report document (``worker.render.report.report_document``) for a person at a terminal."""
    summary = document["summary"]
    console.print(f"[bold]Reconciliation {literal(document['report_id'])}[/bold]: {summary['accounts']:,} accounts")
    for name, count in summary["totals"].items():
        console.print(f"  {literal(name.replace('_', ' ')):<24}{count:>8,}")
    drift = "[red]drift found[/red]" if summary["has_drift"] else "[green]no drift[/green]"
    since = (f"; since {literal(document['previous_report'])}: {summary['new_drift']:,} new, "
             f"{summary['resolved_drift']:,} resolved" if document["previous_report"] else "")
    console.print(f"  {drift}{since} · orphan organizations {summary['orphan_organizations']:,} · routing problems "
                  f"{summary['routing_problems']:,}")
    tiers = Table(title="Tiers", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("tier", "tag", "Salesforce accounts", "Zendesk organizations"):
        tiers.add_column(column)
    for tier in document["tiers"]:
        tiers.add_row(literal(tier["title"]), literal(tier["tag"]), f"{tier['salesforce_accounts']:,}",
                      f"{tier['zendesk_organizations']:,}")
    console.print(tiers)
    drifted = [a for a in document["accounts"] if a["category"] in DRIFTED]
    if drifted:
        shown = drifted if limit <= 0 else drifted[:limit]
        suffix = "" if len(shown) == len(drifted) else f" (first {len(shown)} of {len(drifted):,}; --limit 0 shows all)"
        table = Table(title=literal(f"Drift{suffix}"), title_justify="left", show_edge=False, pad_edge=False)
        for column in ("account", "name", "expected", "actual", "organization", "changed"):
            table.add_column(column, overflow="fold")
        for a in shown:
            table.add_row(*(literal(str(v)) for v in (a["account_id"], a["account_name"], a["expected"] or "(none)",
                                                        a["actual"] or "(none)", a["organization_id"] or "",
                                                        a["organization_changed_at"] or "")))
        console.print(table)
    for line in document["routing"]:
        console.print(f"  routing {literal(line['problem'])}: {literal(line['kind'])} {literal(repr(line['title']))}"
                      + (f" ({literal(line['detail'])})" if line["detail"] else ""))
    if document.get("fixed"):
        fixed = document["fixed"]
        console.print(f"[bold]Fixed:[/bold] {fixed['organizations_written']:,} organizations written, "
                      f"{fixed['organizations_failed']:,} failed, {fixed['routing_written']:,} routing changes")
