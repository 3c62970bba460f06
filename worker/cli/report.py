"""``tiersync report service``: the per-tier service report (read-only: no Zendesk write)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from worker.cli.common import (
    FormatsOption,
    NoAlertOption,
    OutputOption,
    app,
    err,
    fail,
    out,
    prepare,
    progress_reporter,
    report_formats,
)
from worker.core.errors import TiersyncError
from worker.io.slack import notifier_from_settings
from worker.render.service_terminal import render_service
from worker.render.text import literal
from worker.service_report import FORMATS, ServiceRequest, run_service_report
from worker.services import build_report_store, build_service_readers

report_app = typer.Typer(no_args_is_help=True, help="Reports read from Zendesk.")
app.add_typer(report_app, name="report")


@report_app.command("service")
def service(
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="The window: tickets created in the last N "
                                                                      "days.")] = 30,
    formats: FormatsOption = None,
    output: OutputOption = None,
    no_alert: NoAlertOption = False,
) -> None:
    """Per tier: tickets, solved, first reply and resolution times, SLA achievement and CSAT, beside the targets."""
    chosen, as_json = report_formats(formats, output)
    try:
        settings, config = prepare()
        tickets, organizations, now = build_service_readers(settings, config)
        store = build_report_store(settings, "service")
        notifier = None if no_alert else notifier_from_settings(settings)
        request = ServiceRequest(days=days, formats=tuple(chosen or FORMATS) if output is not None else (),
                                 output=output, keep=settings.tiersync_reports_kept,
                                 repeat_after=settings.tiersync_alert_repeat_after,
                                 report_url=settings.tiersync_report_url)
        with progress_reporter(not as_json) as progress:
            result = run_service_report(config, tickets, organizations, now(), request, store=store,
                                        notifier=notifier, progress=progress)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    if output is None and chosen:
        sys.stdout.write(FORMATS[chosen[0]](result.document))
    else:
        render_service(result.document, out)
        for path in result.files:
            out.print(f"  wrote {literal(str(path))}")
    if result.alert != "none":
        err.print(f"slack: {literal(result.alert)}")
