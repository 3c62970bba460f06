"""Zendesk list pagination over records with integer ids: offset (``page``/``per_page``) and cursor (``page[...]``).

A list endpoint hands :func:`paginate` its sorted ids, the resource name (the JSON key and the URL's last
segment, e.g. ``organizations``) and a function rendering one id.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import error
from worker.sandbox.zendesk.state import ZendeskState

OFFSET_RECORD_CAP = 10_000
Render = Callable[[int], dict[str, Any]]


def paginate(zd: ZendeskState, request: Request, ids: list[int], resource: str, render: Render) -> Response:
    """Cursor pagination when any ``page[...]`` parameter is present, offset pagination otherwise."""
    if any(k.startswith("page[") for k in request.query):
        return cursor_page(zd, request, ids, resource, render)
    return offset_page(zd, request, ids, resource, render)


def offset_page(zd: ZendeskState, request: Request, ids: list[int], resource: str, render: Render) -> Response:
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
    base = f"{zd.base_url}/api/v2/{resource}.json"
    more = start + per_page < len(ids)
    return Response(200, {
        resource: [render(i) for i in chunk],
        "next_page": f"{base}?page={page + 1}&per_page={per_page}" if more else None,
        "previous_page": f"{base}?page={page - 1}&per_page={per_page}" if page > 1 else None,
        "count": len(ids),
    })


def cursor_page(zd: ZendeskState, request: Request, ids: list[int], resource: str, render: Render) -> Response:
    try:
        size = int(request.param("page[size]") or 100)
        after, before = request.param("page[after]"), request.param("page[before]")
        if after:
            lo = bisect.bisect_right(ids, _decode_cursor(after))
            chunk = ids[lo:lo + size]
            has_more = lo + size < len(ids)
        elif before:
            hi = bisect.bisect_left(ids, _decode_cursor(before))
            chunk = ids[max(0, hi - size):hi]
            has_more = hi - size > 0
        else:
            chunk = ids[:size]
            has_more = size < len(ids)
    except (ValueError, KeyError, binascii.Error, json.JSONDecodeError):
        return error(400, "InvalidPaginationParameter", "Invalid pagination parameters")
    if size < 1 or size > 100:
        return error(400, "InvalidPaginationParameter", "page[size] must be between 1 and 100")
    after_cursor = _encode_cursor(chunk[-1]) if chunk else None
    before_cursor = _encode_cursor(chunk[0]) if chunk else None
    base = f"{zd.base_url}/api/v2/{resource}.json?page%5Bsize%5D={size}"
    return Response(200, {
        resource: [render(i) for i in chunk],
        "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
        "links": {"next": f"{base}&page%5Bafter%5D={quote(after_cursor)}" if after_cursor else None,
                  "prev": f"{base}&page%5Bbefore%5D={quote(before_cursor)}" if before_cursor else None},
    })


def _encode_cursor(record_id: int) -> str:
    raw = json.dumps({"o": "id", "v": record_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return int(json.loads(raw)["v"])
