"""The service report's arithmetic: tiers of tickets, nearest-rank percentiles, SLA and CSAT per tier."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.helpers import make_config
from worker.core.service import below_minimum, nearest_rank, percent, service_document, ticket_tier


@dataclass(frozen=True)
class T:
    id: int
    status: str = "open"
    tags: tuple[str, ...] = ()
    organization_id: int | None = None
    created_at: int = 100
    reply_time_minutes: int | None = None
    full_resolution_time_minutes: int | None = None


@dataclass(frozen=True)
class E:
    ticket_id: int
    metric: str
    type: str
    has_sla: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class R:
    ticket_id: int
    score: str
    created_at: int = 0


def test_nearest_rank_is_the_value_at_rank_ceil_p_n_over_100() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([7], 90) == 7
    assert nearest_rank([1, 2, 3, 4], 50) == 2  # rank ceil(2.0) = 2
    assert nearest_rank([5, 1, 4, 2, 3], 50) == 3  # rank ceil(2.5) = 3
    assert nearest_rank(list(range(1, 11)), 90) == 9 and nearest_rank(list(range(1, 12)), 90) == 10
    with pytest.raises(ValueError):
        nearest_rank([1], 0)


@given(st.lists(st.integers(0, 10**6), min_size=1), st.integers(1, 100))
def test_nearest_rank_leaves_at_least_p_percent_at_or_below(values: list[int], p: int) -> None:
    value = nearest_rank(values, p)
    assert value in values
    assert 100 * sum(v <= value for v in values) >= p * len(values)
    assert 100 * sum(v < value for v in values) < p * len(values)


def test_percentages_have_one_decimal_rounded_half_up() -> None:
    assert percent(0, 0) is None
    assert [percent(2, 3), percent(1, 3), percent(1, 8), percent(1, 16)] == [66.7, 33.3, 12.5, 6.3]
    assert percent(5, 5) == 100.0


def test_a_tickets_tag_wins_in_tier_order_then_its_organizations_value() -> None:
    config = make_config()
    assert ticket_tier(["tier_starter", "tier_enterprise"], "tier_professional", config) == "enterprise"
    assert ticket_tier(["vip"], "tier_professional", config) == "professional"
    assert ticket_tier(["vip"], None, config) == "untiered"
    assert ticket_tier([], "legacy_gold", config) == "untiered"


def test_the_document_counts_per_tier() -> None:
    config = make_config(report={"min_sla_achieved_pct": {"enterprise": 80}})
    tickets = [T(1, "solved", ("tier_enterprise",), reply_time_minutes=10, full_resolution_time_minutes=100),
               T(2, "open", ("tier_enterprise",), reply_time_minutes=30),
               T(3, "closed", (), organization_id=7, reply_time_minutes=None, full_resolution_time_minutes=50),
               T(4, "deleted", ("tier_enterprise",)),  # not counted
               T(5, "open", ("tier_enterprise",), created_at=5),  # before the window
               T(6, "open", ())]  # untiered
    events = [E(1, "reply_time", "apply_sla", has_sla=True), E(1, "reply_time", "breach"),
              E(2, "reply_time", "apply_sla", has_sla=True), E(2, "reply_time", "breach", deleted=True),
              E(2, "resolution_time", "apply_sla", has_sla=False),  # no SLA object: not applied
              E(3, "reply_time", "apply_sla", has_sla=True), E(4, "reply_time", "apply_sla", has_sla=True)]
    ratings = [R(1, "bad", 1), R(1, "good", 2), R(2, "offered"), R(3, "bad"), R(5, "good")]
    doc = service_document(config, tickets, events, ratings, {7: "tier_professional"}, days=30, start=50, end=200,
                           generated_at="g", window=("s", "e"))
    rows = {row["tier"]: row for row in doc["tiers"]}
    assert [row["tier"] for row in doc["tiers"]] == ["enterprise", "professional", "starter", "untiered"]
    enterprise = rows["enterprise"]
    assert (enterprise["tickets"], enterprise["solved"]) == (2, 1)
    assert enterprise["first_reply_minutes"] == {"median": 10, "p90": 30}
    assert enterprise["full_resolution_minutes"] == {"median": 100}
    assert enterprise["sla"] == {"applied": 2, "breached": 1, "achieved_pct": 50.0}
    assert enterprise["csat"] == {"good": 1, "bad": 0, "score_pct": 100.0}  # the latest rating counts
    assert enterprise["below_min"] and below_minimum(doc) == ["enterprise:50.0<80.0"]
    professional = rows["professional"]
    assert professional["tickets"] == 1 and professional["first_reply_minutes"] == {"median": None, "p90": None}
    assert professional["csat"] == {"good": 0, "bad": 1, "score_pct": 0.0}
    assert rows["starter"]["sla"]["achieved_pct"] is None and rows["untiered"]["tickets"] == 1
    assert rows["untiered"]["title"] == "Untiered" and not rows["untiered"]["below_min"]
