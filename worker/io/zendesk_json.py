"""Zendesk as plain JSON on zenpy's own ServiceSession: one request, and complete list reads.

Used where zenpy's objects cost too much on a hot path (organizations at 100,000 a full read) or where zenpy
lacks an endpoint or gets it wrong (routing objects, see worker.io.zendesk_routing). Every request goes
through the zenpy client's :class:`~worker.io.http.ServiceSession`, so timeouts, retries and typed errors
apply, and the base URL (including a pinned dotless host) is zenpy's own.

List reads are complete or raise: ``meta.has_more`` without ``links.next``, an offset page's ``count``
above what was read, a next link to another path, or the same next page twice is a RemoteStateError,
never a short list (absence read from a partial list would be a reason to create, or to clear). A next
link's query is sent to our own URL for the same path, so credentials never follow a link elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from zenpy import Zenpy

from worker.core.errors import RemoteStateError
from worker.io.http import ServiceSession

PAGE_SIZE = 100  # the largest page of the cursor-paginated lists (OAS: "a maximum of 100 records per page")


class ZendeskJson:
    """JSON requests on a zenpy client's session and base URL.

    Args:
        client: the zenpy client from :func:`worker.io.zendesk.connect` (its session is a ServiceSession).

    """

    def __init__(self, client: Zenpy) -> None:
        api = client.users  # pinned by connect() when the host has no dot
        if not isinstance(api.session, ServiceSession):
            raise TypeError("Zendesk JSON reads need the zenpy client from worker.io.zendesk.connect")
        self.session: ServiceSession = api.session
        self.root = f"{api.protocol}://{api.base_url}/{api.api_prefix}"

    def send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
             body: Mapping[str, Any] | None = None, max_retry_wait: float | None = None) -> Any:
        """One JSON request (``path`` under /api/v2, as the spec writes it); the decoded answer, or None.

        ``max_retry_wait`` lowers the longest Retry-After waited for this request (ServiceSession.request).
        """
        response = self.session.request(method, f"{self.root}/{path}", params=params, json=body,
                                        max_retry_wait=max_retry_wait)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise RemoteStateError(f"zendesk: {method} /api/v2/{path} answered something that is not JSON") from None

    def get_object(self, path: str, params: Mapping[str, str], *,
                   max_retry_wait: float | None = None) -> Mapping[str, Any]:
        """One GET whose answer must be a JSON object (a page of an export), or RemoteStateError naming it."""
        page = self.send("GET", path, params=params, max_retry_wait=max_retry_wait)
        if not isinstance(page, Mapping):
            raise RemoteStateError(f"zendesk: GET /api/v2/{path} answered without an object")
        return page

    def pages(self, path: str, key: str, *, cursor: bool = True) -> Iterator[list[dict[str, Any]]]:
        """Each page's items of a list endpoint (``page[size]=100`` when ``cursor``), to the end or an error."""
        params: dict[str, str] = {"page[size]": str(PAGE_SIZE)} if cursor else {}
        seen = {tuple(sorted(params.items()))}
        read = 0
        while True:
            page = self.send("GET", path, params=params)
            items = page_items(page, key, path)
            read += len(items)
            yield items
            following = self._next_params(page, path)
            if following is None:
                check_count(page, read, path)
                return
            marker = tuple(sorted(following.items()))
            if marker in seen:
                raise RemoteStateError(f"zendesk: GET /api/v2/{path} sent the same next page twice; the read stops")
            seen.add(marker)
            params = following

    def items(self, path: str, key: str, *, cursor: bool = True) -> list[dict[str, Any]]:
        """Every item of a list endpoint, or RemoteStateError when the read cannot be shown to be complete."""
        return [item for page in self.pages(path, key, cursor=cursor) for item in page]

    def _next_params(self, page: Mapping[str, Any], path: str) -> dict[str, str] | None:
        meta = page.get("meta")
        if isinstance(meta, Mapping):  # cursor pagination
            if not meta.get("has_more"):
                return None
            links = page.get("links")
            link = links.get("next") if isinstance(links, Mapping) else None
            if not link:
                raise RemoteStateError(f"zendesk: GET /api/v2/{path} has more pages but gives no next link; "
                                       "the read is incomplete")
            return self._query_of(str(link), path)
        link = page.get("next_page")
        return self._query_of(str(link), path) if link else None

    def _query_of(self, link: str, path: str) -> dict[str, str]:
        parts = urlsplit(link)
        if parts.path.removesuffix(".json").rstrip("/") != urlsplit(f"{self.root}/{path}").path:
            raise RemoteStateError(f"zendesk: GET /api/v2/{path} points its next page at another path")
        return dict(parse_qsl(parts.query, keep_blank_values=True))


def page_items(page: Any, key: str, path: str) -> list[dict[str, Any]]:
    """The list of objects under ``key``, or RemoteStateError naming the endpoint."""
    items = page.get(key) if isinstance(page, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise RemoteStateError(f"zendesk: GET /api/v2/{path} answered without a list of {key}")
    return items


def check_count(page: Mapping[str, Any], read: int, path: str) -> None:
    """An offset list's ``count`` above what was read means the read is incomplete."""
    count = page.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count > read:
        raise RemoteStateError(f"zendesk: GET /api/v2/{path} counts {count} but gave {read}; the read is incomplete")
