"""Zendesk's time-based incremental organization export: the organizations changed since a time.

``GET /api/v2/incremental/organizations?start_time=&per_page=`` (OAS operation
IncrementalOrganizationExport; admins only). Its rules, from the spec and Zendesk's "Incremental
Exports" reference:

- ``start_time`` "Must be at least one minute in the past. Data isn't provided for the most recent minute."
- Each page answers ``organizations``, ``count``, ``end_of_stream``, ``end_time`` and ``next_page``; the
  next page starts at ``end_time``, inclusively, so organizations at that second come again (duplicates,
  removed here by id, the latest version kept).
- When more organizations share one second than a page holds, ``end_time`` stays where the page began and
  following it would loop forever (api-facts A.7; estuary/connectors#2007, airbytehq/airbyte#33680). The
  read then stops and says it is incomplete, so the caller reads everything instead of skipping some.
- "You can make up to 10 requests per minute to these endpoints" (shared with every other integration of the
  account); a 429 carries Retry-After. A wait of up to MAX_WAIT seconds is honoured; a longer one raises
  RateLimitedError, and the incremental run goes on without the export (its mark unmoved: the next run reads
  the same changes) instead of holding the run lock for up to a minute.

The pages are read as plain JSON on zenpy's own ServiceSession: zenpy's incremental generator follows
``next_page`` until ``end_of_stream`` and would loop on such a page, and it gives no ``end_time``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from zenpy import Zenpy

from worker.core.errors import RemoteStateError
from worker.core.model import ChangedOrganization, Organization, OrganizationExport, tag_value
from worker.io.zendesk_json import ZendeskJson

PATH = "incremental/organizations"
PER_PAGE = 1000  # the largest page of the time-based exports (api-facts A.7; Zendesk's incremental docs)
MAX_WAIT = 10.0  # longest Retry-After waited for the export: a longer one skips it this run (the run lock is held)
MAX_PAGES = 10_000  # ten million changed organizations: far past any real account, a stop for a broken server


class OrganizationExporter:
    """Reads the incremental organization export through the zenpy client's ServiceSession.

    Args:
        client: the zenpy client from :func:`worker.io.zendesk.connect`.
        field_key: the managed organization field key.
        per_page: organizations per page (1 to 1000).

    """

    def __init__(self, client: Zenpy, field_key: str, *, per_page: int = PER_PAGE) -> None:
        try:
            self._json = ZendeskJson(client)
        except TypeError:
            raise TypeError("OrganizationExporter needs the zenpy client from worker.io.zendesk.connect") from None
        self._key = field_key
        self._per_page = max(1, min(per_page, PER_PAGE))

    def changed_since(self, start_time: int, progress: Callable[[int], None] | None = None) -> OrganizationExport:
        """Every organization changed at or after ``start_time`` (unix seconds), up to a minute ago."""
        found: dict[int, ChangedOrganization] = {}
        start, end_time = start_time, None
        for _ in range(MAX_PAGES):
            page = self._page(start)
            if page is None:
                return OrganizationExport(too_recent=True)
            for item in _items(page):
                changed = self._changed(item)
                previous = found.get(changed.organization.id)
                if previous is None or changed.updated_at >= previous.updated_at:
                    found[changed.organization.id] = changed
                if progress:
                    progress(1)
            end_time = _end_time(page, start)
            if page.get("end_of_stream") is True:
                return OrganizationExport(tuple(found.values()), end_time)
            if end_time <= start:  # a full page in one second: the next page would be this one again
                return OrganizationExport(tuple(found.values()), end_time, complete=False)
            start = end_time
        raise RemoteStateError(f"zendesk: GET /api/v2/{PATH} did not end after {MAX_PAGES} pages")

    def _page(self, start: int) -> Mapping[str, Any] | None:
        params = {"start_time": str(start), "per_page": str(self._per_page)}
        try:
            return self._json.get_object(PATH, params, max_retry_wait=MAX_WAIT)
        except RemoteStateError as exc:
            # Zendesk refuses a start_time under a minute old ("Too recent start_time. Use a start_time older
            # than 1 minute"); the spec gives no body for it, so a 400/422 saying "too recent" is read as
            # "nothing to read yet" (the caller keeps its mark). Any other refusal is an error.
            if exc.http_status in (400, 422) and "too recent" in exc.message.lower():
                return None
            raise

    def _changed(self, raw: Mapping[str, Any]) -> ChangedOrganization:
        fields = raw.get("organization_fields")
        value = fields.get(self._key) if isinstance(fields, Mapping) else None
        raw_id = raw.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, int):
            raise RemoteStateError(f"zendesk: GET /api/v2/{PATH} gave an organization without an integer id")
        updated = unix_time(raw.get("updated_at"))
        if updated is None:
            raise RemoteStateError(f"zendesk: GET /api/v2/{PATH} gave organization {raw_id} "
                                   "without a readable updated_at")
        organization = Organization(id=raw_id, name=str(raw.get("name") or ""),
                                    external_id=_text(raw.get("external_id")),
                                    tier_tag=tag_value(value), updated_at=updated)
        return ChangedOrganization(organization, updated, unix_time(raw.get("created_at")))


def _items(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = page.get("organizations")
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise RemoteStateError(f"zendesk: GET /api/v2/{PATH} answered without a list of organizations")
    return items


def _end_time(page: Mapping[str, Any], start: int) -> int:
    value = page.get("end_time")
    if value is None:  # an empty page may leave it out: nothing came, so the export stays where it was
        return start
    if isinstance(value, bool) or not isinstance(value, int):
        raise RemoteStateError(f"zendesk: GET /api/v2/{PATH} answered an end_time that is not a unix time")
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def unix_time(value: Any) -> int | None:
    """An ISO 8601 timestamp (``2018-11-14T00:54:22Z``) as unix seconds, else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())  # Zendesk times are UTC
