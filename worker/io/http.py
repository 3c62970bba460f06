"""The one choke point every Salesforce and Zendesk request passes through.

:class:`ServiceSession` is the ``requests.Session`` handed to simple-salesforce and zenpy. It
adds what neither library does on its own: a timeout on every call, retries in exactly one
place (tenacity; Retry-After honoured, idempotent verbs only for transport failures), pacing from
the rate-limit headers, call counting, and one typed error per failure (worker.core.errors) with
secrets scrubbed. It follows no redirect: a 3xx is an error naming only the target's scheme and
host, so a password or token is never re-sent to another location. Raising on 429 here also
keeps zenpy 2.0.57 out of its in-process sleep-until-Retry-After loop (``BaseApi._call_api`` in
zenpy/lib/api.py sleeps a second at a time, with no bound, while a 429 carries Retry-After).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from worker.core.errors import (
    AuthError,
    QuotaExhaustedError,
    RateLimitedError,
    RemoteStateError,
    TiersyncError,
    UnreachableError,
)
from worker.core.redaction import redact

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class CallCounter:
    """Counts API calls per service (all calls, writes, and answers of 429), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._writes: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()

    def add(self, service: str, method: str, status: int | None = None) -> None:
        """Count one request sent to ``service`` (and its answer's status, when there was one)."""
        with self._lock:
            self._calls[service] += 1
            if method.upper() not in ("GET", "HEAD"):
                self._writes[service] += 1
            if status == 429:
                self._rate_limited[service] += 1

    def since(self, before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """Calls made after ``before`` (an earlier snapshot), per service."""
        now = self.snapshot()
        return {service: {kind: counts[kind] - before.get(service, {}).get(kind, 0) for kind in counts}
                for service, counts in now.items()}

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{service: {"calls": n, "writes": m, "rate_limited": k}}``."""
        with self._lock:
            return {s: {"calls": self._calls[s], "writes": self._writes[s], "rate_limited": self._rate_limited[s]}
                    for s in sorted(self._calls)}


class Pacer:
    """Slows requests down when a service says its rate-limit window is nearly spent.

    Zendesk sends ``X-Rate-Limit`` / ``X-Rate-Limit-Remaining`` and ``ratelimit-reset`` on every
    response (developer.zendesk.com, "Rate limits"). When fewer than ``reserve`` of the window's
    requests remain, the next request waits for the window to reset instead of provoking a 429.
    """

    def __init__(self, *, reserve: float = 0.05, max_wait: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._reserve, self._max_wait = reserve, max_wait
        self._clock, self._sleep = clock, sleep
        self._resume_at = 0.0
        self._lock = threading.Lock()

    def before_request(self) -> None:
        """Wait if an earlier response said the window is spent."""
        delay = self._pending()
        if delay > 0:
            log.info("pacing: waiting %.1fs for the rate-limit window to reset", delay)
            self._sleep(delay)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read the rate-limit headers of a response."""
        wait = self.window_wait(headers)
        if wait is not None:
            self._pause(wait)

    def window_wait(self, headers: Mapping[str, str]) -> float | None:
        """Seconds to pause when the response says the window is nearly spent, else None."""
        limit = _int_header(headers, "x-rate-limit", "ratelimit-limit")
        remaining = _int_header(headers, "x-rate-limit-remaining", "ratelimit-remaining")
        if limit is None or remaining is None or limit <= 0 or remaining > max(1, int(limit * self._reserve)):
            return None
        reset = _int_header(headers, "ratelimit-reset")
        return min(float(reset if reset is not None else 60), self._max_wait)

    def _pending(self) -> float:
        """Seconds still to wait before the next request (this process)."""
        with self._lock:
            return self._resume_at - self._clock()

    def _pause(self, wait: float) -> None:
        """Make every request of this process wait ``wait`` seconds from now."""
        with self._lock:
            self._resume_at = max(self._resume_at, self._clock() + wait)


def _int_header(headers: Mapping[str, str], *names: str) -> int | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in names:
        value = lowered.get(name)
        if value is not None:
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def _date_header(headers: Mapping[str, str]) -> float | None:
    """The service's clock from a response's ``Date`` header (unix seconds), or None when absent or unreadable."""
    value = headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The Retry-After header in seconds (integer or HTTP date forms), or None."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class _ErrorInfo:
    code: str
    text: str


def _error_info(response: requests.Response) -> _ErrorInfo:
    """The service's error code and words, redacted, then cut short.

    Redaction comes first: a secret the service quotes back across the cut would otherwise lose its tail,
    and the head left behind would no longer match the registered value.
    """
    try:
        body: Any = response.json()
    except ValueError:
        return _ErrorInfo("", _shortened(response.text.strip(), 200))
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Salesforce
        return _ErrorInfo(str(body[0].get("errorCode", "")), _shortened(str(body[0].get("message", "")), 300))
    if isinstance(body, dict):  # Zendesk
        error = body.get("error", "")
        code = error.get("title", "") if isinstance(error, dict) else str(error)
        text = body.get("description") or (error.get("message") if isinstance(error, dict) else "") or ""
        details = body.get("details")
        if details:
            text = f"{text} {_shortened(json.dumps(details), 200)}"
        return _ErrorInfo(_shortened(code, 100), _shortened(str(text), 300))
    return _ErrorInfo("", "")


def _shortened(text: str, limit: int) -> str:
    """``text`` redacted, then at most ``limit`` characters (never the other way round)."""
    return redact(text)[:limit]


def _is_sign_in(path: str, status: int, response: requests.Response) -> bool:
    """Tell a refused sign-in from an outage.

    Salesforce's SOAP login answers a bad password with HTTP 500 and an INVALID_LOGIN fault; its
    OAuth token endpoint answers a bad JWT or client with 400 invalid_grant / invalid_client.
    """
    if "/services/Soap/u/" in path and status == 500:
        return True
    return path.endswith("/services/oauth2/token") and status in (400, 401)


def classify(service: str, method: str, response: requests.Response) -> TiersyncError:
    """Turn an HTTP error response into the tiersync error that says what to do (see _classify)."""
    error = _classify(service, method, response)
    error.http_status = response.status_code
    return error


def _classify(service: str, method: str, response: requests.Response) -> TiersyncError:
    """Turn an HTTP error response into the tiersync error that says what to do.

    The table: 401 -> AuthError; 403 REQUEST_LIMIT_EXCEEDED -> QuotaExhaustedError; other 403 ->
    AuthError (permission); 429 -> RateLimitedError (retryable, Retry-After kept); 5xx ->
    UnreachableError (retryable); any other 4xx -> RemoteStateError with the service's own words.
    """
    status = response.status_code
    info = _error_info(response)
    path = urlsplit(response.url).path
    said = f" {info.code}".rstrip() + (f": {info.text}" if info.text else "")
    where = f"{service} {method} {path} -> HTTP {status}{said}"
    if _is_sign_in(path, status, response):
        return AuthError(f"{service} sign-in failed ({where})",
                         hint=f"check the {service.upper()}_* credentials (and SALESFORCE_DOMAIN) in the environment")
    if status == 401:
        return AuthError(f"{service} rejected the credentials ({where})",
                         hint=f"check the {service.upper()}_* credentials in the environment")
    if status == 403 and info.code == "REQUEST_LIMIT_EXCEEDED":
        return QuotaExhaustedError(f"{service} daily API request limit is exhausted ({where})",
                                   hint="wait for the rolling 24-hour allocation to recover; do not retry now")
    if status == 403:
        return AuthError(f"{service} refused the request: the user lacks permission ({where})",
                         hint="use an admin user's token (Zendesk) or a user with API access (Salesforce)")
    if status == 429:
        return RateLimitedError(f"{service} rate limit reached ({where})", hint="tiersync retries after Retry-After",
                                retry_after=retry_after_seconds(response.headers))
    if status >= 500:
        return UnreachableError(f"{service} failed ({where})", hint="the service is having trouble; retry later")
    hint = "check the tier file's Salesforce field names and where condition" if info.code in (
        "INVALID_FIELD", "MALFORMED_QUERY", "INVALID_TYPE") else "see the service's message"
    return RemoteStateError(f"{service} rejected the request ({where})", hint=hint)


_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_HOST = re.compile(r"[a-z0-9._:-]+")  # urlsplit().hostname: lower-cased, IPv6 brackets removed
_URL_SETTING = {"salesforce": "SALESFORCE_INSTANCE_URL (or SALESFORCE_DOMAIN)", "zendesk": "ZENDESK_URL"}


def redirect_target(response: requests.Response) -> str:
    """Where a 3xx response points, as ``scheme://host[:port]`` only: no user-info, path or query.

    A relative Location resolves against the request's URL. A Location that does not parse into a
    plain scheme and host is named generically, so no untrusted header text reaches a message.
    """
    location = response.headers.get("Location")
    if not location:
        return "an unnamed location (no Location header)"
    try:
        parts = urlsplit(urljoin(response.url or "", location))
        host, port, scheme = parts.hostname or "", parts.port, parts.scheme.lower()
    except ValueError:
        return "an unparseable location"
    if not _SCHEME.fullmatch(scheme) or not _HOST.fullmatch(host):
        return "an unparseable location"
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def redirect_error(service: str, method: str, response: requests.Response) -> UnreachableError:
    """A 3xx answer: tiersync follows no redirect, so credentials never go to another URL.

    Not retried: the configured URL itself is wrong (it answered with a redirect).
    """
    path = urlsplit(response.url or "").path
    error = UnreachableError(
        f"{service} {method} {path} answered HTTP {response.status_code} redirect to {redirect_target(response)}; "
        "tiersync follows no redirects",
        hint=f"set {_URL_SETTING.get(service, 'the service URL')} to the final https URL of the service")
    error.retryable = False
    error.http_status = response.status_code
    return error


def _transport_error(service: str, url: str, exc: requests.RequestException) -> UnreachableError:
    host = urlsplit(url).netloc.rpartition("@")[2]  # host[:port]; never the user-info
    if isinstance(exc, requests.exceptions.SSLError):
        error = UnreachableError(f"{service}: TLS verification of {host} failed",
                                 hint="set REQUESTS_CA_BUNDLE to the CA bundle that signed its certificate")
        error.retryable = False
        return error
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return UnreachableError(f"{service}: {host} {kind}", hint="check the URL, the network and the service status")


class ServiceSession(requests.Session):
    """A ``requests.Session`` with timeouts, one retry policy, pacing, counting and typed errors.

    Args:
        service: "salesforce" or "zendesk", used in messages and counts.
        timeout: read timeout in seconds; the connect timeout is a third of it (at least 3 s).
        max_attempts: attempts per request for retryable failures.
        max_retry_wait: a Retry-After longer than this is not waited for in-process.
        counter: where calls are counted.
        pacer: shared pacing state (one per service per process).
        sleep: injectable for tests.
        ca_bundle: a CA bundle file to verify certificates with; passed on every request, where it
            beats the process environment (psf/requests issue #5209), so no run edits os.environ.

    """

    def __init__(self, service: str, *, timeout: float = 30.0, max_attempts: int = 5,
                 max_retry_wait: float = 60.0, counter: CallCounter | None = None,
                 pacer: Pacer | None = None, sleep: Callable[[float], None] = time.sleep,
                 ca_bundle: str | None = None) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle
        self.service = service
        self.timeout = (max(3.0, timeout / 3), timeout)
        self.max_attempts, self.max_retry_wait = max_attempts, max_retry_wait
        self.counter = counter or CallCounter()
        self.server_time: float | None = None  # the service's clock, from the last response's Date header
        self.pacer = pacer or Pacer(sleep=sleep)
        self._sleep = sleep
        self.max_redirects = 0  # never follow a redirect (see get_redirect_target and request)
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)  # retries live here, not urllib3
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        return float(min(30.0, 0.5 * 2 ** (state.attempt_number - 1)) * (0.5 + random.random() / 2))  # noqa: S311

    def _retryable(self, method: str, max_wait: float) -> Callable[[BaseException], bool]:
        def check(error: BaseException) -> bool:
            if not isinstance(error, TiersyncError) or not error.retryable:
                return False
            if isinstance(error, RateLimitedError):
                return error.retry_after is None or error.retry_after <= max_wait
            return method.upper() in IDEMPOTENT_METHODS

        return check

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """No redirect is ever followed, even by a direct ``send(..., allow_redirects=True)``.

        A redirected SOAP login would re-POST the password and security token to the new location
        (possibly plain http), and a redirected API call would carry the Authorization header.
        """
        return None

    def request(self, method: str | bytes, url: str | bytes, *args: Any, max_retry_wait: float | None = None,
                **kwargs: Any) -> requests.Response:
        """Send one request through the policy; return a 2xx response or raise a TiersyncError.

        Redirects are never followed (``allow_redirects`` is forced off); a 3xx is an error.
        ``max_retry_wait`` lowers the longest Retry-After waited for this request (a read the caller can
        do without, such as the incremental export, need not hold the run lock for a minute).
        """
        wait_limit = self.max_retry_wait if max_retry_wait is None else min(max_retry_wait, self.max_retry_wait)
        method_s = method.decode() if isinstance(method, bytes) else method
        url_s = url.decode() if isinstance(url, bytes) else url
        kwargs.setdefault("timeout", self.timeout)
        if self.ca_bundle:
            kwargs.setdefault("verify", self.ca_bundle)
        kwargs["allow_redirects"] = False
        retrying = Retrying(stop=stop_after_attempt(self.max_attempts), wait=self._wait,
                            retry=retry_if_exception(self._retryable(method_s, wait_limit)), sleep=self._sleep,
                            reraise=True, before_sleep=self._log_retry)
        return retrying(self._attempt, method_s, url_s, *args, **kwargs)

    def _attempt(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        self.pacer.before_request()
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            self.counter.add(self.service, method)
            raise _transport_error(self.service, url, exc) from None
        self.counter.add(self.service, method, response.status_code)
        self.server_time = _date_header(response.headers) or self.server_time
        self.pacer.observe(response.headers)
        if response.status_code < 300:
            return response
        if response.status_code < 400:
            raise redirect_error(self.service, method.upper(), response)
        raise classify(self.service, method.upper(), response)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: attempt %d failed (%s); retrying in %.1fs", self.service, state.attempt_number,
                    redact(str(error)), state.upcoming_sleep)
