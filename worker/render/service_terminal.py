"""The service report at a terminal: one table, the tiers below their minimum, the notes."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from worker.render.text import literal


def _n(value: Any, suffix: str = "") -> str:
    return "—" if value is None else f"{value:,}{suffix}" if isinstance(value, int) else f"{value}{suffix}"


def render_service(document: dict[str, Any], console: Console) -> None:
    """Print the service report's document for a person."""
    window = document["window"]
    console.print(f"[bold]Service per tier[/bold], the last {document['days']} days "
                  f"({literal(window['start'])} to {literal(window['end'])})")
    table = Table(show_edge=False, pad_edge=False)
    for column in ("tier", "tickets", "solved", "first reply median", "p90", "resolution median", "SLA achieved",
                   "breached/applied", "CSAT", "good/bad"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for row in document["tiers"]:
        sla, csat = row["sla"], row["csat"]
        achieved = _n(sla["achieved_pct"], "%") + (" [red](below minimum)[/red]" if row["below_min"] else "")
        table.add_row(literal(row["title"]), _n(row["tickets"]), _n(row["solved"]),
                      _n(row["first_reply_minutes"]["median"], " min"), _n(row["first_reply_minutes"]["p90"], " min"),
                      _n(row["full_resolution_minutes"]["median"], " min"), achieved,
                      f"{sla['breached']:,}/{sla['applied']:,}", _n(csat["score_pct"], "%"),
                      f"{csat['good']:,}/{csat['bad']:,}")
    console.print(table)
    for row in document["tiers"]:
        targets = row.get("targets") or {}
        if targets:
            shown = "; ".join(f"{metric.replace('_', ' ')} " + ", ".join(f"{p} {m} min" for p, m in by.items())
                              for metric, by in targets.items())
            console.print(f"  {literal(row['title'])} targets: {literal(shown)}")
    for note in document.get("notes") or ():
        console.print(f"[yellow]note:[/yellow] {literal(note)}")
