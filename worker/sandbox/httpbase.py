"""HTTP plumbing shared by the fake services: request/response values, a router, fault rules, TLS server."""

from __future__ import annotations

import json
import re
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs

Clock = Callable[[], float]


class ManualClock:
    """A settable clock for tests: ``clock()`` returns ``clock.now`` (seconds since the epoch)."""

    def __init__(self, now: float = 1_714_564_800.0) -> None:  # 2024-05-01T12:00:00Z
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class OffsetClock:
    """The real clock moved forward by ``offset`` seconds: tests skip minutes without sleeping, and time still runs.

    Give one to both fakes (``Sandbox(clock=OffsetClock())``, the default) so ``advance`` moves them together:
    a Zendesk rate-limit window ends, Salesforce stamps and Zendesk ``updated_at`` values leave "the last minute".
    """

    def __init__(self, offset: float = 0.0, base: Clock = time.time) -> None:
        self.offset = offset
        self._base = base

    def __call__(self) -> float:
        return self._base() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Request:
    """One parsed HTTP request, independent of the socket it arrived on."""

    method: str
    path: str
    raw_query: str
    headers: Mapping[str, str] | Message
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route's path pattern

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        """Decode the body as JSON; raises ValueError when it is not JSON."""
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class Response:
    """A response about to be written: status, JSON-able (or bytes/str) body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds the server waits before answering (a slow service; a client's read timeout)

    def encode(self) -> bytes:
        if self.body is None or self.status in (204, 304):
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


S = TypeVar("S")
Handler = Callable[[S, Request], Response]


@dataclass(frozen=True)
class Route(Generic[S]):
    """One registered endpoint: an HTTP method, a compiled path pattern and the function serving it."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler[S]


class Router(Generic[S]):
    r"""Method + path dispatch for a fake service whose state object is an ``S``.

    Register endpoints with ``@router.route("GET", r"/api/v2/things/(?P<id>\d+)")``: the pattern must match
    the whole path (``re.fullmatch``), and its named groups reach the handler as ``request.params``.
    Handlers are called as ``handler(state, request)``. A path no pattern matches is answered by
    ``not_found(request)``; a path that matches only with other methods by
    ``method_not_allowed(request, allowed_methods)``, so each service keeps its own error shape.
    """

    def __init__(self, *, not_found: Callable[[Request], Response],
                 method_not_allowed: Callable[[Request, tuple[str, ...]], Response]) -> None:
        self.routes: list[Route[S]] = []
        self.not_found = not_found
        self.method_not_allowed = method_not_allowed

    def route(self, method: str, pattern: str) -> Callable[[Handler[S]], Handler[S]]:
        """Decorator registering ``handler`` for ``method`` on paths that fully match ``pattern``."""
        compiled = re.compile(pattern)
        method = method.upper()
        if any(r.method == method and r.pattern.pattern == pattern for r in self.routes):
            raise ValueError(f"route {method} {pattern} is already registered")

        def register(handler: Handler[S]) -> Handler[S]:
            self.routes.append(Route(method, compiled, handler))
            return handler

        return register

    def dispatch(self, state: S, request: Request, path: str | None = None) -> Response:
        """Serve ``request`` by the first route matching ``path`` (default: ``request.path``) and its method."""
        target = request.path if path is None else path
        allowed: list[str] = []
        for route in self.routes:
            match = route.pattern.fullmatch(target)
            if match is None:
                continue
            if route.method == request.method:
                params = {k: v for k, v in match.groupdict().items() if v is not None}
                return route.handler(state, replace(request, params=params))
            allowed.append(route.method)
        if allowed:
            return self.method_not_allowed(request, tuple(allowed))
        return self.not_found(request)


@dataclass
class FaultRule:
    """Fault injection: the next ``remaining`` matching requests get this canned response.

    ``body`` may be a function of the request (e.g. :func:`echo_request`), for an error that quotes it back;
    ``delay`` makes the answer late by that many seconds.
    """

    remaining: int
    status: int
    body: Any
    headers: dict[str, str] | None = None
    path_contains: str = ""
    method: str | None = None
    delay: float = 0.0

    def matches(self, method: str, target: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains in target


def take_fault(rules: list[FaultRule], method: str, target: str, request: Request | None = None) -> Response | None:
    """Consume one matching fault rule (caller holds the lock) and build its response.

    A callable ``body`` is called with ``request`` (the request being answered) to build the body.
    """
    for rule in rules:
        if rule.matches(method, target):
            rule.remaining -= 1
            if rule.remaining <= 0:
                rules.remove(rule)
            body = rule.body(request) if callable(rule.body) else rule.body
            return Response(rule.status, body, dict(rule.headers or {}), rule.delay)
    return None


def echo_request(request: Request | None) -> str:
    """The whole request as text: method, path and query, every header, the body.

    For error bodies that quote the request back, as some proxies and debugging gateways do (a test's
    ``fail_next(..., body=echo_request)``): the credentials sent come back in the answer.
    """
    if request is None:
        return ""
    target = request.path + (f"?{request.raw_query}" if request.raw_query else "")
    headers = "\n".join(f"{name}: {value}" for name, value in request.headers.items())
    return f"{request.method} {target}\n{headers}\n\n{request.body.decode('utf-8', 'replace')}"


class DropConnection(Exception):
    """Raised by a request hook: the server closes the connection without answering (what was done stays done)."""


RequestHook = Callable[[Request, Response], None]


class App(Protocol):
    """What the HTTP layer needs from a fake service."""

    errors: list[str]

    def handle(self, request: Request) -> Response: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tiersync-sandbox/1.0"
    sys_version = ""
    timeout = 120
    server: _TLSServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request logging."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header on the fake's own clock, as a real service's Date follows the service's clock."""
        if timestamp is None:
            timestamp = getattr(self.server.app, "clock", time.time)()
        return super().date_time_string(timestamp)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, raw_query = self.path.partition("?")
        request = Request(self.command, path, raw_query, self.headers, body)
        app = self.server.app
        try:
            response = app.handle(request)
        except Exception:  # noqa: BLE001 - a fake must answer, and record the bug
            text = traceback.format_exc()
            app.errors.append(text)
            sys.stderr.write(f"sandbox: internal error on {self.command} {self.path}\n{text}")
            response = Response(500, {"error": "InternalServerError", "description": text.splitlines()[-1]})
        hook = self.server.after_handle
        if hook is not None:
            try:
                hook(request, response)
            except DropConnection:
                self.close_connection = True
                return
        payload = response.encode()
        if response.delay:
            time.sleep(response.delay)  # outside the fake's lock: other requests are served meanwhile
        self.send_response(response.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _TLSServer(ThreadingHTTPServer):
    """Threading HTTPS server; the TLS handshake runs in the per-connection thread."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, context: ssl.SSLContext) -> None:
        self.app = app
        self.ssl_context = context
        # called with each request and its answer once the app has served it, before the answer is sent
        self.after_handle: RequestHook | None = None
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_Handler.timeout)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body go out without delay
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]  # typeshed wants Self
        finally:
            self.shutdown_request(tls)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class ServerThread:
    """A started HTTPS server bound to ``host:port`` serving ``app`` from a daemon thread."""

    def __init__(self, app: App, context: ssl.SSLContext, host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = _TLSServer((host, port), app, context)
        self.host = host
        self.port: int = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
            name=f"sandbox-{type(app).__name__}-{self.port}",
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
