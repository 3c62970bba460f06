"""seed_tickets: deterministic, its summary matches the fake's state, and it leaves seed_demo's data as it was."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from typing import Any

import pytest

from worker.sandbox.seed import TicketSeedSummary, seed_demo, seed_tickets
from worker.sandbox.server import ManualClock, Sandbox

T0 = 1_714_564_800  # ManualClock's default now
DAY = 86_400
TIERS = ("tier_enterprise", "tier_professional", "tier_starter")


def _sandbox(accounts: int = 120, *, tiers: bool = True) -> Sandbox:
    """seed_demo's data; with ``tiers``, the dropdown and a tier value on three organizations in four (a sync)."""
    sb = Sandbox(clock=ManualClock())  # not started: seeding needs no servers
    seed_demo(sb, accounts=accounts, seed=11)
    if tiers:
        zd = sb.zendesk
        zd.add_field("support_tier", "dropdown", "Support tier", [(t.split("_")[1].title(), t) for t in TIERS])
        for n, org in enumerate(sorted(zd.organizations)):
            if n % 4:
                zd.set_org_field(org, "support_tier", TIERS[n % 3])
    return sb


def _tickets_state(sb: Sandbox) -> dict[str, Any]:
    zd = sb.zendesk
    return {"tickets": zd.tickets, "metrics": zd.ticket_metrics, "events": zd.ticket_metric_events,
            "ratings": zd.satisfaction_ratings}


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _summary_data(summary: TicketSeedSummary) -> dict[str, Any]:
    data = asdict(summary)
    for name in ("statuses", "priorities", "ratings"):  # asdict garbles a Counter: take them from the object
        data[name] = sorted((repr(k), v) for k, v in getattr(summary, name).items())
    return data


def test_same_seed_same_tickets_and_another_seed_others() -> None:
    one, two, other = _sandbox(), _sandbox(), _sandbox()
    first = seed_tickets(one, count=400, days=30, seed=9, tier_tags=TIERS)
    assert seed_tickets(two, count=400, days=30, seed=9, tier_tags=TIERS) == first
    assert _digest(_tickets_state(one)) == _digest(_tickets_state(two))
    seed_tickets(other, count=400, days=30, seed=10, tier_tags=TIERS)
    assert _digest(_tickets_state(other)) != _digest(_tickets_state(one))


def test_seeded_tickets_are_unchanged_for_a_fixed_seed() -> None:
    """Pins the ticket data byte for byte (fixed clock): a change of the seeder must be a deliberate one."""
    sb = _sandbox(60)
    summary = seed_tickets(sb, count=250, days=14, seed=4, tier_tags=TIERS)
    assert _digest({"state": _tickets_state(sb), "summary": _summary_data(summary)}) == (
        "6a2da7fa11f99d33aeaf67a6a0e1b6884d2cf325b93096de1498c2d272379789")


def test_seed_tickets_changes_no_organization_account_or_group() -> None:
    sb = _sandbox(tiers=False)
    before = _digest({"accounts": sb.salesforce.accounts, "organizations": sb.zendesk.organizations,
                      "groups": sb.zendesk.groups, "fields": sb.zendesk.fields})
    seed_tickets(sb, count=200, days=30, seed=1, tier_tags=TIERS)
    after = _digest({"accounts": sb.salesforce.accounts, "organizations": sb.zendesk.organizations,
                     "groups": sb.zendesk.groups, "fields": sb.zendesk.fields})
    assert after == before
    fresh = Sandbox(clock=ManualClock())
    seed_demo(fresh, accounts=120, seed=11)  # seed_demo after a ticket seeding elsewhere: the same demo data
    assert _digest({"accounts": fresh.salesforce.accounts, "organizations": fresh.zendesk.organizations,
                    "groups": fresh.zendesk.groups, "fields": fresh.zendesk.fields}) == before


def test_summary_matches_what_is_in_the_fake() -> None:
    sb = _sandbox()
    days = 30
    summary = seed_tickets(sb, count=1500, days=days, seed=2, tier_tags=TIERS)
    zd = sb.zendesk
    tickets = [zd.tickets[i] for i in summary.ticket_ids]
    assert summary.tickets == len(tickets) == len(zd.tickets) == 1500
    assert summary.statuses == Counter(t["status"] for t in tickets)
    assert set(summary.statuses) == {"new", "open", "pending", "hold", "solved", "closed", "deleted"}
    assert summary.priorities == Counter(t["priority"] for t in tickets) and summary.priorities[None] > 0

    window = T0 - days * DAY
    assert summary.in_window == sum(t["created_at"] >= window for t in tickets) > 0
    assert summary.before_window == sum(t["created_at"] < window for t in tickets) > 0
    assert min(t["created_at"] for t in tickets) >= T0 - (days + 10) * DAY
    assert max(t["generated_timestamp"] for t in tickets) <= T0 - 3600  # all of it past the quiet minute

    kinds: Counter[str] = Counter()
    for ticket in tickets:
        tier_tags = [tag for tag in ticket["tags"] if tag in TIERS]
        assert len(tier_tags) <= 1
        org = zd.organizations.get(ticket["organization_id"]) if ticket["organization_id"] else None
        value = org["organization_fields"].get("support_tier") if org else None
        if org is None:
            kinds["without_organization"] += 1
        elif value is None:
            kinds["on_organization_without_tier"] += 1
        if not tier_tags:
            kinds["untagged"] += 1
        elif value is None:
            kinds["tagged_without_organization_tier"] += 1
        elif tier_tags[0] == value:
            kinds["tagged_as_organization"] += 1
        else:
            kinds["tagged_disagreeing"] += 1
    for name, count in kinds.items():
        assert getattr(summary, name) == count > 0, name

    metrics = list(zd.ticket_metrics.values())
    assert summary.metric_sets == len(metrics) == 1500
    assert summary.null_reply_times == sum(m["reply_time_in_minutes"]["calendar"] is None for m in metrics) > 0
    assert summary.null_full_resolution_times == sum(
        m["full_resolution_time_in_minutes"]["calendar"] is None for m in metrics) > 0

    events = list(zd.ticket_metric_events.values())
    assert summary.metric_events == len(events)
    applied = [e for e in events if e["type"] == "apply_sla"]
    assert summary.slas_applied == sum("sla" in e for e in applied) > 0
    assert summary.slas_without_policy == sum("sla" not in e for e in applied) > 0
    breaches = [e for e in events if e["type"] == "breach"]
    assert summary.breaches == len(breaches) > summary.deleted_breaches == sum(e["deleted"] for e in breaches) > 0
    assert {e["metric"] for e in events} == {"reply_time", "resolution_time"}
    assert {e["type"] for e in events} == {"apply_sla", "activate", "breach", "fulfill"}
    assert max(e["time"] for e in events) <= T0 - 3600

    ratings = list(zd.satisfaction_ratings.values())
    assert summary.ratings == Counter(r["score"] for r in ratings)
    assert set(summary.ratings) == {"good", "bad", "offered", "unoffered"}
    assert all(zd.tickets[r["ticket_id"]]["status"] in ("solved", "closed") for r in ratings)
    assert any(r["comment"] for r in ratings)


def test_without_tier_values_every_ticket_is_on_an_organization_without_one() -> None:
    sb = _sandbox(tiers=False)  # right after seed_demo: tiersync has not created the field yet
    summary = seed_tickets(sb, count=300, days=10, seed=3, tier_tags=TIERS)
    assert summary.tagged_as_organization == summary.tagged_disagreeing == 0
    assert summary.on_organization_without_tier + summary.without_organization == 300
    assert summary.tagged_without_organization_tier > 0


def test_seed_tickets_refuses_what_it_cannot_seed() -> None:
    with pytest.raises(ValueError, match="organizations"):
        seed_tickets(Sandbox(clock=ManualClock()), count=5, days=5, seed=1, tier_tags=TIERS)
    with pytest.raises(ValueError, match="tier tag"):
        seed_tickets(_sandbox(20), count=5, days=5, seed=1, tier_tags=())
