"""``tiersync demo``: the whole path against the built-in sandbox, with no credentials and no Redis."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from worker.cli.common import JsonOption, LimitOption, app, fail, out
from worker.core.config import load_tier_file
from worker.core.errors import ExitCode, TiersyncError
from worker.core.record import RunRecord
from worker.engine import ROUTING_SECTIONS, SyncRequest, run_sync
from worker.logsetup import configure_logging
from worker.render.json import dumps, run_summary
from worker.render.terminal import render_outcome, render_plan
from worker.render.text import literal
from worker.services import build_services
from worker.settings import Settings, load_settings


def demo_config_path() -> Path:
    """The tier file the demo uses (shipped inside the package; same content as config/tiers.yaml)."""
    return Path(str(resources.files("worker").joinpath("demo-tiers.yaml")))


def run_demo(console: Console, *, accounts: int = 200, as_json: bool = False, limit: int = 10) -> int:
    """Start the sandbox, seed it, run a full sync, an incremental one, and the routing apply twice; print all."""
    from worker.sandbox.seed import seed_demo
    from worker.sandbox.server import Sandbox

    config = load_tier_file(demo_config_path())
    with Sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="tiersync-demo-") as state_dir:
        seeded = seed_demo(sandbox, accounts=accounts, seed=42)
        # The sandbox CA reaches every request through Settings (REQUESTS_CA_BUNDLE); os.environ is left alone.
        values = {k.lower(): v for k, v in sandbox.env().items()}
        settings = Settings.model_validate(values | {"tiersync_state_dir": state_dir})
        services = build_services(settings, config)
        if not as_json:
            console.print(f"[bold]tiersync demo[/bold]: sandbox Salesforce {literal(sandbox.salesforce_url)} and "
                          f"Zendesk {literal(sandbox.zendesk_url)}")
            console.print(f"Seeded {seeded.accounts:,} accounts ({seeded.customers:,} customers in scope; "
                          f"{seeded.unknown_tiers + seeded.blank_tiers} with unknown or blank tiers) and "
                          f"{seeded.organizations:,} organizations ({seeded.orgs_15} with 15-character and "
                          f"{seeded.orgs_lowercase} with lower-cased external ids, {seeded.duplicates} duplicated, "
                          f"{seeded.without_org} accounts without one, {seeded.orphan_orgs} orphans).")
            console.rule("First run: tiersync sync --full")
        runs = {"first_run": run_sync(config, services, SyncRequest(mode="full")),
                "second_run": run_sync(config, services, SyncRequest(mode="incremental")),
                "routing_apply": run_sync(config, services, SyncRequest(mode="full", sections=ROUTING_SECTIONS)),
                "routing_again": run_sync(config, services, SyncRequest(mode="full", sections=ROUTING_SECTIONS))}
    if as_json:
        console.file.write(dumps({name: run_summary(record) for name, record in runs.items()}))
    else:
        _show(runs, console, limit)
    worst = max(int(record.exit_code) for record in runs.values())
    return worst if worst != ExitCode.PARTIAL else int(ExitCode.OK)


_TITLES = {"second_run": "Second run: tiersync sync (incremental; nothing changed, so nothing is written)",
           "routing_apply": "Third run: tiersync routing apply (a trigger, a view and an SLA policy per tier)",
           "routing_again": "Fourth run: tiersync routing apply again (everything in step, nothing is written)"}


def _show(runs: dict[str, RunRecord], console: Console, limit: int) -> None:
    for name, record in runs.items():
        if name in _TITLES:
            console.rule(_TITLES[name])
        if record.plan is not None and name in ("first_run", "routing_apply"):
            render_plan(record.plan, console, limit=limit, organizations=record.mode != "routing")
        render_outcome(record, console)
        if record.error:
            console.print(f"[red]error:[/red] {literal(record.error)}")


@app.command()
def demo(accounts: Annotated[int, typer.Option(min=1, max=100_000, help="Accounts to seed in the sandbox.")] = 200,
         as_json: JsonOption = False, limit: LimitOption = 10) -> None:
    """Run a full sync, an incremental one and the routing apply (twice) against the built-in sandbox."""
    try:
        configure_logging(load_settings().tiersync_log_level)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    raise typer.Exit(run_demo(out, accounts=accounts, as_json=as_json, limit=limit))
