"""The ``tiersync`` command. Thin: parse options, load settings and the tier file, call the engine.

Exit codes (README.md, "Exit codes"): 0 ok, 1 internal error, 2 bad configuration or input (before
any API call), 3 credentials or permission, 4 unreachable, 5 rate limit or quota, 6 plan refused
by a safety rail, 7 remote state does not fit the configuration, 8 some writes failed, 9 another
writing run holds the lock.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from worker.core.config import TierFile, load_tier_file
from worker.core.errors import ConfigError, ExitCode, TiersyncError
from worker.core.ids import InvalidSalesforceId, to_18
from worker.core.ports import ProgressSink
from worker.core.record import RunRecord
from worker.core.redaction import redact
from worker.engine import SyncRequest, run_sync
from worker.envnames import mentions_a_service
from worker.render.json import dumps, run_summary
from worker.render.terminal import render_outcome, render_plan
from worker.render.text import literal, make_console
from worker.services import build_services, configure_logging
from worker.settings import Settings, load_settings, misspelled_variables, variable_sources

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Keep Zendesk organizations in step with the customer tiers that live in Salesforce.")
out = make_console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
err = make_console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary instead of the plan.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Plan and show; write nothing.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Apply even if max_change_fraction would refuse.")]
LimitOption = Annotated[int, typer.Option("--limit", min=0, help="Rows of each plan table to show (0 = all).")]


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


def _prepare() -> tuple[Settings, TierFile]:
    settings = load_settings()
    configure_logging(settings.tiersync_log_level)
    for unknown in misspelled_variables():  # ignored by the settings loader, so say so
        err.print(f"[yellow]warning:[/yellow] {literal(unknown.describe())}", soft_wrap=True)
    return settings, load_tier_file(settings.tiersync_config)


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[ProgressSink]:
    """A rich progress bar on stderr when it is a terminal; otherwise a no-op reporter."""
    if not enabled or not err.is_terminal:
        yield lambda stage, advance, total=None: None
        return
    bars: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        def report(stage: str, advance: int, total: int | None = None) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            elif total is not None:
                progress.update(bars[stage], total=total)
            progress.advance(bars[stage], advance)

        yield report


def _finish(record: RunRecord, as_json: bool, limit: int) -> None:
    if as_json:
        sys.stdout.write(dumps(run_summary(record)))
    else:
        if record.plan is not None:
            render_plan(record.plan, out, limit=limit)
        render_outcome(record, out)
    if record.error:
        print_error(record.error, record.hint)
    raise typer.Exit(int(record.exit_code))


def _sync(request: SyncRequest, as_json: bool, limit: int) -> None:
    try:
        settings, config = _prepare()
        services = build_services(settings, config)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    with progress_reporter(not as_json) as report:
        record = run_sync(config, services, request, progress=report)
    _finish(record, as_json, limit)


@app.command()
def sync(full: Annotated[bool, typer.Option("--full", help="Read every account and organization.")] = False,
         dry_run: DryRunOption = False, force: ForceOption = False, as_json: JsonOption = False,
         limit: LimitOption = 20) -> None:
    """Sync tiers: incremental by default (accounts changed since the last run), or --full."""
    _sync(SyncRequest(mode="full" if full else "incremental", dry_run=dry_run, force=force), as_json, limit)


def parse_account_ids(raw: list[str]) -> tuple[str, ...]:
    """Canonical 18-character ids, or a ConfigError naming the bad one (before any API call)."""
    ids = []
    for value in raw:
        try:
            ids.append(to_18(value))
        except InvalidSalesforceId as exc:
            raise ConfigError(f"account id {value!r}: {exc}", hint="pass 15- or 18-character Account Ids") from None
    return tuple(dict.fromkeys(ids))


@app.command()
def resync(account_ids: Annotated[list[str] | None, typer.Argument(help="Salesforce Account Ids.")] = None,
           all_accounts: Annotated[bool, typer.Option("--all", help="Re-check every account (a full sync).")] = False,
           dry_run: DryRunOption = False, force: ForceOption = False, as_json: JsonOption = False,
           limit: LimitOption = 20) -> None:
    """Re-read the given accounts (or --all) and put their organizations right."""
    if bool(account_ids) == all_accounts:
        fail(ConfigError("give account ids or --all, not both and not neither",
                         hint="e.g. tiersync resync 001A000001abcdeAAA"), as_json=as_json)
    try:
        ids = parse_account_ids(account_ids or [])
    except TiersyncError as error:
        fail(error, as_json=as_json)
    request = SyncRequest(mode="full", dry_run=dry_run, force=force) if all_accounts else \
        SyncRequest(mode="ids", account_ids=ids, dry_run=dry_run, force=force)
    _sync(request, as_json, limit)


@app.command()
def explain(account_id: Annotated[str, typer.Argument(help="A Salesforce Account Id.")]) -> None:
    """Show how an account's tier is decided and what a sync would do to its organization."""
    from worker.explain import explain_account

    try:
        (canonical,) = parse_account_ids([account_id])
        settings, config = _prepare()
        services = build_services(settings, config)
        raise typer.Exit(explain_account(config, services, canonical, out))
    except TiersyncError as error:
        fail(error)


@app.command()
def doctor() -> None:
    """Check configuration, credentials, the Zendesk field and admin rights; say what to fix."""
    from worker.doctor import run_doctor

    raise typer.Exit(run_doctor(out))


@app.command()
def demo(accounts: Annotated[int, typer.Option(min=1, max=100_000, help="Accounts to seed in the sandbox.")] = 200,
         as_json: JsonOption = False, limit: LimitOption = 10) -> None:
    """Run a full sync against the built-in sandbox (no credentials needed), then a second run."""
    from worker.demo import run_demo

    raise typer.Exit(run_demo(out, accounts=accounts, as_json=as_json, limit=limit))


@app.command()
def run() -> None:
    """The main job: an incremental sync when credentials are configured, else the demo."""
    try:
        settings = load_settings()
        _refuse_misspelled_variables()
    except TiersyncError as error:
        fail(error)
    if settings.has_credentials or mentions_a_service(variable_sources()):
        _sync(SyncRequest(mode="incremental"), as_json=False, limit=20)
    else:
        out.print("No Salesforce/Zendesk credentials configured: running the demo against the built-in sandbox.")
        demo(accounts=200, as_json=False, limit=10)


def _refuse_misspelled_variables() -> None:
    """``run`` must not take a misspelled credential for "no credentials" and run the demo instead."""
    unknown = misspelled_variables()
    if unknown:
        raise ConfigError("; ".join(u.describe() for u in unknown),
                          hint="correct the name (config/.env.example lists every variable), or unset it")


def main() -> None:
    """Console-script entry point: unexpected errors exit 1 with a redacted one-line cause."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback, no secrets
        err.print(f"[red]internal error:[/red] {literal(f'{type(exc).__name__}: {redact(str(exc))[:300]}')}")
        err.print("[dim]fix:[/dim] this is a tiersync bug; re-run with TIERSYNC_LOG_LEVEL=DEBUG and report it")
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":
    main()
