"""What every command shares: the consoles, the common options, error-plus-fix, plan-then-outcome.

Exit codes (README.md, "Exit codes"): 0 ok, 1 internal error, 2 bad configuration or input (before
any API call), 3 credentials or permission, 4 unreachable, 5 rate limit or quota, 6 plan refused
by a safety rail, 7 remote state does not fit the configuration, 8 some writes failed, 9 another
writing run holds the lock, 10 drift found under ``reconcile --fail-on-drift``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from worker.core.config import TierFile, load_tier_file
from worker.core.errors import ConfigError, TiersyncError
from worker.core.ports import ProgressSink
from worker.core.record import RunRecord
from worker.core.redaction import redact
from worker.logsetup import configure_logging
from worker.render.json import dumps, run_summary, write_json
from worker.render.terminal import plan_summary, render_outcome, render_plan
from worker.render.text import literal, make_console
from worker.settings import Settings, load_settings, misspelled_variables

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Keep Zendesk organizations in step with the customer tiers that live in Salesforce.")
out = make_console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
err = make_console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary instead of the plan.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Plan and show; write nothing.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Apply even if max_change_fraction would refuse.")]
LimitOption = Annotated[int, typer.Option("--limit", min=0, help="Rows of each plan table to show (0 = all).")]


class Format(StrEnum):
    """Report formats (reconcile, report service)."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"
    MARKDOWN = "markdown"


FormatsOption = Annotated[list[Format] | None, typer.Option(
    "--format", help="Report format; repeat for several. With --output every format by default; without it, "
                     "one format is printed to stdout.")]
OutputOption = Annotated[Path | None, typer.Option("--output", help="Directory for the report files.")]
NoAlertOption = Annotated[bool, typer.Option("--no-alert", help="Do not send the Slack alert.")]


def report_formats(formats: list[Format] | None, output: Path | None) -> tuple[list[str], bool]:
    """The chosen format names, and whether stdout is one JSON document; several formats need ``--output``."""
    chosen = [f.value for f in formats or []]
    as_json = chosen == ["json"] and output is None
    if output is None and len(chosen) > 1:
        fail(ConfigError("several --format values need --output DIR (stdout takes one report)",
                         hint="add --output DIR, or give one --format"), as_json=as_json)
    return chosen, as_json


def print_error(message: str, hint: str = "") -> None:
    """Print ``error: <message>`` and ``fix: <hint>`` to stderr, redacted, each one line, text literal."""
    err.print(f"[red]error:[/red] {literal(redact(message))}", soft_wrap=True)
    if hint:
        err.print(f"[dim]fix:[/dim] {literal(redact(hint))}", soft_wrap=True)


def fail(error: TiersyncError, *, as_json: bool = False) -> None:
    """Print a one-line cause (and the fix) to stderr and exit with the error's code.

    With ``--json``, stdout also gets a document with ``exit_code``, ``error`` and ``hint``, so a
    script reading stdout sees every failure, not an empty output.
    """
    if as_json:
        document = {"exit_code": int(error.exit_code), "error": redact(error.message),
                    "hint": redact(error.hint) or None}
        sys.stdout.write(dumps(document))
    print_error(error.message, error.hint)
    raise typer.Exit(int(error.exit_code))


def prepare() -> tuple[Settings, TierFile]:
    """Settings and the tier file, logging configured, misspelled variables warned about."""
    settings = load_settings()
    configure_logging(settings.tiersync_log_level)
    for unknown in misspelled_variables():  # ignored by the settings loader, so say so
        err.print(f"[yellow]warning:[/yellow] {literal(unknown.describe())}", soft_wrap=True)
    return settings, load_tier_file(settings.tiersync_config)


class RateColumn(ProgressColumn):
    """Records a second, once known (the time left comes from the same rate)."""

    def render(self, task: Task) -> Text:
        """``1,234/s``, or nothing before the first second."""
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[ProgressSink]:
    """A rich progress bar on stderr when it is a terminal; otherwise a no-op reporter."""
    if not enabled or not err.is_terminal:
        yield lambda stage, advance, total=None: None
        return
    bars: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True) as progress:
        def report(stage: str, advance: int, total: int | None = None) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            elif total is not None:
                progress.update(bars[stage], total=total)
            progress.advance(bars[stage], advance)

        yield report


def finish(record: RunRecord, as_json: bool, limit: int, *, summary: bool = False) -> None:
    """Show a run (the plan, then what was done; or the --json document), then exit with its code.

    With ``summary``, the human output ends with the plan's one-line summary.
    """
    if as_json:
        document = run_summary(record)
        if summary and record.plan is not None:
            document["summary"] = plan_summary(record.plan)
        write_json(document, sys.stdout)
    else:
        if record.plan is not None:
            render_plan(record.plan, out, limit=limit, organizations=record.mode != "routing")
        render_outcome(record, out)
        if summary and record.plan is not None:
            out.print(f"[bold]Summary:[/bold] {literal(plan_summary(record.plan))}")
    if record.error:
        print_error(record.error, record.hint)
    raise typer.Exit(int(record.exit_code))
