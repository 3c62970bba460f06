"""The ``--json`` document of a run: counts per outcome and tier, API calls, duration, every reject.

The document is for scripts: its keys are stable, and every id and message is JSON-escaped text.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from worker.core.plan import Outcome, Plan
from worker.core.record import RunRecord
from worker.core.routing_plan import RoutingOutcome, RoutingPlan


def run_summary(record: RunRecord) -> dict[str, Any]:
    """The ``--json`` document of one run: what happened, then (when a plan was made) what it held."""
    document = _run_fields(record)
    if record.plan is not None and record.mode != "routing":
        document |= _plan_fields(record, record.plan)
    if record.plan is not None and record.plan.routing is not None:
        document["routing"] = _routing_fields(record.plan.routing, record.routing)
    return document


def _routing_fields(plan: RoutingPlan, outcome: RoutingOutcome | None) -> dict[str, Any]:
    return {
        "category": {"name": plan.category, "action": plan.category_action.value},
        "changes": [{"key": c.key, "kind": c.kind.value, "action": c.action.value, "why": c.why.value,
                     "title": c.title, "id": c.object_id,
                     "attributes": [{"name": a.name, "old": a.old, "new": a.new} for a in c.attributes]}
                    for c in plan.changes],
        "writes": len(plan.writes),
        "drift": [c.key for c in plan.drift],
        "collisions": [{"kind": c.kind.value, "id": c.object_id, "title": c.title} for c in plan.collisions],
        "duplicates": [{"key": d.key, "kind": d.kind.value, "ids": list(d.object_ids)} for d in plan.duplicates],
        "applied": None if outcome is None else {
            "done": [{"key": key, "action": action.value} for key, action in outcome.done],
            "category_created": outcome.category_created, "managed_after": outcome.managed_after,
            "adopted_after_failed_create": outcome.adopted},
    }


def _run_fields(record: RunRecord) -> dict[str, Any]:
    return {
        "mode": record.mode, "dry_run": record.dry_run, "exit_code": int(record.exit_code),
        "duration_seconds": round(record.duration_seconds, 3), "timings": record.timings, "api_calls": record.api_calls,
        "salesforce_api_usage": ({"used": record.salesforce_usage[0], "total": record.salesforce_usage[1]}
                                 if record.salesforce_usage else None),
        "notes": record.notes, "refusal": record.refusal, "error": record.error, "hint": record.hint or None,
        "retryable": record.retryable, "retry_after_seconds": record.retry_after,
    }


def _plan_fields(record: RunRecord, plan: Plan) -> dict[str, Any]:
    outcomes = plan.outcome_counts()
    ok = sum(1 for result in record.writes.values() if result.ok)
    return {
        "plan_fingerprint": plan.fingerprint,
        "accounts": plan.account_count,
        "outcomes": {outcome.value: outcomes.get(outcome, 0) for outcome in Outcome},
        "tiers": {name: dict(counts) for name, counts in plan.tier_counts().items()},
        "writes": {"planned": len(plan.writes), "updated": ok, "failed": len(record.writes) - ok},
        "field": {"action": plan.field.action, "key": plan.field.key, "applied": record.field_applied,
                  "added_options": [tag for _, tag in plan.field.add],
                  "renamed_options": [new for _, _, new in plan.field.rename],
                  "foreign_options": list(plan.field.foreign_options),
                  "removed_options": list(plan.field.remove),
                  "options_in_use": dict(plan.field.in_use)},
        "changes": [{"account_id": i.account_id, "organization_id": i.organization_id,
                     "from": i.current_tag, "to": i.target_tag} for i in plan.changes],
        "rejected": [{"account_id": i.account_id, "account_name": i.account_name, "reason": i.reason.value
                      if i.reason else None, "organization_id": i.organization_id, "detail": i.detail}
                     for i in plan.accounts if i.outcome is Outcome.REJECTED],
        "failed": [{"account_id": a, "organization_id": o, "error": e} for a, o, e in record.failed_writes()],
        "no_organization": [i.account_id for i in plan.accounts if i.outcome is Outcome.NO_ORGANIZATION],
        "orphans": [{"organization_id": o.organization_id, "external_id": o.external_id, "why": o.why}
                    for o in plan.orphans],
        "duplicates": [{"account_id": d.account_id, "organization_ids": list(d.organization_ids)}
                       for d in plan.duplicates],
        "organizations_without_external_id": plan.organizations_without_external_id,
        "manual_edits": [{"organization_id": e.organization_id, "account_id": e.account_id,
                          "account_name": e.account_name, "found": e.found, "expected": e.expected,
                          "action": e.action.value, "detail": e.detail or None} for e in plan.manual_edits],
        "removed": [{"account_id": r.account_id, "account_name": r.account_name, "organization_id": r.organization_id,
                     "reason": r.reason, "found": r.found, "action": r.action.value,
                     "written": _written(record, r.organization_id) if r.action.value == "clear" else None,
                     "detail": r.detail or None} for r in plan.removals],
    }


def _written(record: RunRecord, organization_id: int) -> bool | None:
    """Whether Zendesk accepted the write to this organization (None when none was made, e.g. a dry run)."""
    result = record.writes.get(organization_id)
    return None if result is None else result.ok


def run_entry(record: RunRecord, trigger: str, run_id: str, started_at: str) -> dict[str, Any]:
    """One line about a finished run, for the JSON log and the run history (no plan details, no secrets)."""
    plan = record.plan
    return {"event": "tiersync.run", "run_id": run_id, "trigger": trigger, "started_at": started_at,
            "mode": record.mode, "dry_run": record.dry_run, "exit_code": int(record.exit_code), "error": record.error,
            "accounts": plan.account_count if plan else 0,
            "organizations_written": sum(1 for result in record.writes.values() if result.ok),
            "failed": len(record.failed_writes()),
            "manual_edits": len(plan.manual_edits) if plan else 0, "removed": len(plan.removals) if plan else 0,
            "routing_written": len(record.routing.done) if record.routing else 0,
            "api_calls": record.api_calls, "duration_seconds": round(record.duration_seconds, 3)}


def dumps(document: dict[str, Any]) -> str:
    """The document as the CLI prints it (indented, newline-terminated)."""
    return json.dumps(document, indent=2) + "\n"


def write_json(document: dict[str, Any], out: TextIO) -> None:
    """Print the document as :func:`dumps` would, a piece at a time.

    A full run's document lists every change: at 100,000 accounts the joined string and its pieces
    were the run's peak memory (tens of MiB); ``json.dump`` writes each piece as it is encoded.
    """
    json.dump(document, out, indent=2)
    out.write("\n")
