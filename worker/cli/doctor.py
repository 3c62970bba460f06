"""``tiersync doctor``: check everything a sync needs, say what to fix, exit with the worst code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from worker.cli.common import app, out
from worker.core.actions import Action
from worker.core.config import TierFile, load_tier_file
from worker.core.errors import ExitCode, TiersyncError
from worker.core.fieldplan import plan_field
from worker.core.ports import SalesforceChecks, StateStore, ZendeskChecks
from worker.core.redaction import redact
from worker.logsetup import configure_logging
from worker.render.text import literal
from worker.services import build_services
from worker.settings import load_settings, misspelled_variables

FAILED: Any = object()
"""What :meth:`_Checks.run` returns for a check that failed (None can be a check's real answer)."""


class _Checks:
    """Prints each check's verdict and keeps the worst exit code (the highest number)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.worst = ExitCode.OK

    def ok(self, text: str) -> None:
        """Print a passed check; ``text`` is shown literally (it may hold remote text)."""
        self.console.print(f"[green]✓[/green] {literal(text)}")

    def warn(self, text: str) -> None:
        """Print a warning; ``text`` is shown literally (it may hold remote text)."""
        self.console.print(f"[yellow]![/yellow] {literal(text)}")

    def fail(self, text: str, hint: str, code: ExitCode) -> None:
        """Print a failed check and its fix, and remember its exit code."""
        self.console.print(f"[red]✗[/red] {literal(redact(text))}")
        if hint:
            self.console.print(f"    fix: {literal(redact(hint))}")
        self.worst = max(self.worst, code)

    def run(self, label: str, check: Callable[[], Any]) -> Any:
        """``check()``'s answer, or FAILED after printing why."""
        try:
            return check()
        except TiersyncError as error:
            self.fail(f"{label}: {error.message}", error.hint, error.exit_code)
            return FAILED


def run_doctor(console: Console) -> int:
    """Run every check in order; later checks are skipped when what they need failed."""
    checks = _Checks(console)
    settings = checks.run("environment", load_settings)
    if settings is FAILED:
        return int(checks.worst)
    configure_logging(settings.tiersync_log_level)
    for unknown in misspelled_variables():
        checks.warn(f"{unknown.describe()}; it is ignored")
    config = checks.run("tier file", lambda: load_tier_file(settings.tiersync_config))
    if config is not FAILED:
        checks.ok(f"tier file {settings.tiersync_config}: {len(config.tiers)} tiers, {len(config.rules)} rules")
    if checks.run("credentials", settings.check) is FAILED:
        return int(checks.worst)
    checks.ok(f"Salesforce sign-in mode: {settings.salesforce_auth().value}; Zendesk: {settings.zendesk_url}")
    if config is FAILED:
        return int(checks.worst)
    services = checks.run("connect", lambda: build_services(settings, config))
    if services is FAILED:
        return int(checks.worst)
    _state(checks, services.state)
    _salesforce(checks, services.salesforce, config)  # the real reader and client have the checks
    _zendesk(checks, services.zendesk, config)
    if checks.worst == ExitCode.OK:
        checks.ok("ready to sync")
    return int(checks.worst)


def _salesforce(checks: _Checks, salesforce: SalesforceChecks, config: TierFile) -> None:
    names = checks.run("Salesforce", salesforce.field_names)
    if names is FAILED:
        return
    wanted = [f for f in config.soql_fields if f.lower() not in names]
    if wanted:
        checks.fail(f"Salesforce {config.salesforce.object} lacks field(s) {', '.join(wanted)}",
                    "correct salesforce.tier_field / salesforce.fields in the tier file", ExitCode.REMOTE_STATE)
    else:
        checks.ok(f"Salesforce {config.salesforce.object} has every field the tier file reads")
    found = checks.run("Salesforce query (fields and salesforce.where)", salesforce.check_scope)
    if found is not FAILED:
        scope = " with salesforce.where" if config.salesforce.where else ""
        (checks.ok if found else checks.warn)(
            f"Salesforce query{scope} runs" + ("" if found else f"; it matches no {config.salesforce.object} yet"))
    usage = checks.run("Salesforce API usage", salesforce.daily_usage)
    if usage not in (None, FAILED):
        line = f"Salesforce API usage {usage.used:,}/{usage.total:,} ({usage.fraction:.0%})"
        (checks.warn if usage.fraction >= config.salesforce.max_api_usage_fraction else checks.ok)(line)


def _state(checks: _Checks, state: StateStore) -> None:
    described = checks.run("run state", state.check)
    if described is not FAILED:
        checks.ok(f"run state: {described}")


def _zendesk(checks: _Checks, zendesk: ZendeskChecks, config: TierFile) -> None:
    me = checks.run("Zendesk", zendesk.me)
    if me is FAILED:
        return
    if me.get("role") == "admin":
        checks.ok(f"Zendesk user is an admin ({me.get('email')})")
    else:
        checks.fail(f"Zendesk user role is {me.get('role')!r}, not admin",
                    "use an admin's API token; organization fields and update_many need one", ExitCode.AUTH)
    state = checks.run("Zendesk organization field", zendesk.find_field)
    if state is FAILED:
        return
    plan = checks.run("Zendesk organization field", lambda: plan_field(config, state))
    if plan is FAILED:
        return
    if plan.action is Action.CREATE:
        checks.warn(f"organization field {plan.key!r} does not exist yet; the first sync creates it")
    elif plan.action is Action.UPDATE:
        checks.warn(f"organization field {plan.key!r} lacks or misnames options; the next sync fixes them")
    else:
        checks.ok(f"organization field {plan.key!r} has an option for every tier")
    if plan.foreign_options:
        checks.warn(f"options not in the tier file (kept, never removed): {', '.join(plan.foreign_options)}")


@app.command()
def doctor() -> None:
    """Check configuration, credentials, the Zendesk field and admin rights; say what to fix."""
    raise typer.Exit(run_doctor(out))
