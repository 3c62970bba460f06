"""The one HTTP choke point: retries, Retry-After, classification, counting, pacing, redaction."""

import pytest
import requests
import responses
from responses import registries

from worker.core.errors import (
    AuthError,
    QuotaExhaustedError,
    RateLimitedError,
    RemoteStateError,
    UnreachableError,
)
from worker.core.redaction import register_secret
from worker.io.http import Pacer, ServiceSession, retry_after_seconds

URL = "https://acme.zendesk.com/api/v2/organizations.json"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def session(**kwargs) -> tuple[ServiceSession, Sleeps]:
    sleeps = Sleeps()
    return ServiceSession("zendesk", sleep=sleeps, **kwargs), sleeps


@responses.activate(registry=registries.OrderedRegistry)
def test_429_waits_retry_after_then_succeeds() -> None:
    responses.get(URL, status=429, headers={"Retry-After": "7"}, json={"error": "APIRateLimitExceeded"})
    responses.get(URL, json={"organizations": []})
    s, sleeps = session()
    assert s.get(URL).status_code == 200
    assert sleeps == [7.0]
    assert s.counter.snapshot() == {"zendesk": {"calls": 2, "writes": 0}}


@responses.activate
def test_429_longer_than_budget_raises_without_sleeping() -> None:
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    s, sleeps = session(max_retry_wait=60)
    with pytest.raises(RateLimitedError) as caught:
        s.get(URL)
    assert caught.value.retry_after == 3600
    assert sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_5xx_is_retried_up_to_max_attempts_for_idempotent_requests() -> None:
    responses.get(URL, status=503, body="busy")
    s, sleeps = session(max_attempts=3)
    with pytest.raises(UnreachableError, match="HTTP 503"):
        s.get(URL)
    assert len(responses.calls) == 3
    assert len(sleeps) == 2


@responses.activate
def test_post_is_not_retried_on_5xx() -> None:
    responses.post(URL, status=500, json={"error": "oops"})
    s, _ = session()
    with pytest.raises(UnreachableError):
        s.post(URL, json={})
    assert len(responses.calls) == 1


@responses.activate(registry=registries.OrderedRegistry)
def test_post_is_retried_on_429() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "1"})
    responses.post(URL, status=201, json={})
    s, _ = session()
    assert s.post(URL, json={}).status_code == 201


@responses.activate(registry=registries.OrderedRegistry)
def test_connection_errors_are_retried() -> None:
    responses.get(URL, body=requests.ConnectionError("reset"))
    responses.get(URL, json={})
    s, sleeps = session()
    assert s.get(URL).status_code == 200
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (401, {"error": "Couldn't authenticate you"}, AuthError, "rejected the credentials"),
        (403, {"error": "Forbidden"}, AuthError, "lacks permission"),
        (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
         QuotaExhaustedError, "daily API request limit"),
        (400, [{"errorCode": "INVALID_FIELD", "message": "No such column 'X__c'"}], RemoteStateError,
         "INVALID_FIELD: No such column"),
        (422, {"error": "RecordInvalid", "description": "Record validation errors",
               "details": {"key": [{"error": "DuplicateValue"}]}}, RemoteStateError, "DuplicateValue"),
        (404, {"error": "InvalidEndpoint"}, RemoteStateError, "HTTP 404"),
    ],
)
@responses.activate
def test_classification_table(status, body, error, text) -> None:
    responses.get(URL, status=status, json=body)
    s, _ = session()
    with pytest.raises(error, match=text):
        s.get(URL)
    assert len(responses.calls) == 1  # none of these is retried


@responses.activate
def test_every_request_has_a_timeout() -> None:
    seen = {}

    def callback(request):
        seen["timeout"] = request.req_kwargs["timeout"]
        return 200, {}, "{}"

    responses.add_callback(responses.GET, URL, callback=callback)
    s, _ = session(timeout=30)
    s.get(URL)
    assert seen["timeout"] == (10.0, 30)


@responses.activate
def test_error_messages_never_carry_secrets() -> None:
    register_secret("canary-secret-token-123")
    responses.get(URL, status=401, json={"error": "bad token canary-secret-token-123",
                                         "description": "Authorization: Basic canary-secret-token-123"})
    s, _ = session()
    with pytest.raises(AuthError) as caught:
        s.get(URL)
    assert "canary-secret-token-123" not in str(caught.value)
    assert "****" in str(caught.value)


def test_pacer_waits_when_window_nearly_spent() -> None:
    now = [100.0]
    sleeps = Sleeps()
    pacer = Pacer(clock=lambda: now[0], sleep=sleeps)
    pacer.observe({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "500", "ratelimit-reset": "30"})
    pacer.before_request()
    assert sleeps == []
    pacer.observe({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "10", "ratelimit-reset": "12"})
    pacer.before_request()
    assert sleeps == [12.0]


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "5"}) == 5
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
