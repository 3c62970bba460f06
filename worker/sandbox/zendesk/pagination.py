"""Zendesk list pagination over records with integer ids: offset (``page``/``per_page``) and cursor (``page[...]``).

A list endpoint hands :func:`paginate` its ids in list order, the resource name (the JSON key, and the
URL's last segment unless ``path`` says otherwise, e.g. ``organizations``) and a function rendering one
id. Ids are in id order unless ``key`` gives each id its sort key (e.g. ``(position, id)``); the cursor
then carries that key. The links keep the request's other query parameters (filters such as ``active``).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import error
from worker.sandbox.zendesk.state import ZendeskState

OFFSET_RECORD_CAP = 10_000
Render = Callable[[int], dict[str, Any]]
SortKey = Callable[[int], tuple[int, ...]]
_PAGE_PARAMS = ("page", "per_page")


def paginate(zd: ZendeskState, request: Request, ids: list[int], resource: str, render: Render, *,
             path: str | None = None, key: SortKey | None = None) -> Response:
    """Cursor pagination when any ``page[...]`` parameter is present, offset pagination otherwise."""
    if any(k.startswith("page[") for k in request.query):
        return cursor_page(zd, request, ids, resource, render, path=path, key=key)
    return offset_page(zd, request, ids, resource, render, path=path)


def offset_page(zd: ZendeskState, request: Request, ids: list[int], resource: str, render: Render, *,
                path: str | None = None) -> Response:
    try:
        page = int(request.param("page") or 1)
        per_page = min(100, max(1, int(request.param("per_page") or 100)))
    except ValueError:
        return error(400, "InvalidPaginationParameter", "page and per_page must be integers")
    start = (max(page, 1) - 1) * per_page
    if start >= OFFSET_RECORD_CAP:
        return error(400, "InvalidPaginationParameter", "Offset pagination is limited to the first 10000 "
                     "records. Use cursor pagination to retrieve more records.")
    chunk = ids[start:start + per_page]
    base = f"{zd.base_url}/api/v2/{path or resource}.json?{_kept_params(request)}"
    more = start + per_page < len(ids)
    return Response(200, {
        resource: [render(i) for i in chunk],
        "next_page": f"{base}page={page + 1}&per_page={per_page}" if more else None,
        "previous_page": f"{base}page={page - 1}&per_page={per_page}" if page > 1 else None,
        "count": len(ids),
    })


def cursor_page(zd: ZendeskState, request: Request, ids: list[int], resource: str, render: Render, *,
                path: str | None = None, key: SortKey | None = None) -> Response:
    order = key or (lambda record_id: (record_id,))
    try:
        size = int(request.param("page[size]") or 100)
        after, before = request.param("page[after]"), request.param("page[before]")
        if after:
            lo = bisect.bisect_right(ids, _decode_cursor(after), key=order)  # O(log n): 10,000 pages of 1M
            chunk = ids[lo:lo + size]
            has_more = lo + size < len(ids)
        elif before:
            hi = bisect.bisect_left(ids, _decode_cursor(before), key=order)
            chunk = ids[max(0, hi - size):hi]
            has_more = hi - size > 0
        else:
            chunk = ids[:size]
            has_more = size < len(ids)
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        return error(400, "InvalidPaginationParameter", "Invalid pagination parameters")
    if size < 1 or size > 100:
        return error(400, "InvalidPaginationParameter", "page[size] must be between 1 and 100")
    after_cursor = _encode_cursor(order(chunk[-1])) if chunk else None
    before_cursor = _encode_cursor(order(chunk[0])) if chunk else None
    base = f"{zd.base_url}/api/v2/{path or resource}.json?{_kept_params(request)}page%5Bsize%5D={size}"
    return Response(200, {
        resource: [render(i) for i in chunk],
        "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
        "links": {"next": f"{base}&page%5Bafter%5D={quote(after_cursor)}" if after_cursor else None,
                  "prev": f"{base}&page%5Bbefore%5D={quote(before_cursor)}" if before_cursor else None},
    })


def _kept_params(request: Request) -> str:
    """The request's query parameters other than pagination's, encoded and followed by ``&`` (or empty)."""
    kept = [(k, v) for k, values in request.query.items() if k not in _PAGE_PARAMS and not k.startswith("page[")
            for v in values]
    return urlencode(kept) + "&" if kept else ""


def _encode_cursor(sort_key: tuple[int, ...]) -> str:
    """An opaque cursor: the id alone for id order (``{"o": "id", "v": 42}``), else the whole sort key."""
    value: int | list[int] = sort_key[0] if len(sort_key) == 1 else list(sort_key)
    raw = json.dumps({"o": "id" if len(sort_key) == 1 else "key", "v": value}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, ...]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    value = json.loads(raw)["v"]
    if isinstance(value, list):
        return tuple(int(v) for v in value)
    return (int(value),)

