"""``tiersync explain``: one account, its decision, its organization(s), and what sync would do."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from worker.cli.common import app, fail, out, prepare
from worker.cli.sync import parse_account_ids
from worker.core.config import TierFile
from worker.core.errors import ExitCode, TiersyncError
from worker.core.fieldplan import plan_field
from worker.core.plan import build_plan
from worker.engine import Services
from worker.render.text import literal
from worker.services import build_services


def explain_account(config: TierFile, services: Services, account_id: str, console: Console) -> int:
    """Print the explanation; returns the exit code (2 when the account is not in scope).

    Salesforce values and names are remote text: every one goes through :func:`~worker.render.literal`.
    """
    field = plan_field(config, services.zendesk.find_field())
    accounts = list(services.salesforce.read_ids([account_id]))
    if not accounts:
        scope = f" matching where: {config.salesforce.where}" if config.salesforce.where else ""
        console.print(f"Account {literal(account_id)} is not in Salesforce{literal(scope)}.")
        return int(ExitCode.CONFIG)
    account = accounts[0]
    organizations = services.zendesk.organizations_for([account.id])
    plan = build_plan(config, accounts, organizations, field, full=False)
    item = plan.accounts[0]
    console.print(f"[bold]{literal(account.name)}[/bold] ({literal(account.id)}), "
                  f"SystemModstamp {literal(account.modstamp)}")
    for name, value in account.fields.items():
        if name not in ("Id", "Name", "SystemModstamp"):
            console.print(f"  {literal(name)} = {literal(repr(value))}")
    console.print(f"Tier: [bold]{literal(item.decision.tier or '(none)')}[/bold] "
                  f"({literal(item.decision.source.value)}): {literal(item.decision.explanation)}")
    if not organizations:
        console.print("Zendesk: no organization has this external_id (18- or 15-character form).")
    for organization in organizations:
        console.print(literal(f"Zendesk organization {organization.id} {organization.name!r}: external_id "
                              f"{organization.external_id!r}, {config.zendesk.organization_field} = "
                              f"{organization.tier_tag!r}"))
    verdict = item.outcome.value + (f" ({item.reason.value})" if item.reason else "")
    target = f" -> {item.target_tag}" if item.target_tag and item.outcome.value == "set_tier" else ""
    detail = f": {item.detail}" if item.detail else ""
    console.print(f"Sync would: [bold]{literal(verdict)}[/bold]{literal(target + detail)}")
    return int(ExitCode.OK)


@app.command()
def explain(account_id: Annotated[str, typer.Argument(help="A Salesforce Account Id.")]) -> None:
    """Show how an account's tier is decided and what a sync would do to its organization."""
    try:
        (canonical,) = parse_account_ids([account_id])
        settings, config = prepare()
        services = build_services(settings, config)
        raise typer.Exit(explain_account(config, services, canonical, out))
    except TiersyncError as error:
        fail(error)
