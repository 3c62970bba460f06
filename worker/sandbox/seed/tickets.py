"""Seeds realistic support tickets for the per-tier service report: metric sets, SLA events, satisfaction ratings.

Called after :func:`worker.sandbox.seed.seed_demo` (or any other filling of the organizations), never from it:
it draws from its own random stream, so the demo data ``seed_demo`` produces stays exactly what it was, and
it changes no organization, account or group. Deterministic for a seed, given the same organizations and
the same sandbox clock (times are relative to the clock's now).

What one ticket gets, in this order of draws:

- a creation time in the last ``days + 10`` days (some before the report window), an organization (a few
  tickets have none), a status (solved and closed the most, a few deleted) and a priority (a few none);
- a tier tag as the routing trigger adds it: usually the organization's current tier value, sometimes another
  tier's tag (the organization's tier changed since), sometimes none; on an organization without a tier
  value, sometimes a tier tag anyway (its value was cleared since), usually none. Plus a few topic tags;
- a metric set: first reply and resolution times in calendar and business minutes, null when not measured yet
  (no reply yet, not solved);
- metric events: ``activate`` and ``fulfill`` of ``reply_time`` and ``resolution_time``, an ``apply_sla`` with
  the tier's SLA (target by priority) on tagged tickets, a ``breach`` when the first reply came late (some
  breaches later deleted, ``deleted: true``), and an ``apply_sla`` without an SLA on some untagged tickets;
- on a solved or closed ticket, maybe a satisfaction rating: good, bad (some with a comment), offered (no
  answer yet) or unoffered.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from worker.sandbox.zendesk.state import USER_ID

if TYPE_CHECKING:
    from worker.sandbox.server import Sandbox
    from worker.sandbox.zendesk import FakeZendesk

DAY = 86_400
EXTRA_DAYS = 10  # tickets reach this many days before the report window
NEWEST_AGE = 3_600  # every seeded time is at least an hour old: all of it is past the exports' quiet minute
REQUESTER_ID_START = 361_500_000_001
SLA_POLICY_ID_START = 366_900_000_001  # the policies named by apply_sla events (not SLA policy records)
STATUSES = (("new", 4), ("open", 14), ("pending", 9), ("hold", 3), ("solved", 33), ("closed", 33), ("deleted", 4))
PRIORITIES = ((None, 5), ("low", 20), ("normal", 45), ("high", 22), ("urgent", 8))
TOPIC_TAGS = ("billing", "bug", "question", "feature_request", "login", "integration", "outage")
# first-reply target in minutes by priority, multiplied by the tier's factor (the first tier the fastest)
REPLY_TARGETS = {"urgent": 30, "high": 60, "normal": 240, "low": 480}
TIER_FACTORS = (1, 2, 6)
RATINGS = (("good", 30), ("bad", 10), ("offered", 35), ("unoffered", 5), (None, 20))
COMMENTS = {"good": ("Thanks, quick and clear!", "Great support."), "bad": ("Took far too long.", "Not solved.")}


@dataclass
class TicketSeedSummary:
    """What :func:`seed_tickets` created, by category (tests recount it from the fake's state)."""

    tickets: int = 0
    in_window: int = 0  # created within the last ``days`` days
    before_window: int = 0  # created in the EXTRA_DAYS before that
    statuses: Counter[str] = field(default_factory=Counter)
    priorities: Counter[str | None] = field(default_factory=Counter)
    tagged_as_organization: int = 0  # the tier tag is the organization's current tier value
    tagged_disagreeing: int = 0  # another tier's tag than the organization's current value
    tagged_without_organization_tier: int = 0  # a tier tag on a ticket whose organization has no tier value
    untagged: int = 0  # no tier tag
    on_organization_without_tier: int = 0  # the organization has no (known) tier value
    without_organization: int = 0
    metric_sets: int = 0
    null_reply_times: int = 0
    null_full_resolution_times: int = 0
    metric_events: int = 0
    slas_applied: int = 0  # apply_sla events carrying an sla object
    slas_without_policy: int = 0  # apply_sla events without an sla (no policy applies)
    breaches: int = 0
    deleted_breaches: int = 0
    ratings: Counter[str] = field(default_factory=Counter)
    ticket_ids: list[int] = field(default_factory=list)


@dataclass
class _Ticket:
    """One ticket being drawn, before it is added."""

    created: int
    organization_id: int | None
    status: str
    priority: str | None
    tier_index: int | None  # the index in tier_tags of its tier tag, if it has one
    tags: list[str]


def seed_tickets(sandbox: Sandbox, *, count: int, days: int, seed: int, tier_tags: Sequence[str],
                 field_key: str = "support_tier") -> TicketSeedSummary:
    """Add ``count`` tickets on the sandbox's Zendesk organizations, created over the last ``days + 10`` days.

    ``tier_tags`` are the tier tags (the dropdown values), highest tier first; an organization's current tier
    value is its ``field_key`` value when that is one of them. Raises ValueError without organizations.
    """
    zd = sandbox.zendesk
    if count < 0 or days < 1 or not tier_tags:
        raise ValueError("seed_tickets needs count >= 0, days >= 1 and at least one tier tag")
    with zd.lock:
        org_ids = sorted(zd.organizations)
        if not org_ids:
            raise ValueError("seed_tickets needs organizations: seed them first (seed_demo)")
        tiers = {org_id: _tier_value(zd.organizations[org_id], field_key, tier_tags) for org_id in org_ids}
        groups = sorted(zd.groups)
        rng = random.Random(seed)
        now = math.floor(zd.clock())
        newest, window_start = now - NEWEST_AGE, now - days * DAY
        summary = TicketSeedSummary()
        for _ in range(count):
            drawn = _draw_ticket(rng, summary, org_ids, tiers, tier_tags, now - (days + EXTRA_DAYS) * DAY, newest)
            if drawn.created >= window_start:
                summary.in_window += 1
            else:
                summary.before_window += 1
            _add(rng, zd, summary, drawn, tier_tags, groups, newest)
        summary.tickets = count
        return summary


def _tier_value(org: dict[str, Any], field_key: str, tier_tags: Sequence[str]) -> int | None:
    value = (org.get("organization_fields") or {}).get(field_key)
    return tier_tags.index(value) if value in tier_tags else None


def _draw_ticket(rng: random.Random, summary: TicketSeedSummary, org_ids: list[int],
                 tiers: dict[int, int | None], tier_tags: Sequence[str], oldest: int, newest: int) -> _Ticket:
    created = rng.randint(oldest, newest)
    organization_id = None if rng.random() < 0.03 else rng.choice(org_ids)
    status = _weighted(rng, STATUSES)
    priority = _weighted(rng, PRIORITIES)
    current = tiers.get(organization_id) if organization_id is not None else None
    roll = rng.random()
    tier_index: int | None
    if organization_id is None:
        summary.without_organization += 1
        tier_index = None
    elif current is not None:
        if roll < 0.8:
            tier_index = current
            summary.tagged_as_organization += 1
        elif roll < 0.9 and len(tier_tags) > 1:
            tier_index = rng.choice([i for i in range(len(tier_tags)) if i != current])
            summary.tagged_disagreeing += 1
        else:
            tier_index = None
    else:
        summary.on_organization_without_tier += 1
        tier_index = rng.randrange(len(tier_tags)) if roll < 0.25 else None
        if tier_index is not None:
            summary.tagged_without_organization_tier += 1
    if tier_index is None:
        summary.untagged += 1
    topics = rng.sample(TOPIC_TAGS, rng.randint(0, 2))
    tags = ([tier_tags[tier_index]] if tier_index is not None else []) + topics
    summary.statuses[status] += 1
    summary.priorities[priority] += 1
    return _Ticket(created, organization_id, status, priority, tier_index, tags)


def _add(rng: random.Random, zd: FakeZendesk, summary: TicketSeedSummary, drawn: _Ticket,
         tier_tags: Sequence[str], groups: list[int], newest: int) -> None:
    """Draw the ticket's times, then add it with its metric set, metric events and rating."""
    target = _reply_target(drawn)
    reply = _reply_minutes(rng, drawn, target)
    solved = drawn.status in ("solved", "closed") or (drawn.status == "deleted" and rng.random() < 0.5)
    resolution = (reply or 0) + rng.randint(10, 7 * 1440) if solved else None
    last_change = min(newest, drawn.created + 60 * max(reply or 0, resolution or 0) + rng.randint(0, 3_600))
    generated = min(newest, last_change + (rng.randint(1, 7_200) if rng.random() < 0.2 else 0))
    group_id = _group(rng, drawn, groups)
    ticket_id = zd.add_ticket(
        organization_id=drawn.organization_id, requester_id=REQUESTER_ID_START + rng.randrange(5_000),
        status=drawn.status, priority=drawn.priority, tags=drawn.tags,
        subject=f"{(drawn.tags[-1] if drawn.tags else 'general').replace('_', ' ').capitalize()} request",
        created_at=drawn.created, updated_at=last_change, generated_timestamp=generated,
        assignee_id=None if drawn.status == "new" else USER_ID, group_id=group_id)
    summary.ticket_ids.append(ticket_id)
    _metric_set(rng, zd, summary, ticket_id, drawn, reply, resolution, newest)
    _events(rng, zd, summary, ticket_id, drawn, reply, resolution, target, tier_tags, newest)
    if drawn.status in ("solved", "closed") and resolution is not None:
        _rating(rng, zd, summary, ticket_id, min(newest, drawn.created + 60 * resolution), newest)


def _reply_target(drawn: _Ticket) -> int | None:
    """The first-reply target (minutes) of the tier SLA the ticket's tag selects, if any."""
    if drawn.tier_index is None or drawn.priority is None:
        return None
    return REPLY_TARGETS[drawn.priority] * TIER_FACTORS[min(drawn.tier_index, len(TIER_FACTORS) - 1)]


def _reply_minutes(rng: random.Random, drawn: _Ticket, target: int | None) -> int | None:
    """Minutes to the first public reply; None when there was none (yet)."""
    if drawn.status == "new" or rng.random() < 0.06:
        return None
    typical = target * 0.6 if target is not None else 300.0
    return max(1, int(rng.lognormvariate(math.log(typical), 0.8)))


def _group(rng: random.Random, drawn: _Ticket, groups: list[int]) -> int | None:
    if not groups:
        return None
    if drawn.tier_index is not None and drawn.tier_index < len(groups):
        return groups[drawn.tier_index]
    return rng.choice(groups)


def _metric_set(rng: random.Random, zd: FakeZendesk, summary: TicketSeedSummary, ticket_id: int, drawn: _Ticket,
                reply: int | None, resolution: int | None, newest: int) -> None:
    def business(minutes: int | None) -> tuple[int | None, int | None]:
        return (None, None) if minutes is None else (minutes, int(minutes * rng.uniform(0.3, 1.0)))

    solved_at = None if resolution is None else min(newest, drawn.created + 60 * resolution)
    reopens = rng.choice((0, 0, 0, 1)) if resolution is not None else 0
    first = None if resolution is None else resolution if reopens == 0 else max(1, resolution // 2)
    zd.set_ticket_metrics(
        ticket_id, reply_time_in_minutes=business(reply), full_resolution_time_in_minutes=business(resolution),
        first_resolution_time_in_minutes=business(first),
        replies=0 if reply is None else rng.randint(1, 6), reopens=reopens, solved_at=solved_at,
        status_updated_at=solved_at or drawn.created, latest_comment_added_at=solved_at or drawn.created)
    summary.metric_sets += 1
    summary.null_reply_times += reply is None
    summary.null_full_resolution_times += resolution is None


def _events(rng: random.Random, zd: FakeZendesk, summary: TicketSeedSummary, ticket_id: int, drawn: _Ticket,
            reply: int | None, resolution: int | None, target: int | None, tier_tags: Sequence[str],
            newest: int) -> None:
    def event(metric: str, kind: str, at: int, **extra: Any) -> None:
        zd.add_ticket_metric_event(ticket_id, metric, kind, time=min(newest, at), **extra)
        summary.metric_events += 1

    start = drawn.created
    if target is not None and drawn.tier_index is not None:
        index = drawn.tier_index
        event("reply_time", "apply_sla", start, sla={
            "target": target, "business_hours": index >= 2,
            "policy": {"id": SLA_POLICY_ID_START + index, "title": f"{tier_tags[index]} SLA",
                       "description": f"First reply targets of the {tier_tags[index]} tier"}})
        summary.slas_applied += 1
    elif rng.random() < 0.2:
        event("reply_time", "apply_sla", start, sla=None)
        summary.slas_without_policy += 1
    event("reply_time", "activate", start)
    if target is not None and (reply is None or reply > target) and start + 60 * target <= newest:
        deleted = rng.random() < 0.15
        event("reply_time", "breach", start + 60 * target, deleted=deleted)
        summary.breaches += 1
        summary.deleted_breaches += deleted
    if reply is not None:
        event("reply_time", "fulfill", start + 60 * reply)
    event("resolution_time", "activate", start)
    if resolution is not None:
        event("resolution_time", "fulfill", start + 60 * resolution)


def _rating(rng: random.Random, zd: FakeZendesk, summary: TicketSeedSummary, ticket_id: int, solved_at: int,
            newest: int) -> None:
    score = _weighted(rng, RATINGS)
    if score is None:
        return
    comment = rng.choice(COMMENTS[score]) if score in COMMENTS and rng.random() < 0.3 else None
    created = min(newest, solved_at + rng.randint(600, 3 * DAY))
    zd.add_satisfaction_rating(ticket_id, score, comment=comment, created_at=created)
    summary.ratings[score] += 1


def _weighted(rng: random.Random, table: Sequence[tuple[Any, int]]) -> Any:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]
