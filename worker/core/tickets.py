"""What the per-tier service report reads from Zendesk: tickets, ticket metric events and satisfaction ratings.

Times are unix seconds (UTC), as tiersync keeps every Zendesk time it computes with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket as the incremental ticket export gave it last, with its metric set's two times.

    Attributes:
        id: Zendesk ticket id.
        status: new, open, pending, hold, solved, closed, or deleted (a deleted ticket is still exported).
        tags: the ticket's tags, as Zendesk lists them (the routing trigger adds the tier's tag on creation).
        organization_id: the ticket's organization, if any.
        priority: urgent, high, normal or low; None when unset.
        created_at: when the ticket was created.
        reply_time_minutes: minutes to the first public reply, calendar time (``reply_time_in_minutes.calendar``);
            None when there was no reply yet or the ticket has no metric set.
        full_resolution_time_minutes: minutes to the last resolution, calendar time
            (``full_resolution_time_in_minutes.calendar``); None when not solved or not measured.

    """

    id: int
    status: str
    tags: tuple[str, ...]
    organization_id: int | None
    priority: str | None
    created_at: int
    reply_time_minutes: int | None = None
    full_resolution_time_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class MetricEvent:
    """One ticket metric event (an SLA applied, a metric activated, fulfilled or breached...).

    Attributes:
        ticket_id: the ticket the event belongs to.
        metric: reply_time, resolution_time, requester_wait_time, agent_work_time, ...
        instance_id: which occurrence of the metric (for reply_time: 1 is the first reply, 2+ the next ones).
        type: activate, pause, fulfill, apply_sla, apply_group_sla, breach, update_status or measure.
        time: when it happened.
        has_sla: an ``apply_sla`` event that names an SLA (target and policy); False for every other event.
        deleted: a breach Zendesk later withdrew (``deleted: true``); such a breach should generally be ignored.

    """

    ticket_id: int
    metric: str
    instance_id: int
    type: str
    time: int
    has_sla: bool = False
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Rating:
    """A satisfaction rating: ``score`` is good, bad, offered (asked, no answer) or unoffered."""

    ticket_id: int
    score: str
    created_at: int
