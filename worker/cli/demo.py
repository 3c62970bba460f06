"""``tiersync demo``: the whole path against the built-in sandbox, with no credentials and no Redis."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from worker.cli.common import JsonOption, LimitOption, app, fail, out
from worker.core.config import TierFile, load_tier_file
from worker.core.errors import ExitCode, TiersyncError
from worker.core.record import RunRecord
from worker.engine import ROUTING_SECTIONS, SyncRequest, run_sync
from worker.logsetup import configure_logging
from worker.render.json import dumps, run_summary
from worker.render.service_terminal import render_service
from worker.render.terminal import render_outcome, render_plan
from worker.render.text import literal
from worker.service_report import ServiceRequest, run_service_report
from worker.services import build_service_readers, build_services
from worker.settings import Settings, load_settings

if TYPE_CHECKING:
    from worker.sandbox.server import Sandbox


def demo_config_path() -> Path:
    """The tier file the demo uses (shipped inside the package; same content as config/tiers.yaml)."""
    return Path(str(resources.files("worker").joinpath("demo-tiers.yaml")))


def run_demo(console: Console, *, accounts: int = 200, as_json: bool = False, limit: int = 10) -> int:
    """Run the demo in the sandbox and print every run.

    A full sync, an idle incremental one, people changing both sides, an incremental sync that restores the
    hand edits and lists the removal, then the routing applied twice.
    """
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
        runs = {"first_run": run_sync(config, services, SyncRequest(mode="full"))}
        sandbox.advance(61)  # the demo skips ahead instead of waiting: the export leaves out the last minute
        runs["second_run"] = run_sync(config, services, SyncRequest(mode="incremental"))
        edits = _people_change_both_sides(sandbox, config.zendesk.organization_field)
        sandbox.advance(61)
        runs["hand_edits"] = run_sync(config, services, SyncRequest(mode="incremental"))
        runs["routing_apply"] = run_sync(config, services, SyncRequest(mode="full", sections=ROUTING_SECTIONS))
        runs["routing_again"] = run_sync(config, services, SyncRequest(mode="full", sections=ROUTING_SECTIONS))
        service = _service_report(sandbox, settings, config)
    if as_json:
        console.file.write(dumps({**{name: run_summary(record) for name, record in runs.items()},
                                  "service_report": service}))
    else:
        _show(runs, console, limit, edits)
        console.rule("Sixth run: tiersync report service (300 seeded tickets, the last 30 days)")
        render_service(service, console)
    worst = max(int(record.exit_code) for record in runs.values())
    return worst if worst != ExitCode.PARTIAL else int(ExitCode.OK)


def _service_report(sandbox: Sandbox, settings: Settings, config: TierFile) -> dict[str, Any]:
    """Seed tickets on the synced organizations and read the per-tier service report back."""
    from worker.sandbox.seed import seed_tickets

    seed_tickets(sandbox, count=300, days=30, seed=42, tier_tags=[tier.tag for tier in config.tiers],
                 field_key=config.zendesk.organization_field)
    tickets, organizations, now = build_service_readers(settings, config)
    return run_service_report(config, tickets, organizations, now(), ServiceRequest(days=30)).document


def _people_change_both_sides(sandbox: Sandbox, field_key: str) -> list[str]:
    """An agent clears one organization's tier and sets another's by hand; an account is deleted in Salesforce."""
    zendesk, salesforce = sandbox.zendesk, sandbox.salesforce
    synced = sorted(org_id for org_id, org in zendesk.organizations.items()
                    if org["organization_fields"].get(field_key) and org.get("external_id"))
    cleared, changed, owner = synced[0], synced[1], synced[2]
    zendesk.set_org_field(cleared, field_key, None)
    before = zendesk.organizations[changed]["organization_fields"][field_key]
    other = "tier_starter" if before != "tier_starter" else "tier_enterprise"
    zendesk.set_org_field(changed, field_key, other)
    external = str(zendesk.organizations[owner]["external_id"]).lower()[:15]
    account_id = next(i for i in salesforce.accounts if i.lower()[:15] == external)
    salesforce.delete_account(account_id)
    names = {org_id: zendesk.organizations[org_id]["name"] for org_id in (cleared, changed, owner)}
    return [f"an agent clears the tier of {names[cleared]} (organization {cleared})",
            f"an agent changes {names[changed]} (organization {changed}) from {before} to {other}",
            f"an account is deleted in Salesforce: {account_id}, whose organization {names[owner]} keeps its tier",
            "a minute later (the export leaves out the last minute), the next scheduled sync runs:"]


_TITLES = {"second_run": "Second run: tiersync sync (incremental; nothing changed, so nothing is written)",
           "hand_edits": "Third run: tiersync sync (incremental; restores the hand edits, lists the removal)",
           "routing_apply": "Fourth run: tiersync routing apply (a trigger, a view and an SLA policy per tier)",
           "routing_again": "Fifth run: tiersync routing apply again (everything in step, nothing is written)"}


def _show(runs: dict[str, RunRecord], console: Console, limit: int, edits: list[str]) -> None:
    for name, record in runs.items():
        if name == "hand_edits":
            console.rule("Meanwhile, people change both sides")
            for line in edits:
                console.print(f"  {literal(line)}")
        if name in _TITLES:
            console.rule(_TITLES[name])
        if record.plan is not None and name in ("first_run", "hand_edits", "routing_apply"):
            render_plan(record.plan, console, limit=limit, organizations=record.mode != "routing")
        render_outcome(record, console)
        if record.error:
            console.print(f"[red]error:[/red] {literal(record.error)}")


@app.command()
def demo(accounts: Annotated[int, typer.Option(min=1, max=100_000, help="Accounts to seed in the sandbox.")] = 200,
         as_json: JsonOption = False, limit: LimitOption = 10) -> None:
    """Sync in full, then incrementally (idle, then after hand edits), and apply routing twice, in the sandbox."""
    try:
        configure_logging(load_settings().tiersync_log_level)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    raise typer.Exit(run_demo(out, accounts=accounts, as_json=as_json, limit=limit))
