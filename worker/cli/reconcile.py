"""``tiersync reconcile``: compare both sides in full, report every difference, tell Slack, optionally fix."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from worker.cli.common import (
    ForceOption,
    FormatsOption,
    LimitOption,
    NoAlertOption,
    OutputOption,
    app,
    err,
    fail,
    out,
    prepare,
    print_error,
    report_formats,
)
from worker.core.errors import TiersyncError
from worker.io.slack import notifier_from_settings
from worker.reconcile import FORMATS, ReconcileRequest, run_reconcile
from worker.render.report_terminal import render_report
from worker.render.text import literal
from worker.services import build_report_store, build_services


@app.command()
def reconcile(
    formats: FormatsOption = None,
    output: OutputOption = None,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the plan that removes the drift (same safety rails and "
                                                    "run lock as sync).")] = False,
    force: ForceOption = False,
    fail_on_drift: Annotated[bool, typer.Option("--fail-on-drift", help="Exit 10 when drift exists.")] = False,
    no_alert: NoAlertOption = False,
    limit: LimitOption = 20,
) -> None:
    """Read both sides in full, classify every account, keep and write the report, alert Slack on new drift."""
    chosen, as_json = report_formats(formats, output)
    try:
        settings, config = prepare()
        services = build_services(settings, config)
        store = build_report_store(settings)
        notifier = None if no_alert else notifier_from_settings(settings)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    request = ReconcileRequest(fix=fix, force=force, fail_on_drift=fail_on_drift,
                               formats=tuple(chosen or FORMATS) if output is not None else (), output=output,
                               keep=settings.tiersync_reports_kept, repeat_after=settings.tiersync_alert_repeat_after,
                               report_url=settings.tiersync_report_url, lock_wait=settings.tiersync_lock_wait)
    try:
        result = run_reconcile(config, services, store, request, notifier)
    except TiersyncError as error:  # writing the report files or the kept summaries failed
        fail(error, as_json=as_json)
    if result.document is None:
        print_error(result.record.error or "the reconciliation could not read both sides", result.record.hint)
        raise typer.Exit(result.exit_code)
    if output is None and chosen:
        sys.stdout.write(FORMATS[chosen[0]](result.document))
    else:
        render_report(result.document, out, limit=limit)
        for path in result.files:
            out.print(f"  wrote {literal(str(path))}")
    if result.alert != "none":
        err.print(f"slack: {literal(result.alert)}")
    if result.record.error:
        print_error(result.record.error, result.record.hint)
    raise typer.Exit(result.exit_code)
