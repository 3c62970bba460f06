"""``Sandbox``: the fake Salesforce and Zendesk HTTPS servers, started together on 127.0.0.1."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from types import TracebackType

from worker.sandbox.httpbase import Clock, ManualClock, OffsetClock, Request, Response, ServerThread
from worker.sandbox.salesforce import FakeSalesforce
from worker.sandbox.tls import make_tls
from worker.sandbox.zendesk import FakeZendesk

__all__ = ["ManualClock", "OffsetClock", "Sandbox"]


class Sandbox:
    """Both fake services over TLS with a private CA.

    Usage::

        with Sandbox() as sb:
            env = sb.env()   # SALESFORCE_*, ZENDESK_*, REQUESTS_CA_BUNDLE
            sb.advance(61)   # both fakes are a minute later, without sleeping

    Both fakes read one ``clock`` (default: an :class:`OffsetClock` on the real time).
    """

    def __init__(self, *, zendesk_rate_limit_per_minute: int = 100_000, salesforce_daily_limit: int = 1_000_000,
                 clock: Clock | None = None, host: str = "127.0.0.1", salesforce_port: int = 0,
                 zendesk_port: int = 0) -> None:
        self.clock: Clock = clock or OffsetClock()
        self.salesforce = FakeSalesforce(daily_limit=salesforce_daily_limit, clock=self.clock)
        self.zendesk = FakeZendesk(rate_limit_per_minute=zendesk_rate_limit_per_minute, clock=self.clock)
        self._host = host
        self._ports = (salesforce_port, zendesk_port)
        self._tmpdir: str | None = None
        self._servers: list[ServerThread] = []
        self._ca_path: str | None = None

    def advance(self, seconds: float) -> None:
        """Move both fakes' time forward (an :class:`OffsetClock` or :class:`ManualClock`; tests never sleep)."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("this Sandbox's clock cannot be moved: pass clock=OffsetClock() or ManualClock()")
        advance(seconds)

    def after_each_request(self, hook: Callable[[str, Request, Response], None] | None) -> None:
        """Call ``hook(service, request, response)`` once each request is served, before its answer is sent.

        ``service`` is ``"salesforce"`` or ``"zendesk"``; the request has been applied by then. The hook may
        raise :class:`worker.sandbox.httpbase.DropConnection` to close the connection without an answer (a
        crash or a network cut right after the write), or stop the client itself. ``None`` removes it.
        Requests are served on many threads: the hook must be thread-safe. Needs a started Sandbox.
        """
        for service, index in (("salesforce", 0), ("zendesk", 1)):
            server = self._server(index).httpd
            server.after_handle = None if hook is None else _bound(hook, service)

    def start(self) -> Sandbox:
        """Bind both servers and serve from daemon threads. Returns self."""
        if self._servers:
            return self
        self._tmpdir = tempfile.mkdtemp(prefix="tiersync-sandbox-")
        try:
            tls = make_tls(self._tmpdir)
            self._ca_path = tls.ca_path
            self._servers.append(ServerThread(self.salesforce, tls.server_context, self._host, self._ports[0]))
            self._servers.append(ServerThread(self.zendesk, tls.server_context, self._host, self._ports[1]))
        except BaseException:
            self.stop()
            raise
        self.zendesk.base_url = self.zendesk_url
        self.salesforce.base_url = self.salesforce_url
        return self

    def stop(self) -> None:
        """Shut both servers down and delete the CA directory. Safe to call twice."""
        for server in self._servers:
            server.stop()
        self._servers.clear()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _server(self, index: int) -> ServerThread:
        if len(self._servers) < 2:
            raise RuntimeError("Sandbox is not started")
        return self._servers[index]

    @property
    def salesforce_url(self) -> str:
        return self._server(0).url

    @property
    def zendesk_url(self) -> str:
        return self._server(1).url

    @property
    def ca_path(self) -> str:
        if not self._ca_path or not self._servers:
            raise RuntimeError("Sandbox is not started")
        return self._ca_path

    def env(self) -> dict[str, str]:
        """Environment variables that point tiersync at this sandbox."""
        return {
            "SALESFORCE_INSTANCE_URL": self.salesforce_url,
            "SALESFORCE_ACCESS_TOKEN": self.salesforce.access_token,
            "ZENDESK_URL": self.zendesk_url,
            "ZENDESK_EMAIL": self.zendesk.email,
            "ZENDESK_API_TOKEN": self.zendesk.api_token,
            "REQUESTS_CA_BUNDLE": self.ca_path,
        }

    @property
    def errors(self) -> list[str]:
        """Internal errors (tracebacks) raised while serving; should stay empty."""
        return [*self.salesforce.errors, *self.zendesk.errors]


def _bound(hook: Callable[[str, Request, Response], None], service: str) -> Callable[[Request, Response], None]:
    def call(request: Request, response: Response) -> None:
        hook(service, request, response)

    return call
