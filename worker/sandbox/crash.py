"""Crash points for chaos tests: act when a :class:`~worker.sandbox.server.Sandbox` has served its n-th request.

``sandbox.after_each_request(RequestCountdown(n, kill))`` runs ``kill`` (say, SIGKILL of the tiersync process)
right after the n-th request, counted over both services, has been applied and before its answer is sent:
the write is made and the client never learns it, the worst moment for a crash. :class:`DropAfter` cuts
every connection from the n-th request on, which an in-process test can use as a crash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from worker.sandbox.httpbase import DropConnection, Request, Response

__all__ = ["DropAfter", "RequestCountdown"]


class RequestCountdown:
    """Calls ``action()`` once, when the ``n``-th request (1-based, both services together) has been served.

    With ``methods`` (say ``("POST", "PUT", "DELETE")``), only requests with those methods count: the
    n-th write.

    Attributes:
        served: requests served so far.
        counted: requests served so far that count (all, or those with ``methods``).
        fired: the (service, method, path) of the request ``action`` ran after, once it has run.

    """

    def __init__(self, n: int, action: Callable[[], None], methods: tuple[str, ...] | None = None) -> None:
        if n < 1:
            raise ValueError("n counts requests from 1")
        self.n, self._action = n, action
        self._methods = None if methods is None else {m.upper() for m in methods}
        self.served = 0
        self.counted = 0
        self.fired: tuple[str, str, str] | None = None
        self._lock = threading.Lock()

    def __call__(self, service: str, request: Request, response: Response) -> None:
        with self._lock:
            self.served += 1
            if self._methods is not None and request.method not in self._methods:
                return
            self.counted += 1
            if self.counted != self.n:
                return
            self.fired = (service, request.method, request.path)
        self._action()


class DropAfter:
    """From the ``n``-th request on (1-based, both services), each is applied and its connection then cut.

    ``dropped`` counts the connections cut; ``served`` every request seen.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("n counts requests from 1")
        self.n = n
        self.served = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def __call__(self, service: str, request: Request, response: Response) -> None:
        with self._lock:
            self.served += 1
            if self.served < self.n:
                return
            self.dropped += 1
        raise DropConnection
