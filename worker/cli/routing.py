"""``tiersync routing plan|apply`` and ``tiersync plan``: routing as a section of the one plan."""

from __future__ import annotations

from typing import Annotated

import typer

from worker.cli.common import JsonOption, LimitOption, app
from worker.cli.sync import run_request
from worker.engine import ALL_SECTIONS, ROUTING_SECTIONS, SyncRequest

routing_app = typer.Typer(no_args_is_help=True, help="Per-tier triggers, views and SLA policies from the tier file.")
app.add_typer(routing_app, name="routing")


@routing_app.command("plan")
def routing_plan(as_json: JsonOption = False) -> None:
    """Show what `routing apply` would create, update (attribute by attribute) and delete; write nothing."""
    run_request(SyncRequest(mode="full", dry_run=True, sections=ROUTING_SECTIONS), as_json, limit=20)


@routing_app.command("apply")
def routing_apply(
        force: Annotated[bool, typer.Option("--force", help="Create again even when Zendesk lists none of the "
                                                              "objects the last apply left.")] = False,
        as_json: JsonOption = False) -> None:
    """Create, update and delete the managed triggers, views and SLA policies (holds the run lock)."""
    run_request(SyncRequest(mode="full", force=force, sections=ROUTING_SECTIONS), as_json, limit=20)


@app.command("plan")
def plan(full: Annotated[bool, typer.Option("--full", help="Read every account and organization.")] = False,
         as_json: JsonOption = False, limit: LimitOption = 20) -> None:
    """Show the organization changes and the routing changes together; write nothing."""
    request = SyncRequest(mode="full" if full else "incremental", dry_run=True, sections=ALL_SECTIONS)
    run_request(request, as_json, limit, summary=True)

