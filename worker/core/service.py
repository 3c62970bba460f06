"""The per-tier service report: are the tiers getting the service they pay for? Pure arithmetic, no I/O.

Tickets created in the window (not deleted) are put in a tier: the first tier, in tiers.yaml order,
whose tag is among the ticket's tags (the routing trigger adds it when the ticket is created); else the
tier whose tag its organization holds now in the managed field; else ``untiered``. Per tier: tickets,
solved (solved or closed), first reply time (median, p90) and full resolution time (median) from the
metric sets' calendar minutes, SLA achievement from the metric events, and CSAT from the ratings.

Percentiles use the nearest-rank method in integers: the value at rank ``ceil(p * n / 100)`` of the
sorted values; percentages have one decimal, rounded half up, computed from integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from worker.core.config import TierFile

UNTIERED = "untiered"
SOLVED = ("solved", "closed")
SCORED = ("good", "bad")
VERSION = 1


class Ticket(Protocol):
    """What the report needs of a ticket (worker.core.tickets.TicketRecord)."""

    @property
    def id(self) -> int: ...  # noqa: D102
    @property
    def status(self) -> str: ...  # noqa: D102
    @property
    def tags(self) -> Sequence[str]: ...  # noqa: D102
    @property
    def organization_id(self) -> int | None: ...  # noqa: D102
    @property
    def created_at(self) -> int: ...  # noqa: D102
    @property
    def reply_time_minutes(self) -> int | None: ...  # noqa: D102
    @property
    def full_resolution_time_minutes(self) -> int | None: ...  # noqa: D102


class Event(Protocol):
    """What the report needs of a ticket metric event (worker.core.tickets.MetricEvent)."""

    @property
    def ticket_id(self) -> int: ...  # noqa: D102
    @property
    def metric(self) -> str: ...  # noqa: D102
    @property
    def type(self) -> str: ...  # noqa: D102
    @property
    def has_sla(self) -> bool: ...  # noqa: D102
    @property
    def deleted(self) -> bool: ...  # noqa: D102


class ScoredRating(Protocol):
    """What the report needs of a satisfaction rating (worker.core.tickets.Rating)."""

    @property
    def ticket_id(self) -> int: ...  # noqa: D102
    @property
    def score(self) -> str: ...  # noqa: D102
    @property
    def created_at(self) -> int: ...  # noqa: D102


def nearest_rank(values: Sequence[int], p: int) -> int | None:
    """The p-th percentile by the nearest-rank method: the value at rank ceil(p*n/100) of the sorted values."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("p must be from 1 to 100")
    ordered = sorted(values)
    rank = -(-p * len(ordered) // 100)  # ceil in integers
    return ordered[rank - 1]


def percent(part: int, whole: int) -> float | None:
    """100 * part / whole with one decimal, rounded half up, from integers; None when ``whole`` is 0."""
    if whole == 0:
        return None
    tenths = (2000 * part + whole) // (2 * whole)
    return tenths / 10


def ticket_tier(tags: Iterable[str], organization_tag: str | None, config: TierFile) -> str:
    """The tier a ticket counts for: its tag first (tiers.yaml order), then its organization's value, else untiered."""
    present = set(tags)
    for tier in config.tiers:
        if tier.tag in present:
            return tier.name
    for tier in config.tiers:
        if organization_tag is not None and tier.tag == organization_tag:
            return tier.name
    return UNTIERED


@dataclass
class _Tally:
    tickets: int = 0
    solved: int = 0
    first_replies: list[int] | None = None
    resolutions: list[int] | None = None
    applied: int = 0
    breached: int = 0
    good: int = 0
    bad: int = 0

    def __post_init__(self) -> None:
        self.first_replies, self.resolutions = [], []


def in_window(ticket: Ticket, start: int, end: int) -> bool:
    """Created in ``[start, end)`` and not deleted: the tickets the report counts."""
    return ticket.status != "deleted" and start <= ticket.created_at < end


def service_document(config: TierFile, tickets: Iterable[Ticket], events: Iterable[Event],
                     ratings: Iterable[ScoredRating], organization_tags: Mapping[int, str | None], *,
                     days: int, start: int, end: int, generated_at: str, window: tuple[str, str],
                     notes: Sequence[str] = ()) -> dict[str, Any]:
    """The report's JSON document (its keys are a contract: README.md, "Service report").

    ``tickets`` may repeat a ticket (the export re-delivers updated ones): the last one read counts.
    """
    latest: dict[int, Ticket] = {}
    for ticket in tickets:
        latest[ticket.id] = ticket
    tier_of = {ticket.id: ticket_tier(ticket.tags, organization_tags.get(ticket.organization_id or -1), config)
               for ticket in latest.values() if in_window(ticket, start, end)}
    tallies = {name: _Tally() for name in (*config.tier_names, UNTIERED)}
    for ticket_id, name in tier_of.items():
        _count_ticket(tallies[name], latest[ticket_id])
    _count_sla(tallies, tier_of, events)
    _count_csat(tallies, tier_of, ratings)
    rows = [_row(config, name, tallies[name]) for name in (*config.tier_names, UNTIERED)]
    return {"version": VERSION, "days": days, "generated_at": generated_at,
            "window": {"start": window[0], "end": window[1]}, "tiers": rows, "notes": list(notes)}


def _count_ticket(tally: _Tally, ticket: Ticket) -> None:
    assert tally.first_replies is not None and tally.resolutions is not None
    tally.tickets += 1
    tally.solved += ticket.status in SOLVED
    if ticket.reply_time_minutes is not None:
        tally.first_replies.append(ticket.reply_time_minutes)
    if ticket.full_resolution_time_minutes is not None:
        tally.resolutions.append(ticket.full_resolution_time_minutes)


def _count_sla(tallies: dict[str, _Tally], tier_of: Mapping[int, str], events: Iterable[Event]) -> None:
    """(ticket, metric) pairs with an apply_sla carrying an SLA are applied; breached with a live breach event."""
    applied: set[tuple[int, str]] = set()
    breached: set[tuple[int, str]] = set()
    for event in events:
        if event.ticket_id not in tier_of:
            continue
        if event.type == "apply_sla" and event.has_sla:
            applied.add((event.ticket_id, event.metric))
        elif event.type == "breach" and not event.deleted:
            breached.add((event.ticket_id, event.metric))
    for ticket_id, metric in applied:
        tally = tallies[tier_of[ticket_id]]
        tally.applied += 1
        tally.breached += (ticket_id, metric) in breached


def _count_csat(tallies: dict[str, _Tally], tier_of: Mapping[int, str], ratings: Iterable[ScoredRating]) -> None:
    """The latest rating of each in-scope ticket, when it is good or bad (offered and unoffered are no score)."""
    latest: dict[int, ScoredRating] = {}
    for rating in ratings:
        if rating.ticket_id in tier_of:
            kept = latest.get(rating.ticket_id)
            if kept is None or rating.created_at >= kept.created_at:
                latest[rating.ticket_id] = rating
    for ticket_id, rating in latest.items():
        tally = tallies[tier_of[ticket_id]]
        tally.good += rating.score == "good"
        tally.bad += rating.score == "bad"


def _row(config: TierFile, name: str, tally: _Tally) -> dict[str, Any]:
    assert tally.first_replies is not None and tally.resolutions is not None
    tier = next((t for t in config.tiers if t.name == name), None)
    achieved = percent(tally.applied - tally.breached, tally.applied)
    minimum = config.report.minimum(name) if tier is not None else None
    targets: dict[str, dict[str, int]] = {}
    if tier is not None and tier.sla is not None:
        for metric, priority, minutes in tier.sla.targets():
            targets.setdefault(metric, {})[priority] = minutes
    return {
        "tier": name, "title": tier.title if tier is not None else "Untiered",
        "tickets": tally.tickets, "solved": tally.solved,
        "first_reply_minutes": {"median": nearest_rank(tally.first_replies, 50),
                                "p90": nearest_rank(tally.first_replies, 90)},
        "full_resolution_minutes": {"median": nearest_rank(tally.resolutions, 50)},
        "sla": {"applied": tally.applied, "breached": tally.breached, "achieved_pct": achieved},
        "csat": {"good": tally.good, "bad": tally.bad, "score_pct": percent(tally.good, tally.good + tally.bad)},
        "targets": targets, "min_sla_achieved_pct": minimum,
        "below_min": minimum is not None and achieved is not None and achieved < minimum,
    }


def below_minimum(document: Mapping[str, Any]) -> list[str]:
    """``<tier>:<achieved>%<<minimum>%`` for each tier under its minimum SLA achievement (the alert's fingerprint)."""
    return [f"{row['tier']}:{row['sla']['achieved_pct']}<{row['min_sla_achieved_pct']}"
            for row in document["tiers"] if row["below_min"]]
