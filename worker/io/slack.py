"""Posting alerts to a Slack incoming webhook; a Slack failure never fails the caller.

:class:`SlackNotifier` sends one Block Kit payload through slack-sdk's ``WebhookClient``
(``slack_sdk.webhook.WebhookClient(url, timeout=..., logger=..., retry_handlers=...)``; ``send(text=...,
blocks=...)`` returns a ``WebhookResponse`` with ``status_code`` and ``body``, ``200``/``"ok"`` on success:
docs.slack.dev/tools/python-slack-sdk/webhook). The SDK's own retry handlers are switched off
(``retry_handlers=[]``) so retries live in one place, here, with an injectable sleep:

- 429: waits the ``Retry-After`` Slack sends (1 s without one), unless the wait would pass ``max_wait``;
- 5xx, timeouts and connection failures: retried after 1 s, 2 s, 4 s... within ``max_attempts`` and ``max_wait``;
- any other answer (400 ``invalid_payload``, 403 ``action_prohibited``/``invalid_token``, 404 ``no_service``/
  ``channel_not_found``, 410 ``channel_is_archived``): not retried; the webhook or the message is wrong.

Slack allows about one message a second per webhook (api.slack.com/docs/rate-limits: "no more than one message
per second", then 429 with Retry-After), so the notifier also paces itself: a POST waits until a second
after the previous one. Pacing is per notifier: keep one per process.

:meth:`SlackNotifier.send` never raises for a Slack failure: it returns a :class:`SendResult` and logs one line.
A timeout after Slack did post can make a retry post the message twice; for an alert, twice beats never.

The webhook URL is the credential. It is registered for redaction when the notifier is built, it is never put
in a log line, an error or a result, and the SDK's logger (which logs the URL and the payload at DEBUG, and
exception texts at ERROR) is silenced: the notifier logs for it.
"""

from __future__ import annotations

import http.client
import logging
import math
import re
import threading
import time
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from worker.core.redaction import register_secret
from worker.io.http import retry_after_seconds
from worker.settings.slack import SlackSettings

log = logging.getLogger(__name__)

_sdk_log = logging.getLogger(f"{__name__}.sdk")
_sdk_log.setLevel(logging.CRITICAL + 1)  # WebhookClient logs only when its logger's level allows DEBUG
_sdk_log.propagate = False
_sdk_log.addHandler(logging.NullHandler())

MIN_INTERVAL = 1.0  # seconds between two POSTs to one webhook
_MIN_TOKEN = 8  # a shorter last path segment is a word, not a token (Slack's are 24 characters)
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")  # Slack's error strings: no_service, channel_is_archived...
_HINTS = {
    400: "Slack refused the message itself, a tiersync bug; not retried",
    403: "the webhook may not post: check SLACK_WEBHOOK_URL and the Slack app; not retried",
    404: "the webhook was removed or its channel is gone: create a webhook and set SLACK_WEBHOOK_URL; not retried",
    410: "the channel is archived: set SLACK_WEBHOOK_URL to a webhook of a live channel; not retried",
}


@dataclass(frozen=True)
class SendResult:
    """What became of one message.

    Attributes:
        sent: Slack accepted it.
        status: the HTTP status of Slack's last answer; None when none came (connection failed, timed out).
        error: why it was not sent (e.g. ``HTTP 404 no_service``, ``timed out``); never the webhook URL.
        attempts: POSTs made.

    """

    sent: bool
    status: int | None
    error: str | None = None
    attempts: int = 0

    @property
    def permanent(self) -> bool:
        """Slack refused the webhook or the message (4xx other than 429): sending again will not help."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


@dataclass(frozen=True)
class _Attempt:
    status: int | None
    error: str | None  # None: sent
    retryable: bool = False
    retry_after: float | None = None


class SlackNotifier:
    """Sends payloads to one incoming webhook: bounded retries, paced, never raising for Slack's failures.

    Args:
        webhook_url: the incoming-webhook URL (a secret).
        timeout: seconds per request, rounded up to whole seconds (``WebhookClient`` types it as ``int``).
        max_attempts: POSTs per message at most.
        max_wait: seconds of retry waits per message at most; a longer Retry-After is not waited for.
        sleep: injectable for tests. clock: monotonic seconds, injectable for tests (pacing).

    """

    def __init__(self, webhook_url: str, *, timeout: float = 10, max_attempts: int = 3, max_wait: float = 30,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        register_secret(webhook_url)
        path = _path(webhook_url)
        token = path.rstrip("/").rpartition("/")[2]
        if path.count("/") > 1:  # /services/T.../B.../<token>: the path, and the token alone, are secret too
            register_secret(path)
        if len(token) >= _MIN_TOKEN:
            register_secret(token)
        if max_attempts < 1 or not timeout > 0 or not max_wait >= 0:
            raise ValueError("SlackNotifier needs max_attempts >= 1, timeout > 0 and max_wait >= 0")
        from slack_sdk.webhook import WebhookClient  # imported by the runs that alert: a sync never pays for it

        self._client = WebhookClient(webhook_url, timeout=max(1, math.ceil(timeout)), logger=_sdk_log,
                                     retry_handlers=[])
        self._where = _origin(webhook_url)
        self._max_attempts, self._max_wait = max_attempts, max_wait
        self._sleep, self._clock = sleep, clock
        self._last_post: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SlackNotifier({self._where})"

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        """Post ``payload`` (``{"text": ..., "blocks": [...]}``); retry what is worth retrying; never raise."""
        with self._lock:
            result = self._send(dict(payload))
        if result.sent:
            log.info("slack: message sent (attempt %d)", result.attempts)
        else:
            log.warning("slack: message not sent: %s (%s)", result.error, _hint(result))
        return result

    def _send(self, payload: dict[str, Any]) -> SendResult:
        waited = 0.0
        attempt = _Attempt(None, "not attempted")
        for number in range(1, self._max_attempts + 1):
            self._pace()
            attempt = self._post(payload)
            if attempt.error is None:
                return SendResult(True, attempt.status, None, number)
            if not attempt.retryable or number == self._max_attempts:
                suffix = _after(number) if attempt.retryable else ""
                return SendResult(False, attempt.status, f"{attempt.error}{suffix}", number)
            wait = attempt.retry_after if attempt.retry_after is not None else min(2.0 ** (number - 1), 30.0)
            if waited + wait > self._max_wait:
                why = (f"; Retry-After {wait:g}s is longer than tiersync waits ({self._max_wait:g}s)"
                       if attempt.retry_after is not None else _after(number))
                return SendResult(False, attempt.status, f"{attempt.error}{why}", number)
            log.debug("slack: attempt %d failed (%s); retrying in %.1fs", number, attempt.error, wait)
            self._sleep(wait)
            waited += wait
        return SendResult(False, attempt.status, attempt.error, self._max_attempts)  # not reached: the loop returns

    def _pace(self) -> None:
        """Wait until a second after the previous POST (Slack: about one message a second)."""
        if self._last_post is not None:
            wait = self._last_post + MIN_INTERVAL - self._clock()
            if wait > 0:
                self._sleep(wait)

    def _post(self, payload: dict[str, Any]) -> _Attempt:
        """One POST through the SDK, as an outcome; no exception escapes, and no text holds the URL."""
        from slack_sdk.errors import SlackRequestError

        try:
            response = self._client.send_dict(payload)
        except SlackRequestError:  # its message quotes the URL
            return _Attempt(None, "the webhook URL is not an http(s) URL")
        except http.client.InvalidURL:
            return _Attempt(None, "the webhook URL is malformed")
        except (OSError, http.client.HTTPException) as exc:  # URLError, TimeoutError, ConnectionError...
            return _Attempt(None, "timed out" if _timed_out(exc) else "connection failed", retryable=True)
        except ValueError:
            return _Attempt(None, "the webhook URL is malformed")
        except Exception as exc:  # noqa: BLE001 - a Slack alert must never fail the reconcile that sends it
            return _Attempt(None, f"unexpected error ({type(exc).__name__})")
        finally:
            self._last_post = self._clock()
        status = response.status_code
        if 200 <= status < 300:
            return _Attempt(status, None)
        said = _code(response.body)
        error = f"HTTP {status}" + (f" {said}" if said else "")
        if status == 429:
            retry_after = retry_after_seconds(response.headers or {})
            return _Attempt(status, error, True, MIN_INTERVAL if retry_after is None else retry_after)
        return _Attempt(status, error, retryable=status >= 500)


def notifier_from_settings(settings: SlackSettings) -> SlackNotifier | None:
    """The notifier for SLACK_WEBHOOK_URL, or None when it is unset (no alerts)."""
    if settings.slack_webhook_url is None:
        return None
    return SlackNotifier(settings.slack_webhook_url.get_secret_value())


def _after(attempts: int) -> str:
    return f" after {attempts} attempt{'s' if attempts != 1 else ''}"


def _code(body: Any) -> str:
    """Slack's error string (``no_service``), or "" for any other body: no untrusted text reaches a log line."""
    text = body.strip() if isinstance(body, str) else ""
    return text if _CODE.fullmatch(text) else ""


def _hint(result: SendResult) -> str:
    """What the operator should know about a failed send."""
    if result.status in _HINTS:
        return _HINTS[result.status]
    redirected = result.status is not None and 300 <= result.status < 400  # urllib follows 301-303 itself
    if result.permanent or redirected or (result.error or "").startswith("the webhook URL"):
        return "fix SLACK_WEBHOOK_URL; not retried"
    if result.error and result.error.startswith("unexpected error"):
        return "a tiersync bug; not retried"
    return "the alert is sent again on the next reconcile"


def _timed_out(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.URLError):
        return isinstance(exc.reason, TimeoutError)
    return isinstance(exc, TimeoutError)


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of the webhook, for a repr; never the path, which holds the token."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "an unparseable URL"
