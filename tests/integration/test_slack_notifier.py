"""SlackNotifier against the sandbox's webhook receiver: retries, refusals, pacing, and a URL that never leaks."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from worker.core.redaction import redact
from worker.core.report import AccountLine, Category, Report, TierCount
from worker.io.slack import SendResult, SlackNotifier, notifier_from_settings
from worker.render.report import report_document
from worker.render.slack import drift_message
from worker.sandbox.slack import SlackReceiver
from worker.settings import load_settings

pytestmark = pytest.mark.integration


class FakeTime:
    """An injected clock and sleep: sleeping moves the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):  # slack-sdk would send 127.0.0.1 there
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver() -> Iterator[SlackReceiver]:
    with SlackReceiver() as slack:
        yield slack


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def notifier(url: str, fake_time: FakeTime, **options: Any) -> SlackNotifier:
    return SlackNotifier(url, sleep=fake_time.sleep, clock=fake_time.clock, **options)


def payload() -> dict[str, object]:
    accounts = (AccountLine("001A0000000001AAA", "<!channel> Acme & Sons", Category.DRIFT, "enterprise",
                            "tier_enterprise", "tier_starter", 11, None),)
    report = Report("r-1", "2026-01-02T03:04:05Z", accounts, (TierCount("enterprise", "Enterprise", "tier_enterprise",
                                                                          1, 0),))
    return drift_message(report_document(report), "/var/reports/r-1.html")


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- sent ------------------------------------------------------------------------------------------------------


def test_one_message_is_sent_with_the_exact_block_kit_json(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    message = payload()
    result = notifier(receiver.url, fake_time).send(message)
    assert result == SendResult(True, 200, None, 1)
    assert receiver.messages == [message]
    post = receiver.posts[0]
    assert post.path == "/services/T000/B000/XXXXXXXX" and post.method == "POST"
    assert post.headers["Content-Type"].startswith("application/json")
    assert json.loads(post.raw) == {
        "text": "tiersync: tier drift in 1 account(s) and 0 routing object(s)",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "tiersync: tier drift found", "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text":
                "*1* of 1 accounts differ from their Salesforce tier in Zendesk · no earlier report to compare "
                "with · routing drift: *0*"}},
            {"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text":
                "*Drifted accounts* (name — expected → actual)\n• &lt;!channel&gt; Acme &amp; Sons "
                "(001A0000000001AAA) — tier_enterprise → tier_starter"}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "verbatim": True, "text": "Full report: /var/reports/r-1.html"},
                {"type": "mrkdwn", "verbatim": True, "text": "Report r-1 · generated 2026-01-02T03:04:05Z"}]},
        ],
    }
    assert fake_time.sleeps == []


def test_429_waits_retry_after_then_sends(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    receiver.fail_next(429, "rate_limited", {"Retry-After": "1"})
    result = notifier(receiver.url, fake_time).send(payload())
    assert result.sent and result.attempts == 2
    assert fake_time.sleeps == [1.0]
    assert [p.status for p in receiver.posts] == [429, 200]


def test_a_retry_after_longer_than_max_wait_is_not_waited_for(receiver: SlackReceiver, fake_time: FakeTime,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    receiver.fail_next(429, "rate_limited", {"Retry-After": "120"})
    result = notifier(receiver.url, fake_time, max_wait=30).send(payload())
    assert not result.sent and result.status == 429 and not result.permanent
    assert result.error == "HTTP 429 rate_limited; Retry-After 120s is longer than tiersync waits (30s)"
    assert fake_time.sleeps == [] and len(receiver.posts) == 1
    assert len(warnings(caplog)) == 1


def test_500_twice_then_sent(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    receiver.fail_next(500, "rollup_error", times=2)
    result = notifier(receiver.url, fake_time).send(payload())
    assert result == SendResult(True, 200, None, 3)
    assert fake_time.sleeps == [1.0, 2.0]
    assert len(receiver.messages) == 1


def test_500_always_gives_up_within_the_budget(receiver: SlackReceiver, fake_time: FakeTime,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.fail_next(500, "rollup_error", times=10)
    result = notifier(receiver.url, fake_time, max_attempts=3, max_wait=30).send(payload())
    assert result == SendResult(False, 500, "HTTP 500 rollup_error after 3 attempts", 3)
    assert len(receiver.posts) == 3 and receiver.messages == []
    assert fake_time.sleeps == [1.0, 2.0]
    [line] = warnings(caplog)
    assert line.getMessage() == ("slack: message not sent: HTTP 500 rollup_error after 3 attempts "
                                 "(the alert is sent again on the next reconcile)")


def test_max_wait_bounds_the_backoff_too(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    receiver.fail_next(503, "", times=10)
    result = notifier(receiver.url, fake_time, max_attempts=10, max_wait=2).send(payload())
    assert not result.sent and result.attempts == 2 and result.error == "HTTP 503 after 2 attempts"
    assert sum(fake_time.sleeps) <= 2


@pytest.mark.parametrize(("status", "body"), [(404, "no_service"), (404, "channel_not_found"), (410, "channel_is_archived"),
                                              (403, "action_prohibited"), (403, "invalid_token"), (400, "invalid_payload")])
def test_other_4xx_is_not_retried(receiver: SlackReceiver, fake_time: FakeTime, caplog: pytest.LogCaptureFixture,
                                  status: int, body: str) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.fail_next(status, body, times=5)
    result = notifier(receiver.url, fake_time).send(payload())
    assert result == SendResult(False, status, f"HTTP {status} {body}", 1) and result.permanent
    assert len(receiver.posts) == 1 and fake_time.sleeps == []
    [record] = caplog.records  # one line, nothing from slack-sdk
    assert record.levelno == logging.WARNING and record.name == "worker.io.slack"
    assert f"HTTP {status} {body}" in record.getMessage() and "not retried" in record.getMessage()
    assert receiver.url not in caplog.text and "XXXXXXXX" not in caplog.text


def test_no_service_names_the_fix(receiver: SlackReceiver, fake_time: FakeTime,
                                  caplog: pytest.LogCaptureFixture) -> None:
    receiver.fail_next(404, "no_service")
    notifier(receiver.url, fake_time).send(payload())
    assert "SLACK_WEBHOOK_URL" in caplog.text


def test_a_stopped_receiver_is_not_an_exception(fake_time: FakeTime, caplog: pytest.LogCaptureFixture) -> None:
    with SlackReceiver() as slack:
        url = slack.url
    result = notifier(url, fake_time).send(payload())
    assert result == SendResult(False, None, "connection failed after 3 attempts", 3)
    assert fake_time.sleeps == [1.0, 2.0]
    assert len(warnings(caplog)) == 1 and url not in caplog.text


def test_a_timeout_is_retried(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    receiver.fail_next(200, "ok", delay=3)  # answers after the 1 s timeout
    result = notifier(receiver.url, fake_time, timeout=1, max_attempts=2).send(payload())
    assert result.sent and result.attempts == 2 and fake_time.sleeps == [1.0]


def test_a_timeout_every_time_gives_up(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    receiver.fail_next(200, "ok", delay=3)
    result = notifier(receiver.url, fake_time, timeout=1, max_attempts=1).send(payload())
    assert result == SendResult(False, None, "timed out after 1 attempt", 1)


def test_a_url_that_is_not_http_is_a_result_not_an_exception(fake_time: FakeTime,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    canary = f"ftp://hooks.example/services/T1/B1/{uuid.uuid4().hex}"
    result = notifier(canary, fake_time).send(payload())
    assert result == SendResult(False, None, "the webhook URL is not an http(s) URL", 1)
    assert canary not in caplog.text and "SLACK_WEBHOOK_URL" in caplog.text


# --- pacing ----------------------------------------------------------------------------------------------------


def test_two_sends_in_a_row_are_a_second_apart(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    slack = notifier(receiver.url, fake_time)
    assert slack.send(payload()).sent
    fake_time.now += 0.25  # building the next message took a quarter of a second
    assert slack.send(payload()).sent
    assert fake_time.sleeps == [pytest.approx(0.75)]
    fake_time.now += 5
    assert slack.send(payload()).sent
    assert len(fake_time.sleeps) == 1 and len(receiver.messages) == 3


def test_pacing_covers_retries_too(receiver: SlackReceiver, fake_time: FakeTime) -> None:
    receiver.fail_next(429, "rate_limited", {"Retry-After": "0"})
    assert notifier(receiver.url, fake_time).send(payload()).sent
    assert sum(fake_time.sleeps) == pytest.approx(1.0)


# --- the webhook URL is a secret -------------------------------------------------------------------------------


def test_the_webhook_url_never_leaks(fake_time: FakeTime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = f"canary{uuid.uuid4().hex}"
    results: list[SendResult] = []
    with SlackReceiver(token=token) as receiver:
        url = receiver.url
        slack = notifier(url, fake_time)
        results.append(slack.send(payload()))
        receiver.fail_next(500, f"failed posting to {url}", times=3)  # a body that quotes the URL
        results.append(slack.send(payload()))
        receiver.fail_next(404, url)
        results.append(slack.send(payload()))
        receiver.fail_next(429, "rate_limited", {"Retry-After": "999"})
        results.append(slack.send(payload()))
    results.append(slack.send(payload()))  # connection refused
    assert [r.sent for r in results] == [True, False, False, False, False]
    assert token not in caplog.text and url not in caplog.text
    assert all(token not in repr(r) and token not in str(r.error) for r in results)
    assert token not in repr(slack) and repr(slack).startswith("SlackNotifier(http://127.0.0.1:")
    assert token not in redact(f"posting to {url} and {url.rsplit('/', 1)[1]}")
    assert not [r for r in caplog.records if r.name.startswith("slack_sdk") or r.name.endswith(".sdk")]


# --- from the settings -----------------------------------------------------------------------------------------


def test_no_webhook_no_notifier() -> None:
    assert notifier_from_settings(load_settings()) is None


def test_notifier_from_settings_posts_to_the_webhook(receiver: SlackReceiver,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.url)
    slack = notifier_from_settings(load_settings())
    assert slack is not None
    assert slack.send({"text": "hello"}).sent
    assert receiver.messages == [{"text": "hello"}]
