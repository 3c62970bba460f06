"""The Slack messages: untrusted text never pings or links, Block Kit limits hold, the first N then "…and N more"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from worker.core.report import AccountLine, Category, Report, RoutingLine, TierCount
from worker.render.report import report_document
from worker.render.slack import (
    MAX_BLOCKS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    drift_message,
    recovery_message,
    slack_escape,
    slack_text,
)

HOSTILE = "<!channel> <@U1> <https://evil.example|click> <script>alert(1)</script> & <#C1> <!subteam^S1>"
TIERS = (TierCount("enterprise", "Enterprise", "tier_enterprise", 1, 1),)


def account(i: int, *, name: str | None = None, category: Category = Category.DRIFT, expected: str | None = "tier_enterprise",
            actual: str | None = "tier_starter", detail: str = "", account_id: str | None = None) -> AccountLine:
    return AccountLine(account_id or f"001A0000000{i:04d}AAA", f"Account {i}" if name is None else name, category,
                       "enterprise", expected, actual, 1000 + i, "2026-01-01T00:00:00Z", detail)


def document(accounts: tuple[AccountLine, ...], routing: tuple[RoutingLine, ...] = (), *,
             previous: str | None = "r-0", new: tuple[str, ...] = (), report_id: str = "r-1",
             generated_at: str = "2026-01-02T03:04:05Z") -> dict[str, Any]:
    report = Report(report_id, generated_at, accounts, TIERS, routing=routing, previous_report=previous, new_drift=new)
    return report_document(report)


def strings(value: Any) -> Iterator[str]:
    """Every string in a payload, keys excepted."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def text_objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text"):
            yield value
        for item in value.values():
            yield from text_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from text_objects(item)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def assert_inert(payload: dict[str, Any]) -> None:
    """No Slack control character is left unescaped anywhere; every mrkdwn object is verbatim."""
    for text in strings(payload):
        bare = re.sub(r"&(amp|lt|gt);", "", text)
        assert "<" not in bare and ">" not in bare and "&" not in bare, text
    for obj in text_objects(payload):
        if obj["type"] == "mrkdwn":
            assert obj["verbatim"] is True


def all_text(payload: dict[str, Any]) -> str:
    return "\n".join(strings(payload))


# --- escaping -------------------------------------------------------------------------------------------------


def test_escape_only_the_three_control_characters() -> None:
    assert slack_escape("<!channel> & <@U1> 'quoted' \"double\" *bold*") == \
        "&lt;!channel&gt; &amp; &lt;@U1&gt; 'quoted' \"double\" *bold*"
    assert slack_escape("&amp;") == "&amp;amp;"  # an entity in a name is text too


def test_slack_text_shows_control_characters_and_cuts_before_escaping() -> None:
    assert slack_text("Acme\n• Fake — x → y\x1b[2J\u202e") == "Acme\\n• Fake — x → y\\x1b[2J\\u202e"
    assert slack_text(None) == "(none)" and slack_text("", empty="(no name)") == "(no name)"
    cut = slack_text("<" * 100, 10)
    assert cut == "&lt;" * 9 + "…"  # never half an entity


@pytest.mark.parametrize("field", ["name", "account_id", "expected", "actual", "detail"])
def test_hostile_account_text_arrives_as_literal_text(field: str) -> None:
    values: dict[str, Any] = {"name": "Acme", "account_id": None, "expected": "tier_enterprise",
                              "actual": "tier_starter", "detail": "boom"}
    values[field] = HOSTILE
    line = account(1, category=Category.LAST_WRITE_FAILED, **values)
    payload = drift_message(document((line,)), "/reports/r-1.html")
    assert_inert(payload)
    assert "&lt;!channel&gt;" in all_text(payload)
    assert any(HOSTILE[:20] in unescape(text) for text in strings(payload))  # ids are cut at 24 characters


def test_hostile_routing_report_and_location_text_is_escaped() -> None:
    routing = (RoutingLine(HOSTILE, HOSTILE, 7, "drift", HOSTILE), RoutingLine("view", "x", 8, "missing", HOSTILE))
    doc = document((account(1, name=HOSTILE),), routing, report_id=HOSTILE, generated_at=HOSTILE,
                   new=(f"routing:{HOSTILE}:{HOSTILE}",))
    location = "https://reports.example/r?a=1&b=<!here>"
    for payload in (drift_message(doc, location), recovery_message(doc, location)):
        assert_inert(payload)
        assert "https://reports.example/r?a=1&amp;b=&lt;!here&gt;" in all_text(payload)
    assert "routing drift: *2*" in all_text(drift_message(doc, location))


def test_no_link_or_mention_syntax_survives() -> None:
    payload = drift_message(document(tuple(account(i, name=HOSTILE) for i in range(3))), HOSTILE)
    text = all_text(payload)
    for token in ("<!channel>", "<@U1>", "<https://", "<script>", "<#C1>", "<!subteam"):
        assert token not in text


# --- content and shape ----------------------------------------------------------------------------------------


def test_drift_message_shape() -> None:
    accounts = (account(1, name="Acme & Sons"), account(2, category=Category.LAST_WRITE_FAILED, actual=None,
                                                         detail="Zendesk said 422"),
                account(3, category=Category.IN_SYNC, expected="tier_enterprise", actual="tier_enterprise"))
    new = ("account:001A00000000001AAA:tier_enterprise:tier_starter",)
    payload = drift_message(document(accounts, new=new), "/var/reports/r-1.html")
    assert payload == {
        "text": "tiersync: tier drift in 2 account(s) and 0 routing object(s)",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "tiersync: tier drift found", "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text":
                "*2* of 3 accounts differ from their Salesforce tier in Zendesk · *1* new since the last report · "
                "routing drift: *0*"}},
            {"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text":
                "*Drifted accounts* (name — expected → actual)\n"
                "• Acme &amp; Sons (001A00000000001AAA) — tier_enterprise → tier_starter _(new)_\n"
                "• Account 2 (001A00000000002AAA) — tier_enterprise → (none) — last write failed: Zendesk said 422"}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "verbatim": True, "text": "Full report: /var/reports/r-1.html"},
                {"type": "mrkdwn", "verbatim": True, "text": "Report r-1 · generated 2026-01-02T03:04:05Z"}]},
        ],
    }


def test_first_report_says_there_is_nothing_to_compare() -> None:
    payload = drift_message(document((account(1),), previous=None), "x")
    assert "no earlier report to compare with" in all_text(payload)
    assert "new since the last report" not in all_text(payload)


def test_routing_drift_is_listed_after_the_accounts() -> None:
    routing = (RoutingLine("trigger", "Enterprise tier routing", 7, "drift", "conditions"),
               RoutingLine("view", "Starter", None, "missing", "missing"),
               RoutingLine("trigger", "Someone's", 9, "collision", "left alone"))
    payload = drift_message(document((), routing), "x")
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert sections[-1] == ("*Routing not as configured*\n• trigger Enterprise tier routing — drift: conditions\n"
                            "• view Starter — missing: missing")
    assert "Drifted accounts" not in all_text(payload)


def test_first_n_then_and_n_more() -> None:
    accounts = tuple(account(i) for i in range(25))
    payload = drift_message(document(accounts), "x")
    listing = payload["blocks"][2]["text"]["text"].split("\n")
    assert len([line for line in listing if line.startswith("• ")]) == 10
    assert listing[-1] == "…and 15 more"
    short = drift_message(document(accounts), "x", limit=3)["blocks"][2]["text"]["text"].split("\n")
    assert short[1:] == [short[1], short[2], short[3], "…and 22 more"] and "Account 0 " in short[1]
    assert "…and" not in drift_message(document(accounts[:10]), "x")["blocks"][2]["text"]["text"]


def test_new_drift_is_listed_first() -> None:
    accounts = tuple(account(i) for i in range(20))
    new = tuple(f"account:{a.account_id}:{a.expected}:{a.actual}" for a in accounts[15:])
    listing = drift_message(document(accounts, new=new), "x", limit=5)["blocks"][2]["text"]["text"].split("\n")
    assert all("_(new)_" in line for line in listing[1:6])
    assert [line.split(" (")[0] for line in listing[1:6]] == [f"• Account {i}" for i in range(15, 20)]


def test_block_kit_limits_hold_for_huge_hostile_reports() -> None:
    name = "<" * 255
    accounts = tuple(account(i, name=name, category=Category.LAST_WRITE_FAILED, detail=">" * 1000,
                             expected="&" * 300, actual="<" * 300) for i in range(2000))
    routing = tuple(RoutingLine("trigger", "<" * 500, i, "drift", "&" * 500) for i in range(500))
    payload = drift_message(document(accounts, routing), "<" * 5000, limit=5000)
    assert_inert(payload)
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= MAX_SECTION_TEXT for e in block["elements"])
    assert len(payload["text"]) <= 150
    listed = sum(b["text"]["text"].count("\n• ") + b["text"]["text"].startswith("• ")
                 for b in blocks if b["type"] == "section")
    more = [int(m.replace(",", "")) for m in re.findall(r"…and ([\d,]+) more", all_text(payload))]
    assert listed + sum(more) == 2000 + 500  # every drifted item is either listed or counted
    assert blocks[-1]["type"] == "context"


def test_recovery_message_shape() -> None:
    doc = document((account(1, category=Category.IN_SYNC, actual="tier_enterprise"),))
    assert recovery_message(doc, "/var/reports/r-2.html") == {
        "text": "tiersync: tier drift resolved",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "tiersync: tier drift resolved", "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text":
                "No account differs from its Salesforce tier any more, and routing is as configured (1 accounts "
                "checked; 0 differences resolved since the last report)."}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "verbatim": True, "text": "Full report: /var/reports/r-2.html"},
                {"type": "mrkdwn", "verbatim": True, "text": "Report r-1 · generated 2026-01-02T03:04:05Z"}]},
        ],
    }


def test_messages_are_pure() -> None:
    doc = document((account(1),))
    before = repr(doc)
    assert drift_message(doc, "x") == drift_message(doc, "x")
    assert repr(doc) == before
