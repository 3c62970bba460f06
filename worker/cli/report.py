"""``tiersync report service``: the per-tier service report (read-only: no Zendesk write)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from worker.cli.common import app, err, fail, out, prepare, progress_reporter
from worker.cli.reconcile import Format
from worker.core.errors import ConfigError, TiersyncError
from worker.io.slack import notifier_from_settings
from worker.render.service_terminal import render_service
from worker.render.text import literal
from worker.service_report import FORMATS, ServiceRequest, run_service_report
from worker.services import build_service_readers, build_services_report_store

report_app = typer.Typer(no_args_is_help=True, help="Reports read from Zendesk.")
app.add_typer(report_app, name="report")


@report_app.command("service")
def service(
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="The window: tickets created in the last N "
                                                                      "days.")] = 30,
    formats: Annotated[list[Format] | None, typer.Option(
        "--format", help="Report format; repeat for several. With --output every format by default; without it, "
                         "one format is printed to stdout.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Directory for the report files.")] = None,
    no_alert: Annotated[bool, typer.Option("--no-alert", help="Do not send the Slack alert.")] = False,
) -> None:
    """Per tier: tickets, solved, first reply and resolution times, SLA achievement and CSAT, beside the targets."""
    chosen = [f.value for f in formats or []]
    as_json = chosen == ["json"] and output is None
    if output is None and len(chosen) > 1:
        fail(ConfigError("several --format values need --output DIR (stdout takes one report)",
                         hint="add --output DIR, or give one --format"), as_json=as_json)
    try:
        settings, config = prepare()
        tickets, organizations, now = build_service_readers(settings, config)
        store = build_services_report_store(settings)
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
