"""The sandbox's Slack webhook receiver answers like Slack and records every request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from worker.sandbox.slack import SlackReceiver

pytestmark = pytest.mark.integration


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    with SlackReceiver() as receiver:
        yield receiver
        assert receiver.errors == []


def post(url: str, **kwargs: Any) -> requests.Response:
    return requests.post(url, timeout=5, **kwargs)


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_a_message_is_answered_ok_and_recorded(slack: SlackReceiver) -> None:
    assert slack.url.startswith("http://127.0.0.1:") and slack.url.endswith("/services/T000/B000/XXXXXXXX")
    response = post(slack.url, json={"text": "hi", "blocks": [section("*hi*")]})
    assert (response.status_code, response.text) == (200, "ok")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert slack.messages == [{"text": "hi", "blocks": [section("*hi*")]}]
    assert slack.posts[0].path == "/services/T000/B000/XXXXXXXX"


@pytest.mark.parametrize(
    ("path", "body", "status", "said"),
    [
        ("/services/T000/B000/other", {"text": "hi"}, 404, "no_service"),
        (None, b"not json", 400, "invalid_payload"),
        (None, {"blocks": []}, 400, "no_text"),
        (None, {"text": "x", "blocks": [section("a")] * 51}, 400, "invalid_blocks"),
        (None, {"text": "x", "blocks": [section("a" * 3001)]}, 400, "invalid_blocks"),
        (None, {"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
         400, "invalid_blocks"),
        (None, {"text": "x", "blocks": [section("")]}, 400, "invalid_blocks"),
    ],
)
def test_slack_errors(slack: SlackReceiver, path: str | None, body: object, status: int, said: str) -> None:
    url = slack.url if path is None else slack.url.replace("/services/T000/B000/XXXXXXXX", path)
    response = post(url, data=body) if isinstance(body, bytes) else post(url, json=body)
    assert (response.status_code, response.text) == (status, said)
    assert slack.messages == [] and [p.status for p in slack.posts] == [status]


def test_only_post(slack: SlackReceiver) -> None:
    assert requests.get(slack.url, timeout=5).status_code == 405


def test_scripted_answers_come_in_order(slack: SlackReceiver) -> None:
    slack.fail_next(429, "rate_limited", {"Retry-After": "1"})
    slack.fail_next(500, "rollup_error", times=2)
    answers = [post(slack.url, json={"text": str(i)}) for i in range(4)]
    assert [(a.status_code, a.text) for a in answers] == [(429, "rate_limited"), (500, "rollup_error"),
                                                          (500, "rollup_error"), (200, "ok")]
    assert answers[0].headers["Retry-After"] == "1"
    assert [p.body for p in slack.posts] == [{"text": str(i)} for i in range(4)]
    assert slack.messages == [{"text": "3"}]


def test_clear_forgets_posts_and_script(slack: SlackReceiver) -> None:
    slack.fail_next(500, "rollup_error")
    post(slack.url, json={"text": "a"})
    slack.fail_next(404, "no_service")
    slack.clear()
    assert slack.posts == [] and post(slack.url, json={"text": "b"}).status_code == 200


def test_url_needs_a_started_receiver() -> None:
    with pytest.raises(RuntimeError):
        _ = SlackReceiver().url


def test_a_stopped_receiver_refuses_connections() -> None:
    with SlackReceiver(token="tok") as receiver:
        url = receiver.url
    assert url.endswith("/services/T000/B000/tok")
    with pytest.raises(requests.ConnectionError):
        post(url, json={"text": "late"})
