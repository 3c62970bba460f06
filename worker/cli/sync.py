"""``tiersync sync``, ``resync`` and ``run``: the one path, from the command line."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated

import typer

from worker.cli.common import (
    DryRunOption,
    ForceOption,
    JsonOption,
    LimitOption,
    app,
    fail,
    finish,
    out,
    prepare,
    progress_reporter,
)
from worker.core.config import TierFile, load_tier_file
from worker.core.errors import ConfigError, TiersyncError
from worker.core.ids import InvalidSalesforceId, to_18
from worker.engine import SyncRequest, run_sync
from worker.envnames import mentions_a_service
from worker.render.json import dumps
from worker.services import build_services
from worker.settings import load_settings, misspelled_variables, variable_sources


def run_request(request: SyncRequest, as_json: bool, limit: int, *, summary: bool = False) -> None:
    """Load settings and the tier file, walk the one path with ``request``, show the run, exit with its code."""
    try:
        settings, config = prepare()
        if request.tier is not None:
            _known_tier(request.tier, config)
        services = build_services(settings, config)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    request = replace(request, lock_wait=settings.tiersync_lock_wait)
    with progress_reporter(not as_json) as report:
        record = run_sync(config, services, request, progress=report)
    finish(record, as_json, limit, summary=summary)


@app.command()
def sync(full: Annotated[bool, typer.Option("--full", help="Read every account and organization.")] = False,
         dry_run: DryRunOption = False, force: ForceOption = False, as_json: JsonOption = False,
         limit: LimitOption = 20,
         prune_options: Annotated[bool, typer.Option(
             "--prune-options", help="With --full: remove dropdown options that no tier uses and no organization "
                                     "holds.")] = False) -> None:
    """Sync tiers: incremental by default (accounts changed since the last run), or --full."""
    if prune_options and not full:
        fail(ConfigError("--prune-options needs --full: only a full read knows that no organization holds an option",
                         hint="run tiersync sync --full --prune-options"), as_json=as_json)
    request = SyncRequest(mode="full" if full else "incremental", dry_run=dry_run, force=force,
                          prune_options=prune_options)
    run_request(request, as_json, limit)


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
           limit: LimitOption = 20,
           enqueue: Annotated[bool, typer.Option("--enqueue", help="Queue it for the workers; print the task id.")]
           = False,
           tier: Annotated[str | None, typer.Option("--tier", help="Re-check the accounts of this tier (its name).")]
           = None) -> None:
    """Re-read the given accounts (or --all, or --tier) and put their organizations right (inline, or --enqueue)."""
    if sum((bool(account_ids), all_accounts, tier is not None)) != 1:
        fail(ConfigError("give account ids, --all or --tier NAME: exactly one of them",
                         hint="e.g. tiersync resync 001A000001abcdeAAA, or tiersync resync --tier enterprise"),
             as_json=as_json)
    try:
        ids = parse_account_ids(account_ids or [])
    except TiersyncError as error:
        fail(error, as_json=as_json)
    if enqueue:
        _enqueue(list(ids) or None, tier, dry_run=dry_run, as_json=as_json)
    if ids:
        request = SyncRequest(mode="ids", account_ids=ids, dry_run=dry_run, force=force)
    else:
        request = SyncRequest(mode="full", dry_run=dry_run, force=force, tier=tier)
    run_request(request, as_json, limit)


def _known_tier(name: str, config: TierFile) -> None:
    names = config.tier_names
    if name not in names:
        raise ConfigError(f"--tier {name!r} is not a tier of the tier file", hint=f"use one of {', '.join(names)}")


def _enqueue(account_ids: list[str] | None, tier: str | None, *, dry_run: bool, as_json: bool) -> None:
    """Put a resync on the Celery queue (REDIS_URL) and exit 0 with its task id; nothing runs here."""
    try:
        if dry_run:
            raise ConfigError("--enqueue and --dry-run do not go together", hint="drop one of them")
        settings = load_settings()
        if tier is not None:
            _known_tier(tier, load_tier_file(settings.tiersync_config))
        if settings.redis_url is None:
            raise ConfigError("--enqueue needs REDIS_URL: the queue lives in Redis",
                              hint="set REDIS_URL to the workers' Redis, or run without --enqueue")
        from worker.tasks import enqueue_resync

        task_id = enqueue_resync(account_ids, tier)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    what = f"{len(account_ids)} account(s)" if account_ids else (f"tier {tier}" if tier else "every account")
    if as_json:
        sys.stdout.write(dumps({"task_id": task_id, "accounts": account_ids or "all", "tier": tier}))
    else:
        out.print(f"queued a resync of {what}: task {task_id}")
    raise typer.Exit(0)


@app.command()
def run() -> None:
    """The main job: an incremental sync when credentials are configured, else the demo."""
    try:
        settings = load_settings()
        _refuse_misspelled_variables()
    except TiersyncError as error:
        fail(error)
    if settings.has_credentials or mentions_a_service(variable_sources()):
        run_request(SyncRequest(mode="incremental"), as_json=False, limit=20)
    else:
        out.print("No Salesforce/Zendesk credentials configured: running the demo against the built-in sandbox.")
        from worker.cli.demo import demo

        demo(accounts=200, as_json=False, limit=10)


def _refuse_misspelled_variables() -> None:
    """``run`` must not take a misspelled credential for "no credentials" and run the demo instead."""
    unknown = misspelled_variables()
    if unknown:
        raise ConfigError("; ".join(u.describe() for u in unknown),
                          hint="correct the name (config/.env.example lists every variable), or unset it")
