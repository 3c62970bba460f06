"""The real TicketReader against the seeded sandbox, under the exports' limit of 10 requests a minute.

The read needs more than 10 export pages (50 tickets a page), so it can only complete by pacing itself: the
pacer's clock is the sandbox's ManualClock and its sleep moves that clock, so the read waits whole minutes
without sleeping. Nothing may come back 429, and every ticket, event and rating is read exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from worker.io.http import ServiceSession
from worker.io.zendesk import connect
from worker.io.zendesk_tickets import IncrementalPacer, TicketReader
from worker.sandbox.seed import seed_demo, seed_tickets
from worker.sandbox.server import ManualClock, Sandbox
from worker.settings import Settings

pytestmark = pytest.mark.integration

DAY = 86_400
TIERS = ("tier_enterprise", "tier_professional", "tier_starter")


@pytest.fixture
def seeded() -> Iterator[tuple[Sandbox, ManualClock]]:
    clock = ManualClock()
    with Sandbox(clock=clock) as sb:
        seed_demo(sb, accounts=150, seed=8)
        zd = sb.zendesk
        zd.add_field("support_tier", "dropdown", "Support tier", [(t.split("_")[1].title(), t) for t in TIERS])
        for n, org in enumerate(sorted(zd.organizations)):
            if n % 5:
                zd.set_org_field(org, "support_tier", TIERS[n % 3])
        seed_tickets(sb, count=800, days=30, seed=12, tier_tags=TIERS)
        assert zd.export_limit_per_minute == 10
        yield sb, clock
        assert sb.errors == []


def test_the_reader_reads_the_seeded_sandbox_whole_within_ten_export_requests_a_minute(
        seeded: tuple[Sandbox, ManualClock]) -> None:
    sb, clock = seeded
    zd = sb.zendesk
    retry_sleeps: list[float] = []

    def session_sleep(seconds: float) -> None:  # only a 429 would make the session wait: none may come
        retry_sleeps.append(seconds)
        clock.advance(seconds)

    pacer_sleeps: list[float] = []

    def pacer_sleep(seconds: float) -> None:
        pacer_sleeps.append(seconds)
        clock.advance(seconds)

    session = ServiceSession("zendesk", sleep=session_sleep, ca_bundle=sb.ca_path)
    settings = Settings(_env_file=None, zendesk_url=sb.zendesk_url, zendesk_email=zd.email,
                        zendesk_api_token=zd.api_token)
    reader = TicketReader(connect(settings, session), per_page=50,
                          pacer=IncrementalPacer(clock=clock, sleep=pacer_sleep))
    start, began = int(clock()) - 41 * DAY, clock()

    tickets = list(reader.tickets_since(start))
    events = list(reader.metric_events_since(start))
    ratings = list(reader.satisfaction_ratings(start, int(clock())))

    exports = (zd.count("GET", "/api/v2/incremental/tickets/cursor")
               + zd.count("GET", "/api/v2/incremental/ticket_metric_events"))
    assert zd.count("GET", "/api/v2/incremental/tickets/cursor") >= 800 // 50 > 10
    assert session.counter.snapshot()["zendesk"]["rate_limited"] == 0 and retry_sleeps == []
    assert len(pacer_sleeps) == (exports - 1) // 10 >= 1  # one wait per ten export requests, none more
    assert clock() - began == sum(pacer_sleeps) >= 60 * ((exports - 1) // 10 - 1)

    assert len(tickets) == len({t.id for t in tickets}) == len(zd.tickets) == 800  # each ticket once
    for record in tickets:
        stored, metrics = zd.tickets[record.id], zd.ticket_metrics[record.id]
        assert (record.status, record.tags, record.organization_id, record.priority, record.created_at) == (
            stored["status"], tuple(stored["tags"]), stored["organization_id"], stored["priority"],
            stored["created_at"])
        assert record.reply_time_minutes == metrics["reply_time_in_minutes"]["calendar"]
        assert record.full_resolution_time_minutes == metrics["full_resolution_time_in_minutes"]["calendar"]
    assert Counter(t.status for t in tickets)["deleted"] == Counter(t["status"] for t in zd.tickets.values())["deleted"]

    assert len(events) == len(zd.ticket_metric_events)  # the repeated boundary seconds dropped
    assert Counter((e.type, e.has_sla, e.deleted) for e in events) == Counter(
        (e["type"], "sla" in e, e.get("deleted", False)) for e in zd.ticket_metric_events.values())
    assert Counter(r.score for r in ratings) == Counter(r["score"] for r in zd.satisfaction_ratings.values())
    assert len(ratings) == len(zd.satisfaction_ratings)


def test_without_pacing_the_sandbox_answers_429_and_the_session_waits_out_retry_after(
        seeded: tuple[Sandbox, ManualClock]) -> None:
    """The same read with a pacer that never waits: the limit is real, and Retry-After still gets it done."""
    sb, clock = seeded
    retry_sleeps: list[float] = []

    def session_sleep(seconds: float) -> None:
        retry_sleeps.append(seconds)
        clock.advance(seconds)

    session = ServiceSession("zendesk", sleep=session_sleep, ca_bundle=sb.ca_path)
    settings = Settings(_env_file=None, zendesk_url=sb.zendesk_url, zendesk_email=sb.zendesk.email,
                        zendesk_api_token=sb.zendesk.api_token)
    reader = TicketReader(connect(settings, session), per_page=50, pacer=IncrementalPacer(10_000, clock=clock))
    tickets = list(reader.tickets_since(int(clock()) - 41 * DAY))
    assert len({t.id for t in tickets}) == len(tickets) == 800
    assert session.counter.snapshot()["zendesk"]["rate_limited"] == 1 and retry_sleeps == [60.0]
