"""The fake Zendesk's front door: request log, faults, credentials, the per-minute rate limit, then the router.

Every response, faults and refusals included, carries the rate-limit headers. After the router, a
ghost-write rule (``commit_then_fail_next``) may replace a success with an error: the change stays made.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from typing import TYPE_CHECKING
from urllib.parse import unquote

from worker.sandbox.httpbase import Request, Response, take_fault
from worker.sandbox.zendesk.api import error, router
from worker.sandbox.zendesk.state import ZendeskState
from worker.sandbox.zendesk.users import anonymous_user

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk


def serve(zd: FakeZendesk, request: Request) -> Response:
    """Serve one request against ``zd`` (the caller holds ``zd.lock``). Paths are routed without ``.json``."""
    path = request.path.rstrip("/")
    if path.endswith(".json"):
        path = path[: -len(".json")]
    query = unquote(request.raw_query)
    zd.requests.append((request.method, path, query))
    target = path + ("?" + query if query else "")
    response = take_fault(zd.faults, request.method, target, request)
    if response is None:
        response = _admit(zd, request, path)
        if 200 <= response.status < 300:  # served and applied: a ghost-write rule now hides the answer
            response = take_fault(zd.ghost_writes, request.method, target) or response
    _rate_headers(zd, response)
    return response


def _admit(zd: FakeZendesk, request: Request, path: str) -> Response:
    header = request.header("Authorization")
    if not header and request.method == "GET" and path == "/api/v2/users/me":
        return Response(200, {"user": anonymous_user()})
    if not header or not _auth_ok(zd, header):
        return Response(401, {"error": "Couldn't authenticate you"},
                        {"WWW-Authenticate": 'Basic realm="Web Password"'})
    reset, remaining = _window(zd)
    if remaining <= 0:
        return Response(429, {"error": "APIRateLimitExceeded",
                              "description": "Number of allowed API requests per minute exceeded"},
                        {"Retry-After": str(reset)})
    zd.window_count += 1
    try:
        request.json()
    except ValueError:
        return error(400, "InvalidValue", "The request body is not valid JSON")
    return router.dispatch(zd, request, path)


def _auth_ok(zd: ZendeskState, header: str) -> bool:
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer":
        return secrets.compare_digest(credential.strip(), zd.oauth_token)
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, _, secret = decoded.partition(":")
    return user.casefold() == f"{zd.email}/token".casefold() and secrets.compare_digest(secret, zd.api_token)


def _window(zd: ZendeskState) -> tuple[int, int]:
    """Roll the per-minute window; return (seconds until it ends, remaining requests)."""
    now = zd.clock()
    start = math.floor(now / 60) * 60
    if start != zd.window_start:
        zd.window_start, zd.window_count = start, 0
    reset = max(1, math.ceil(start + 60 - now))
    return reset, max(0, zd.rate_limit_per_minute - zd.window_count)


def _rate_headers(zd: ZendeskState, response: Response) -> None:
    reset, remaining = _window(zd)
    limit = str(zd.rate_limit_per_minute)
    response.headers.update({"X-Rate-Limit": limit, "X-Rate-Limit-Remaining": str(remaining),
                             "ratelimit-limit": limit, "ratelimit-remaining": str(remaining),
                             "ratelimit-reset": str(reset)})
