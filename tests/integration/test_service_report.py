"""Issue 17 on the HTTPS sandbox: `tiersync report service` against ~1,500 seeded tickets.

Every figure is computed again here from the fake's own records, with this file's own reading of the rules
(README.md, "Service report"). The exports' 10 requests a minute are kept: the reader's pacer and the
session's Retry-After waits move the sandbox's clock instead of sleeping.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import World
from worker.sandbox.seed import seed_tickets

pytestmark = pytest.mark.integration
TIERS = ("tier_enterprise", "tier_professional", "tier_starter")
NAMES = {"tier_enterprise": "enterprise", "tier_professional": "professional", "tier_starter": "starter"}


def unix(moment: str | int) -> int:
    """An ISO 8601 time (as documents carry it) or unix seconds (as the fake stores it)."""
    if isinstance(moment, int):
        return moment
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


def rank(values: list[int], p: int) -> int | None:
    return sorted(values)[math.ceil(Decimal(p * len(values)) / 100) - 1] if values else None


def pct(part: int, whole: int) -> float | None:
    return float((Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)) if whole else None


def expected_figures(world: World, start: int, end: int) -> dict[str, dict[str, Any]]:
    zd = world.sandbox.zendesk
    tier_of: dict[int, str] = {}
    for ticket_id, ticket in zd.tickets.items():
        if ticket["status"] == "deleted" or not start <= unix(ticket["created_at"]) < end:
            continue
        tag = next((t for t in TIERS if t in ticket["tags"]), None)
        if tag is None and ticket.get("organization_id") in zd.organizations:
            value = zd.organizations[ticket["organization_id"]]["organization_fields"].get("support_tier")
            tag = value if value in TIERS else None
        tier_of[ticket_id] = NAMES[tag] if tag else "untiered"
    figures: dict[str, dict[str, Any]] = defaultdict(lambda: {"tickets": 0, "solved": 0, "reply": [], "resolution": []})
    for ticket_id, name in tier_of.items():
        row, ticket, metrics = figures[name], zd.tickets[ticket_id], zd.ticket_metrics.get(ticket_id) or {}
        row["tickets"] += 1
        row["solved"] += ticket["status"] in ("solved", "closed")
        for key, into in (("reply_time_in_minutes", "reply"), ("full_resolution_time_in_minutes", "resolution")):
            value = (metrics.get(key) or {}).get("calendar")
            if value is not None:
                row[into].append(value)
    applied, breached = set(), set()
    for event in zd.ticket_metric_events.values():
        pair = (event["ticket_id"], event["metric"])
        if event["ticket_id"] in tier_of and event["type"] == "apply_sla" and isinstance(event.get("sla"), dict):
            applied.add(pair)
        if event["ticket_id"] in tier_of and event["type"] == "breach" and not event.get("deleted"):
            breached.add(pair)
    latest: dict[int, dict[str, Any]] = {}
    for rating in sorted(zd.satisfaction_ratings.values(), key=lambda r: (r["created_at"], r["id"])):
        if rating["ticket_id"] in tier_of:
            latest[rating["ticket_id"]] = rating
    result = {}
    for name in ("enterprise", "professional", "starter", "untiered"):
        row = figures[name]
        mine = [pair for pair in applied if tier_of[pair[0]] == name]
        broken = sum(1 for pair in mine if pair in breached)
        good = sum(1 for t, r in latest.items() if tier_of[t] == name and r["score"] == "good")
        bad = sum(1 for t, r in latest.items() if tier_of[t] == name and r["score"] == "bad")
        result[name] = {"tickets": row["tickets"], "solved": row["solved"],
                        "first_reply_minutes": {"median": rank(row["reply"], 50), "p90": rank(row["reply"], 90)},
                        "full_resolution_minutes": {"median": rank(row["resolution"], 50)},
                        "sla": {"applied": len(mine), "breached": broken, "achieved_pct": pct(len(mine) - broken,
                                                                                               len(mine))},
                        "csat": {"good": good, "bad": bad, "score_pct": pct(good, good + bad)}}
    return result


@pytest.fixture
def sandbox_time(world: World, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The report's readers wait on the sandbox's clock: every pacer or Retry-After wait moves it on."""
    import worker.cli.report as report_cli
    from worker.services import build_service_readers

    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        world.sandbox.advance(seconds)

    monkeypatch.setattr(report_cli, "build_service_readers",
                        lambda settings, config: build_service_readers(settings, config, sleep=wait))
    return waits


def seed(world: World) -> Any:
    assert world.cli("sync", "--full").exit_code == 0  # organizations get their tier values
    summary = seed_tickets(world.sandbox, count=1500, days=30, seed=5, tier_tags=TIERS)
    world.sandbox.zendesk.reset_requests()
    return summary


def test_every_figure_equals_an_independent_count_and_nothing_is_written(world: World, sandbox_time: list[float],
                                                                          tmp_path: Path) -> None:
    summary = seed(world)
    assert summary.before_window and summary.tagged_disagreeing and summary.untagged and summary.null_reply_times
    assert summary.breaches and summary.deleted_breaches and summary.ratings["offered"] and summary.ratings["good"]
    run = world.cli("report", "service", "--days", "30", "--format", "json")
    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["version"] == 1 and document["days"] == 30
    start, end = unix(document["window"]["start"]), unix(document["window"]["end"])
    expected = expected_figures(world, start, end)
    for row in document["tiers"]:
        mine = {key: row[key] for key in ("tickets", "solved", "first_reply_minutes", "full_resolution_minutes",
                                          "sla", "csat")}
        assert mine == expected[row["tier"]], row["tier"]
    assert [row["tier"] for row in document["tiers"]] == ["enterprise", "professional", "starter", "untiered"]
    assert sum(row["tickets"] for row in document["tiers"]) > 1000
    assert world.zendesk_writes() == 0
    exports = sum(world.sandbox.zendesk.count("GET", path) for path in (
        "/api/v2/incremental/tickets/cursor", "/api/v2/incremental/ticket_metric_events"))
    print(f"export requests {exports}, waits {sandbox_time}")


def test_the_report_completes_when_another_integration_spent_the_export_budget(world: World,
                                                                               sandbox_time: list[float]) -> None:
    seed(world)
    zendesk = world.sandbox.zendesk
    zendesk.fail_next(1, 429, {"errors": [{"code": "RateLimitExceeded", "status": "429",
                                           "title": "Rate limit exceeded. Maximum 10 requests per minute."}]},
                      {"Retry-After": "37"}, path_contains="/incremental/tickets/cursor")
    run = world.cli("report", "service", "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert 37.0 in sandbox_time  # the session waited the Retry-After (on the sandbox's clock), then went on
    assert sum(row["tickets"] for row in json.loads(run.stdout)["tiers"]) > 1000


def test_every_format_is_written(world: World, sandbox_time: list[float], tmp_path: Path) -> None:
    seed(world)
    text = world.config_path.read_text() + "\nreport:\n  min_sla_achieved_pct: 99.9\n"
    world.config_path.write_text(text)
    run = world.cli("report", "service", "--output", str(tmp_path / "out"))
    assert run.exit_code == 0, run.stderr
    assert {p.suffix for p in (tmp_path / "out").iterdir()} == {".json", ".csv", ".html", ".md"}
    document = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert any(row["below_min"] for row in document["tiers"])
    assert "below minimum" in run.stdout


def test_a_tier_below_its_minimum_is_alerted_once_and_the_page_renders_in_chromium(
        world: World, sandbox_time: list[float], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.test_report_browser import Browser
    from worker.io.slack import SlackNotifier
    from worker.sandbox.slack import SlackReceiver

    seed(world)
    world.config_path.write_text(world.config_path.read_text()
                                 + "\nreport:\n  min_sla_achieved_pct: {enterprise: 99.9}\n")
    with SlackReceiver() as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        monkeypatch.setattr("worker.cli.report.notifier_from_settings",
                            lambda settings: SlackNotifier(slack.url, sleep=sandbox_time.append))
        out = tmp_path / "out"
        assert world.cli("report", "service", "--output", str(out)).exit_code == 0
        assert len(slack.messages) == 1 and "Enterprise" in json.dumps(slack.messages[0])
        assert world.cli("report", "service", "--format", "json").exit_code == 0
        assert len(slack.messages) == 1  # the same tier below the same minimum: not announced again
    page = next(out.glob("*.html"))
    rendered = Browser(tmp_path).dom(page)
    text = " ".join(rendered.dom.text().split())
    document = json.loads(next(out.glob("*.json")).read_text())
    assert all(f"{row['tickets']:,}" in text for row in document["tiers"])
    assert len(rendered.dom.all("svg")) == 6  # a chart per metric
    shot = tmp_path / "service.png"
    Browser(tmp_path).run(page.as_uri(), f"--screenshot={shot}", "--window-size=1280,1500")
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
