"""``tiersync doctor``: check everything a sync needs, say what to fix, exit with the worst code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console

from worker.core import config as tier_config
from worker.core.errors import ExitCode, TiersyncError
from worker.core.fieldplan import plan_field
from worker.core.redaction import redact
from worker.render import literal
from worker.services import build_services, configure_logging
from worker.settings import load_settings, misspelled_variables


class _Checks:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.worst = ExitCode.OK

    def ok(self, text: str) -> None:
        """Print a passed check; ``text`` is shown literally (it may hold remote text)."""
        self.console.print(f"[green]✓[/green] {literal(text)}")

    def warn(self, text: str) -> None:
        """Print a warning; ``text`` is shown literally (it may hold remote text)."""
        self.console.print(f"[yellow]![/yellow] {literal(text)}")

    def run(self, label: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except TiersyncError as error:
            self.console.print(f"[red]✗[/red] {literal(label)}: {literal(redact(error.message))}")
            if error.hint:
                self.console.print(f"    fix: {literal(redact(error.hint))}")
            self.worst = max(self.worst, error.exit_code) if self.worst else error.exit_code
            return None


def run_doctor(console: Console) -> int:
    """Run every check in order; later checks are skipped when what they need failed."""
    checks = _Checks(console)
    settings = checks.run("environment", load_settings)
    if settings is None:
        return int(checks.worst)
    configure_logging(settings.tiersync_log_level)
    for unknown in misspelled_variables():
        checks.warn(f"{unknown.describe()}; it is ignored")
    config = checks.run("tier file", lambda: tier_config.load(settings.tiersync_config))
    if config is not None:
        checks.ok(f"tier file {settings.tiersync_config}: {len(config.tiers)} tiers, {len(config.rules)} rules")
    if checks.run("credentials", settings.check) is None and checks.worst:
        return int(checks.worst)
    checks.ok(f"Salesforce sign-in mode: {settings.salesforce_auth().value}; Zendesk: {settings.zendesk_url}")
    if config is None:
        return int(checks.worst)
    services = checks.run("connect", lambda: build_services(settings, config))
    if services is None:
        return int(checks.worst)
    _state(checks, services)
    _salesforce(checks, services, config)
    _zendesk(checks, services, config)
    if checks.worst == ExitCode.OK:
        checks.ok("ready to sync")
    return int(checks.worst)


def _salesforce(checks: _Checks, services: Any, config: tier_config.TierConfigFile) -> None:
    names = checks.run("Salesforce", services.salesforce.field_names)
    if names is None:
        return
    wanted = [f for f in config.soql_fields if f.lower() not in names]
    if wanted:
        checks.console.print(f"[red]✗[/red] Salesforce {literal(config.salesforce.object)} lacks field(s) "
                             f"{literal(', '.join(wanted))}")
        checks.console.print("    fix: correct salesforce.tier_field / salesforce.fields in the tier file")
        checks.worst = checks.worst or ExitCode.REMOTE_STATE
    else:
        checks.ok(f"Salesforce {config.salesforce.object} has every field the tier file reads")
    found = checks.run("Salesforce query (fields and salesforce.where)", services.salesforce.check_scope)
    if found is not None:
        scope = " with salesforce.where" if config.salesforce.where else ""
        (checks.ok if found else checks.warn)(
            f"Salesforce query{scope} runs" + ("" if found else f"; it matches no {config.salesforce.object} yet"))
    usage = checks.run("Salesforce API usage", services.salesforce.daily_usage)
    if usage is not None:
        line = f"Salesforce API usage {usage.used:,}/{usage.total:,} ({usage.fraction:.0%})"
        (checks.warn if usage.fraction >= config.salesforce.max_api_usage_fraction else checks.ok)(line)


def _state(checks: _Checks, services: Any) -> None:
    described = checks.run("run state", services.state.check)
    if described is not None:
        checks.ok(f"run state: {described}")


def _zendesk(checks: _Checks, services: Any, config: tier_config.TierConfigFile) -> None:
    me = checks.run("Zendesk", services.zendesk.me)
    if me is None:
        return
    if me.get("role") == "admin":
        checks.ok(f"Zendesk user is an admin ({me.get('email')})")
    else:
        checks.console.print(f"[red]✗[/red] Zendesk user role is {literal(repr(me.get('role')))}, not admin")
        checks.console.print("    fix: use an admin's API token; organization fields and update_many need one")
        checks.worst = checks.worst or ExitCode.AUTH
    state = checks.run("Zendesk organization field", services.zendesk.find_field)
    plan = checks.run("Zendesk organization field", lambda: plan_field(config, state))
    if plan is None:
        return
    if plan.action == "create":
        checks.warn(f"organization field {plan.key!r} does not exist yet; the first sync creates it")
    elif plan.action == "update":
        checks.warn(f"organization field {plan.key!r} lacks or misnames options; the next sync fixes them")
    else:
        checks.ok(f"organization field {plan.key!r} has an option for every tier")
    if plan.foreign_options:
        checks.warn(f"options not in the tier file (kept, never removed): {', '.join(plan.foreign_options)}")
