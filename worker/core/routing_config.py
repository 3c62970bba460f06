"""The routing part of the tier file: per tier a trigger, a view and an SLA policy, and the global settings.

```yaml
tiers:
  - name: enterprise
    ...
    routing: {group: Enterprise Support, priority: high, tags: [tier_enterprise]}
    view: {title: "Enterprise queue", columns: [status, subject, requester, organization, priority, updated]}
    sla:
      first_reply_time: {urgent: 30, high: 60, normal: 240, low: 480}
      requester_wait_time: {urgent: 240, high: 480}
      business_hours: false
routing:
  category: "Tier routing (managed by tiersync)"
  on_drift: report
```
A tier without ``routing``, ``view`` or ``sla`` gets none of that object.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from worker.core.schema import Strict, Text, ZendeskTag

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("urgent", "high", "normal", "low")
# The values a view's `output.columns` takes (developer.zendesk.com, Views, "View columns"), besides custom
# ticket field ids (digits). Several differ from the column's title in the agent UI, so those titles are
# accepted too and translated: the Subject column is `description`, ID is `nice_id`, Requested is `created`.
VIEW_COLUMNS = frozenset({
    "assigned", "assignee", "brand", "created", "custom_status_id", "description", "due_date", "group",
    "locale_id", "nice_id", "organization", "priority", "requester", "satisfaction_score", "solved", "status",
    "submitter", "ticket_form", "type", "updated", "updated_assignee", "updated_by_type", "updated_requester",
})
COLUMN_ALIASES = {"subject": "description", "id": "nice_id", "requested": "created", "updater": "updated_by_type",
                  "ticket_status": "custom_status_id", "requester_language": "locale_id"}
MAX_VIEW_COLUMNS = 10  # Zendesk refuses a view with more (developer.zendesk.com, Views: "up to 10 columns")
DEFAULT_COLUMNS = ("status", "description", "requester", "organization", "priority", "updated")  # description: Subject
Minutes = Annotated[int, Field(strict=True, gt=0, le=525_600)]  # at most a year


class TierRouting(Strict):
    """What the tier's trigger does to a new ticket."""

    group: Annotated[Text, Field(min_length=1)]
    priority: Priority | None = None
    tags: tuple[ZendeskTag, ...] = ()


class TierView(Strict):
    """The tier's queue."""

    title: Annotated[Text, Field(min_length=1)] | None = None
    columns: tuple[Text, ...] = DEFAULT_COLUMNS

    @field_validator("columns")
    @classmethod
    def _columns(cls, columns: tuple[str, ...]) -> tuple[str, ...]:
        if not 1 <= len(columns) <= MAX_VIEW_COLUMNS:
            raise ValueError(f"a view shows 1 to {MAX_VIEW_COLUMNS} columns, not {len(columns)}")
        unknown = [c for c in columns if c not in VIEW_COLUMNS and c not in COLUMN_ALIASES and not c.isdigit()]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown}; use {', '.join(sorted(VIEW_COLUMNS | set(COLUMN_ALIASES)))}"
                             ", or a custom ticket field's id")
        api_values = tuple(COLUMN_ALIASES.get(c, c) for c in columns)
        if len(set(api_values)) != len(api_values):
            raise ValueError("a column is listed twice")
        return api_values


class TierSla(Strict):
    """The tier's SLA policy: targets in minutes per ticket priority."""

    first_reply_time: dict[Priority, Minutes] = {}
    next_reply_time: dict[Priority, Minutes] = {}
    periodic_update_time: dict[Priority, Minutes] = {}
    requester_wait_time: dict[Priority, Minutes] = {}
    agent_work_time: dict[Priority, Minutes] = {}
    pausable_update_time: dict[Priority, Minutes] = {}
    business_hours: StrictBool = False

    @model_validator(mode="after")
    def _some_target(self) -> TierSla:
        if not self.targets():
            raise ValueError("an SLA policy needs at least one target, e.g. first_reply_time: {urgent: 30}")
        return self

    def targets(self) -> list[tuple[str, Priority, int]]:
        """``(metric, priority, minutes)`` for every target, metrics in a fixed order, highest priority first."""
        metrics = ("first_reply_time", "next_reply_time", "periodic_update_time", "requester_wait_time",
                   "agent_work_time", "pausable_update_time")
        by_metric: dict[str, dict[Priority, int]] = {m: getattr(self, m) for m in metrics}
        return [(metric, priority, by_metric[metric][priority])
                for metric in metrics for priority in PRIORITIES if priority in by_metric[metric]]


class RoutingSettings(Strict):
    """``routing:`` at the top of the tier file."""

    category: Annotated[Text, Field(min_length=1, max_length=255)] = "Tier routing (managed by tiersync)"
    on_drift: Literal["report", "enforce"] = "report"
