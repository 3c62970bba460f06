"""A local Slack incoming-webhook receiver for tests and the demo: records every POST, answers like Slack.

Slack's answers (docs.slack.dev, "Sending messages using incoming webhooks", and its changelog of webhook errors,
api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks): HTTP 200 with the plain-text body
``ok``; errors are plain-text strings: 400 ``invalid_payload`` / ``no_text`` / ``invalid_blocks``, 403
``action_prohibited`` / ``invalid_token``, 404 ``channel_not_found`` / ``no_service``, 410 ``channel_is_archived``,
500 ``rollup_error``, and 429 with a ``Retry-After`` header past about one message a second.

Usage::

    with SlackReceiver() as slack:
        slack.fail_next(429, "rate_limited", {"Retry-After": "1"})
        notifier = SlackNotifier(slack.url)
        ...
        assert slack.messages == [payload]

Plain HTTP on 127.0.0.1 (the fake Salesforce and Zendesk speak TLS; a local receiver needs no certificate). It
reuses the sandbox's request handler and request/response values (:mod:`worker.sandbox.httpbase`).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from worker.sandbox.httpbase import Request, RequestHook, Response, _Handler

TOKEN = "XXXXXXXX"
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150


@dataclass(frozen=True)
class ReceivedPost:
    """One request the receiver got, and what it answered."""

    method: str
    path: str
    body: Any  # the JSON body, or None when it was not JSON
    raw: bytes
    headers: dict[str, str]
    status: int


@dataclass
class _Scripted:
    status: int
    body: str | Callable[[Request], str]  # a function of the request: an answer that quotes it (echo_request)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class SlackReceiver:
    """A fake incoming webhook at ``http://127.0.0.1:PORT/services/T000/B000/<token>``; a context manager.

    Args:
        token: the last part of the webhook path (tests pass a canary value to check the URL never leaks).
        host: where to listen. port: 0 for a free port.
        clock: the receiver's clock (for the ``Date`` header).

    """

    def __init__(self, *, token: str = TOKEN, host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = f"/services/T000/B000/{token}"
        self.clock = clock
        self.errors: list[str] = []  # the handler's place for the receiver's own bugs (httpbase.App)
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._posts: list[ReceivedPost] = []
        self._script: deque[_Scripted] = deque()
        self._server: _PlainServer | None = None
        self._thread: threading.Thread | None = None

    # --- the test's side -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The webhook URL (the receiver must be started)."""
        if self._server is None:
            raise RuntimeError("the Slack receiver is not started")
        return f"http://{self._host}:{self._server.server_address[1]}{self.path}"

    @property
    def posts(self) -> list[ReceivedPost]:
        """Every request received, in order, with the status it was answered."""
        with self._lock:
            return list(self._posts)

    @property
    def messages(self) -> list[Any]:
        """The JSON bodies of the messages Slack would have posted (answered 200)."""
        return [post.body for post in self.posts if post.status == 200]

    def fail_next(self, status: int, body: str | Callable[[Request], str] = "", headers: dict[str, str] | None = None,
                  *, times: int = 1, delay: float = 0.0) -> None:
        """Answer the next ``times`` POSTs with ``status`` and ``body`` (after ``delay`` seconds), in order.

        ``body`` may be a function of the request, e.g. ``httpbase.echo_request`` (an answer quoting the URL).

        E.g. ``fail_next(429, "rate_limited", {"Retry-After": "1"})``, ``fail_next(404, "no_service")``,
        ``fail_next(500, "rollup_error", times=2)``; ``fail_next(200, "ok", delay=2)`` answers late (a timeout).
        """
        with self._lock:
            for _ in range(times):
                self._script.append(_Scripted(status, body, dict(headers or {}), delay))

    def clear(self) -> None:
        """Forget the requests received and the scripted answers not yet given."""
        with self._lock:
            self._posts.clear()
            self._script.clear()

    # --- the HTTP side ---------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Record the request, then give the next scripted answer or Slack's own."""
        try:
            body: Any = json.loads(request.body) if request.body else None
        except ValueError:
            body = None
        with self._lock:
            scripted = self._script.popleft() if self._script and request.method == "POST" else None
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)
            text = scripted.body(request) if callable(scripted.body) else scripted.body
            response = Response(scripted.status, text, {**_TEXT, **scripted.headers})
        else:
            response = Response(*self._answer(request, body), dict(_TEXT))
        headers = {key: value for key, value in request.headers.items()}
        with self._lock:
            self._posts.append(ReceivedPost(request.method, request.path, body, request.body, headers,
                                            response.status))
        return response

    def _answer(self, request: Request, body: Any) -> tuple[int, str]:
        if request.method != "POST":
            return 405, "invalid_method"
        if request.path != self.path:
            return 404, "no_service"
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        if not body.get("text") and not body.get("blocks"):
            return 400, "no_text"
        if "blocks" in body and not _blocks_ok(body["blocks"]):
            return 400, "invalid_blocks"
        return 200, "ok"

    # --- life cycle ------------------------------------------------------------------------------------------

    def start(self) -> SlackReceiver:
        """Listen and serve from a daemon thread. Returns self."""
        if self._server is None:
            self._server = _PlainServer((self._host, self._port), self)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            daemon=True, name=f"sandbox-slack-{self._server.server_address[1]}")
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (a later POST is refused); what was received stays readable."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> SlackReceiver:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def _blocks_ok(blocks: Any) -> bool:
    """The Block Kit limits the alerts must respect: at most 50 blocks, section text ≤ 3,000, header ≤ 150."""
    if not isinstance(blocks, list) or not blocks or len(blocks) > MAX_BLOCKS:
        return False
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return False
        text = block.get("text")
        if text is not None and not (isinstance(text, dict) and isinstance(text.get("text"), str) and text["text"]):
            return False
        limit = MAX_HEADER_TEXT if block["type"] == "header" else MAX_SECTION_TEXT
        if text is not None and len(text["text"]) > limit:
            return False
    return True


class _PlainServer(ThreadingHTTPServer):
    """A threading plain-HTTP server for the sandbox's handler (httpbase's own server speaks TLS only)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: SlackReceiver) -> None:
        self.app = app
        self.after_handle: RequestHook | None = None  # the handler's crash hook (the HTTPS servers' knob)
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_Handler.timeout)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timed-out test request) is not an error of the receiver."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)
