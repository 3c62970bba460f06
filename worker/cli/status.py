"""``tiersync status``: the last runs, when the scheduled jobs are due, the watermark and the run lock.

Reads only the state store and the run history (REDIS_URL, or the state directory): no Salesforce
or Zendesk call.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.cli.common import JsonOption, app, fail, out
from worker.core.config import load_tier_file
from worker.core.errors import TiersyncError
from worker.io.history import open_history
from worker.io.state import namespace_for, open_store
from worker.render.json import dumps
from worker.render.text import literal
from worker.settings import Settings, load_settings


@app.command()
def status(as_json: JsonOption = False, runs: int = 10) -> None:
    """Show the last runs, the next scheduled runs, the watermark and who holds the run lock."""
    try:
        settings = load_settings()
        document = status_document(settings, runs)
    except TiersyncError as error:
        fail(error, as_json=as_json)
    if as_json:
        sys.stdout.write(dumps(document))
    else:
        _print(document)


def status_document(settings: Settings, runs: int) -> dict[str, Any]:
    """Everything ``status`` shows, as one JSON-able document."""
    namespace = namespace_for(settings.zendesk_netloc())
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    store = open_store(redis_url, settings.tiersync_state_dir, namespace)
    state = store.load()
    recent = open_history(redis_url, settings.tiersync_state_dir, namespace).recent(runs)
    holder = store.holder()
    return {"store": "redis" if redis_url else str(settings.tiersync_state_dir),
            "watermark": state.watermark, "failed_rows": len(state.failed_ids),
            "zendesk_export_mark": _unix_iso(state.zendesk_mark), "writes_awaiting_read_back": len(state.written),
            "removals_to_retry": len(state.pending_removals),
            "salesforce_org": state.salesforce_org, "routing_objects": state.routing_objects,
            "state_problem": state.discarded, "lock_holder": holder, "runs": recent,
            "next_scheduled": _next_runs(settings, recent)}


def _next_runs(settings: Settings, recent: list[dict[str, Any]]) -> dict[str, str | None]:
    """When each beat job is next due: its last beat run plus its interval (None before the first one)."""
    jobs = {"incremental sync": ("incremental", settings.tiersync_sync_interval),
            "full sync": ("full", settings.tiersync_full_sync_interval),
            "routing apply": ("routing", settings.tiersync_routing_interval)}
    due: dict[str, str | None] = {}
    for job, (mode, interval) in jobs.items():
        last = next((r for r in recent if r.get("trigger") == "beat" and r.get("mode") == mode), None)
        started = _parse(last.get("started_at")) if last else None
        due[job] = (started + timedelta(seconds=interval)).isoformat(timespec="seconds") if started else None
    return due


def _unix_iso(moment: int | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds") if moment is not None else None


def _parse(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _print(document: dict[str, Any]) -> None:
    watermark = literal(document["watermark"] or "(none)")
    out.print(f"[bold]State[/bold] ({literal(document['store'])}): watermark {watermark}"
              f" · {document['failed_rows']} failed row(s) to retry · {document['routing_objects']} routing objects")
    mark = literal(document["zendesk_export_mark"] or "(none: the next incremental run starts watching)")
    out.print(f"  Zendesk export from {mark} · {document['writes_awaiting_read_back']:,} write(s) awaiting read-back"
              f" · {document['removals_to_retry']} removal(s) to retry")
    if document["state_problem"]:
        out.print(f"  [yellow]the saved state is unusable ({literal(document['state_problem'])}); "
                  "the next run reads everything[/yellow]")
    out.print(f"Run lock: {literal(document['lock_holder'] or 'free')}")
    for job, when in document["next_scheduled"].items():
        out.print(f"Next {job}: {literal(when or 'after the first scheduled run')}")
    out.print(f"[bold]Last runs[/bold] ({len(document['runs'])}):")
    for run in document["runs"]:
        error = f" · error: {run['error']}" if run.get("error") else ""
        out.print(literal(f"  {run.get('started_at')} {run.get('trigger'):<6} {run.get('mode'):<11} "
                          f"exit {run.get('exit_code')} · {run.get('organizations_written', 0)} organizations written "
                          f"· {run.get('duration_seconds')}s · run {run.get('run_id')}{error}"))


@app.command()
def health() -> None:
    """Exit 0 when this process could run a job: settings and tier file load, the state store answers.

    For container probes (``exec: tiersync health``); it makes no Salesforce or Zendesk call.
    """
    try:
        settings = load_settings()
        load_tier_file(settings.tiersync_config)
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        described = open_store(redis_url, settings.tiersync_state_dir, namespace_for(settings.zendesk_netloc())).check()
    except TiersyncError as error:
        fail(error)
    out.print(f"ok: {literal(described)}")
