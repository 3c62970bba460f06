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
    assert s.counter.snapshot() == {"zendesk": {"calls": 2, "writes": 0, "rate_limited": 1}}


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
def test_the_configured_ca_bundle_beats_the_environment(monkeypatch, tmp_path) -> None:
    seen = {}

    def callback(request):
        seen["verify"] = request.req_kwargs["verify"]
        return 200, {}, "{}"

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "from-the-environment.pem"))
    responses.add_callback(responses.GET, URL, callback=callback)
    s = ServiceSession("zendesk", ca_bundle="/etc/tiersync/ca.pem", sleep=lambda _: None)
    s.get(URL)
    assert seen["verify"] == "/etc/tiersync/ca.pem"


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


@responses.activate
@pytest.mark.parametrize(("shape", "limit"), [("zendesk", 300), ("salesforce", 300), ("text", 200)])
def test_a_secret_across_the_cut_is_masked_not_halved(shape: str, limit: int) -> None:
    """Error text is redacted before it is cut short: a secret straddling the cut would keep its head unmasked."""
    secret = "canary-straddling-token-0123456789"
    register_secret(secret)
    words = "x" * (limit - len(secret) + 10) + secret + " more"  # the cut falls 10 characters before its end
    bodies = {"zendesk": {"json": {"error": "Forbidden", "description": words}},
              "salesforce": {"json": [{"errorCode": "X", "message": words}]}, "text": {"body": words}}
    responses.get(URL, status=403, **bodies[shape])
    s, _ = session()
    with pytest.raises(AuthError) as caught:
        s.get(URL)
    assert "canary-straddling" not in str(caught.value) and "****" in str(caught.value)


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


SOAP_LOGIN = "https://test.salesforce.com/services/Soap/u/59.0"
LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><loginResponse><result>
<serverUrl>https://evil.example/services/Soap/u/59.0/00Dxx</serverUrl>
<sessionId>SESSION-FROM-EVIL</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"""
EVIL = "http://evil.example/collect"
EVIL_LOCATION = "http://spy:hunter2@evil.example/collect?steal=yes&token=leaky#frag"


@responses.activate
def test_soap_login_never_follows_a_redirect_with_the_password() -> None:
    """Defect 8: a 307 from the login URL made requests re-POST password + security token elsewhere."""
    from worker.io.salesforce import connect
    from worker.settings import Settings

    responses.post(SOAP_LOGIN, status=307, headers={"Location": EVIL_LOCATION})
    responses.post(EVIL, body=LOGIN_OK)
    settings = Settings(_env_file=None, salesforce_instance_url=None, salesforce_access_token=None,
                        salesforce_username="ops@acme.test", salesforce_password="pw-canary",
                        salesforce_security_token="st-canary", salesforce_domain="test")
    with pytest.raises(UnreachableError) as caught:
        connect(settings, ServiceSession("salesforce", sleep=lambda s: None))
    assert [call.request.url for call in responses.calls] == [SOAP_LOGIN]  # never followed, never retried
    message = str(caught.value)
    assert caught.value.message == ("salesforce POST /services/Soap/u/59.0 answered HTTP 307 redirect to "
                                    "http://evil.example; tiersync follows no redirects")
    assert "SALESFORCE_INSTANCE_URL" in caught.value.hint
    for leak in ("steal", "leaky", "spy", "hunter2", "frag", "collect"):
        assert leak not in message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@responses.activate
def test_zendesk_get_never_follows_a_redirect(status) -> None:
    responses.get(URL, status=status, headers={"Location": "https://u:p@other.example:8443/x?access_token=leak"})
    responses.get("https://other.example:8443/x", json={"organizations": []})
    s, sleeps = session()
    with pytest.raises(UnreachableError) as caught:
        s.get(URL)
    assert len(responses.calls) == 1 and sleeps == []
    assert caught.value.message == (f"zendesk GET /api/v2/organizations.json answered HTTP {status} redirect to "
                                    "https://other.example:8443; tiersync follows no redirects")
    assert "ZENDESK_URL" in caught.value.hint
    assert "leak" not in str(caught.value) and "u:p" not in str(caught.value)


@pytest.mark.parametrize(("location", "target"), [
    ("/api/v2/elsewhere.json?x=1", "https://acme.zendesk.com"),  # relative: the same host
    (None, "an unnamed location (no Location header)"),
    ("http://[::1]:8080/x", "http://[::1]:8080"),
    ("https://bad host\x1b[2J/x", "an unparseable location"),
])
@responses.activate
def test_redirect_target_is_reduced_to_scheme_and_host(location, target) -> None:
    responses.put(URL, status=302, headers={"Location": location} if location else {})
    s, _ = session()
    with pytest.raises(UnreachableError, match="follows no redirects") as caught:
        s.put(URL, json={})
    assert f"redirect to {target};" in caught.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_send_itself_follows_no_redirect() -> None:
    responses.get(URL, status=302, headers={"Location": "https://other.example/x"})
    responses.get("https://other.example/x", json={})
    s, _ = session()
    response = s.send(s.prepare_request(requests.Request("GET", URL)), allow_redirects=True)
    assert response.status_code == 302 and len(responses.calls) == 1
    assert s.max_redirects == 0


@responses.activate
def test_transport_errors_never_name_user_info() -> None:
    responses.get("https://acme.zendesk.com/x", body=requests.ConnectionError("reset"))
    s, _ = session(max_attempts=1)
    with pytest.raises(UnreachableError) as caught:
        s.get("https://ops:pw-in-url@acme.zendesk.com/x")
    assert caught.value.message == "zendesk: acme.zendesk.com connection failed"
