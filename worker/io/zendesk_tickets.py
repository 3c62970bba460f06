"""Zendesk reads for the per-tier service report: tickets with metric sets, ticket metric events, ratings.

Requests used, each an operation of Zendesk's OpenAPI spec (admins only):

- ``GET /api/v2/incremental/tickets/cursor?start_time=&per_page=1000&include=metric_sets``, then
  ``?cursor=<after_cursor>&per_page=1000&include=metric_sets`` (IncrementalTicketExportCursor). Tickets come in
  ``generated_timestamp`` order, so a ticket changed during the read comes again: the latest copy is kept.
  The last page still carries an ``after_cursor``; the read stops on ``end_of_stream``. The spec names only
  ``start_time``, ``cursor`` and ``support_type_scope`` for this operation; ``per_page`` (at most 1000) and the
  ``metric_sets`` sideload are what Zendesk's incremental export guide and recorded answers use.
- ``GET /api/v2/incremental/ticket_metric_events?start_time=`` (ListTicketMetricEvents, time-based: the spec
  lists no ``per_page``, pages are Zendesk's 1000). The next page starts at ``end_time``, inclusively, so the
  events of that second come again and are dropped by id; a full page inside one second cannot be got past
  and ends the read with an error rather than a silent gap.
- ``GET /api/v2/satisfaction_ratings?start_time=&end_time=&page[size]=100`` (ListSatisfactionRatings, cursor
  pagination, 100 the largest page; the filters are the operation's, on ``created_at``).

The two exports share Zendesk's budget of 10 incremental export requests a minute (30 with the High Volume
add-on) with every other export of the account, the organization export included: an
:class:`IncrementalPacer` spaces them out before they are sent, and the ServiceSession still waits out a
Retry-After when a 429 comes anyway (another integration spent the budget). Ratings are an ordinary endpoint.

Every read is complete or raises RemoteStateError naming the endpoint: a page without its list, a cursor page
without ``end_of_stream``, a cursor or ``after_cursor`` that repeats. Links in answers (``after_url``,
``next_page``, ``links.next``) are never followed: the next request is built from the cursor value (or
``end_time``) on our own URL, so credentials never go to a host an answer names.

Pages are read as plain JSON on zenpy's own ServiceSession, not as zenpy objects: zenpy turns each of up to
1000 tickets a page into an object graph (the hot path of a read of months of tickets), its generators follow
``after_url``/``next_page`` from the answer and decide themselves when to stop (for time-based exports it
stops, silently, once ``end_time`` is within five minutes of the local clock), so neither the cursor, nor
``end_of_stream``, nor the sideloaded ``metric_sets`` of each page are in our hands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from zenpy import Zenpy

from worker.core.errors import RemoteStateError
from worker.core.tickets import MetricEvent, Rating, TicketRecord
from worker.io.zendesk_export import unix_time
from worker.io.zendesk_json import ZendeskJson

log = logging.getLogger(__name__)

TICKETS = "incremental/tickets/cursor"
METRIC_EVENTS = "incremental/ticket_metric_events"
RATINGS = "satisfaction_ratings"
EXPORT_PAGE = 1000  # the largest page of the incremental exports (Zendesk's incremental export guide)
RATINGS_PAGE = 100  # cursor pagination's largest page ("Most endpoints limit this to a maximum of 100")
EXPORT_REQUESTS_PER_MINUTE = 10  # Zendesk's limit for the incremental exports together (30 with High Volume)
MAX_PAGES = 100_000  # a hundred million records: far past any real account, a stop for a broken server
Progress = Callable[[int], None]


class IncrementalPacer:
    """Keeps requests under ``limit`` in any rolling ``window`` seconds by sleeping before the one that would exceed it.

    One pacer per Zendesk account and process: give the same one to every reader of the incremental exports.
    Thread-safe; a waiting request holds the others back, so they leave in order.

    Args:
        limit: requests allowed in any ``window`` seconds (Zendesk: 10 a minute for the exports together).
        window: the window, in seconds.
        clock: seconds, monotonic (injectable for tests).
        sleep: how to wait (injectable for tests).

    """

    def __init__(self, limit: int = EXPORT_REQUESTS_PER_MINUTE, window: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("IncrementalPacer needs limit >= 1 and window > 0")
        self._limit, self._window = limit, window
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Wait until one more request fits in the window, and count it as sent now; returns the seconds waited."""
        with self._lock:
            now = self._now()
            self._forget(now)
            delay = 0.0
            if len(self._sent) >= self._limit:
                delay = self._sent[0] + self._window - now
                log.info("pacing: waiting %.1fs to stay under %d incremental export requests in %.0fs",
                         delay, self._limit, self._window)
                self._sleep(delay)
                now = max(self._now(), self._sent[0] + self._window)  # sent when allowed, whatever the clock says
                self._forget(now)
            self._sent.append(now)
            return delay

    def _now(self) -> float:
        """The clock, never earlier than the last request counted (a clock that stood still while we slept)."""
        return max(self._clock(), self._sent[-1]) if self._sent else self._clock()

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self._window:
            self._sent.popleft()


class TicketReader:
    """Reads tickets, metric events and ratings for the service report through the zenpy client's ServiceSession.

    Each read goes through every page before it yields its first record, so a read that fails part-way yields
    nothing. ``progress`` is called after each page with the number of records it held (duplicates included).

    Args:
        client: the zenpy client from :func:`worker.io.zendesk.connect`.
        per_page: records per page: at most 1000 for the ticket export, at most 100 for ratings (the default
            asks for the largest each allows); the metric event export takes no page size.
        pacer: the incremental export pacer to share with other readers of the same account; one of its own
            (10 requests a minute) by default.

    """

    def __init__(self, client: Zenpy, *, per_page: int = EXPORT_PAGE, pacer: IncrementalPacer | None = None) -> None:
        try:
            self._json = ZendeskJson(client)
        except TypeError:
            raise TypeError("TicketReader needs the zenpy client from worker.io.zendesk.connect (a ServiceSession)")\
                from None
        self._per_page = max(1, min(per_page, EXPORT_PAGE))
        self._ratings_page = max(1, min(per_page, RATINGS_PAGE))
        self._pacer = pacer or IncrementalPacer()

    def tickets_since(self, start_time: int, progress: Progress | None = None) -> Iterator[TicketRecord]:
        """Every ticket whose latest change is at or after ``start_time`` (unix seconds), each once, as last seen."""
        where = f"GET /api/v2/{TICKETS}"
        latest: dict[int, tuple[int, TicketRecord]] = {}  # id -> (generated_timestamp, record)
        query = {"start_time": str(start_time), "per_page": str(self._per_page), "include": "metric_sets"}
        cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self._get(TICKETS, query, paced=True)
            tickets = _items(page, "tickets", where)
            metric_sets = _metric_sets(page, where) if tickets else {}
            for raw in tickets:
                generated, record = _ticket(raw, metric_sets, where)
                if record.id not in latest or generated >= latest[record.id][0]:
                    latest[record.id] = (generated, record)
            if progress:
                progress(len(tickets))
            if _end_of_stream(page, where):
                yield from (record for _, record in latest.values())
                return
            cursor = page.get("after_cursor")
            if not isinstance(cursor, str) or not cursor:
                raise RemoteStateError(f"zendesk: {where} has more tickets but gives no after_cursor; "
                                       "the read is incomplete")
            if cursor in cursors:
                raise RemoteStateError(f"zendesk: {where} gave the same after_cursor twice; the read stops")
            cursors.add(cursor)
            query = {"cursor": cursor, "per_page": str(self._per_page), "include": "metric_sets"}
        raise RemoteStateError(f"zendesk: {where} did not end after {MAX_PAGES} pages")

    def metric_events_since(self, start_time: int, progress: Progress | None = None) -> Iterator[MetricEvent]:
        """Every ticket metric event at or after ``start_time`` (unix seconds), each once, in export order."""
        where = f"GET /api/v2/{METRIC_EVENTS}"
        events: dict[int, MetricEvent] = {}
        start = start_time
        for _ in range(MAX_PAGES):
            page = self._get(METRIC_EVENTS, {"start_time": str(start)}, paced=True)
            items = _items(page, "ticket_metric_events", where)
            for raw in items:
                event_id, event = _event(raw, where)
                events.setdefault(event_id, event)  # the inclusive boundary second comes again
            if progress:
                progress(len(items))
            end_time = _end_time(page, start, where)
            if _time_based_end(page, len(items), where):
                yield from events.values()
                return
            if end_time <= start:
                raise RemoteStateError(f"zendesk: {where} has a full page of events inside one second "
                                       f"({start}); the time-based export cannot go past it, the read stops")
            start = end_time
        raise RemoteStateError(f"zendesk: {where} did not end after {MAX_PAGES} pages")

    def satisfaction_ratings(self, start_time: int, end_time: int,
                             progress: Progress | None = None) -> Iterator[Rating]:
        """Every rating created from ``start_time`` to ``end_time`` (unix seconds, Zendesk's own filters)."""
        where = f"GET /api/v2/{RATINGS}"
        filters = {"start_time": str(start_time), "end_time": str(end_time), "page[size]": str(self._ratings_page)}
        ratings: dict[int, Rating] = {}
        query: dict[str, str] = dict(filters)
        cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self._get(RATINGS, query, paced=False)
            items = _items(page, "satisfaction_ratings", where)
            for raw in items:
                rating_id, rating = _rating(raw, where)
                ratings.setdefault(rating_id, rating)
            if progress:
                progress(len(items))
            after = _next_cursor(page, where)
            if after is None:
                yield from ratings.values()
                return
            if after in cursors:
                raise RemoteStateError(f"zendesk: {where} gave the same after_cursor twice; the read stops")
            cursors.add(after)
            query = {**filters, "page[after]": after}
        raise RemoteStateError(f"zendesk: {where} did not end after {MAX_PAGES} pages")

    def _get(self, path: str, params: Mapping[str, str], *, paced: bool) -> Mapping[str, Any]:
        """One GET on our own URL for ``path``; the decoded JSON object."""
        if paced:
            self._pacer.wait()
        return self._json.get_object(path, params)


def _items(page: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    items = page.get(key)
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise RemoteStateError(f"zendesk: {where} answered without a list of {key}")
    return items


def _metric_sets(page: Mapping[str, Any], where: str) -> dict[int, Mapping[str, Any]]:
    """The sideloaded metric sets by ticket id; a page of tickets without them is incomplete."""
    sets = _items(page, "metric_sets", where) if "metric_sets" in page else None
    if sets is None:
        raise RemoteStateError(f"zendesk: {where} answered tickets without the metric_sets asked for")
    return {_integer(item.get("ticket_id"), f"{where}: a metric set's ticket_id"): item for item in sets}


def _ticket(raw: Mapping[str, Any], metric_sets: Mapping[int, Mapping[str, Any]],
            where: str) -> tuple[int, TicketRecord]:
    ticket_id = _integer(raw.get("id"), f"{where}: a ticket's id")
    what = f"{where}: ticket {ticket_id}"
    status = raw.get("status")
    created = unix_time(raw.get("created_at"))
    if not isinstance(status, str) or not status or created is None:
        raise RemoteStateError(f"zendesk: {what} has no status or no readable created_at")
    tags = raw.get("tags") or []
    if isinstance(tags, str):  # the spec allows a space-separated string
        tags = tags.split()
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise RemoteStateError(f"zendesk: {what} has tags that are not a list of strings")
    organization_id = raw.get("organization_id")
    priority = raw.get("priority")
    metrics = metric_sets.get(ticket_id, {})
    record = TicketRecord(
        id=ticket_id, status=status, tags=tuple(tags),
        organization_id=None if organization_id is None else _integer(organization_id, f"{what}'s organization_id"),
        priority=priority if isinstance(priority, str) and priority else None, created_at=created,
        reply_time_minutes=_calendar(metrics, "reply_time_in_minutes", what),
        full_resolution_time_minutes=_calendar(metrics, "full_resolution_time_in_minutes", what))
    return _integer(raw.get("generated_timestamp"), f"{what}'s generated_timestamp"), record


def _calendar(metrics: Mapping[str, Any], name: str, what: str) -> int | None:
    """``metrics[name].calendar`` in whole minutes; None when the metric, or its value, is null or missing."""
    value = metrics.get(name)
    minutes = value.get("calendar") if isinstance(value, Mapping) else None
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise RemoteStateError(f"zendesk: {what}'s {name}.calendar is not a number of minutes")
    return int(minutes)


def _event(raw: Mapping[str, Any], where: str) -> tuple[int, MetricEvent]:
    event_id = _integer(raw.get("id"), f"{where}: a ticket metric event's id")
    what = f"{where}: ticket metric event {event_id}"
    metric, kind, when = raw.get("metric"), raw.get("type"), unix_time(raw.get("time"))
    if not isinstance(metric, str) or not isinstance(kind, str) or when is None:
        raise RemoteStateError(f"zendesk: {what} has no metric, type or readable time")
    sla = raw.get("sla")
    return event_id, MetricEvent(
        ticket_id=_integer(raw.get("ticket_id"), f"{what}'s ticket_id"), metric=metric,
        instance_id=_integer(raw.get("instance_id"), f"{what}'s instance_id"), type=kind, time=when,
        has_sla=kind == "apply_sla" and isinstance(sla, Mapping) and bool(sla), deleted=raw.get("deleted") is True)


def _rating(raw: Mapping[str, Any], where: str) -> tuple[int, Rating]:
    rating_id = _integer(raw.get("id"), f"{where}: a rating's id")
    score, created = raw.get("score"), unix_time(raw.get("created_at"))
    if not isinstance(score, str) or not score or created is None:
        raise RemoteStateError(f"zendesk: {where}: rating {rating_id} has no score or no readable created_at")
    return rating_id, Rating(ticket_id=_integer(raw.get("ticket_id"), f"{where}: rating {rating_id}'s ticket_id"),
                             score=score, created_at=created)


def _end_of_stream(page: Mapping[str, Any], where: str) -> bool:
    """A cursor page's ``end_of_stream``; a page without it cannot say whether the read is complete."""
    value = page.get("end_of_stream")
    if not isinstance(value, bool):
        raise RemoteStateError(f"zendesk: {where} answered a page without end_of_stream; the read stops")
    return value


def _time_based_end(page: Mapping[str, Any], count: int, where: str) -> bool:
    """A time-based page is the last when ``end_of_stream`` says so.

    TicketMetricEventsResponse does not list ``end_of_stream`` (the time-based exports send it); without it,
    a page shorter than Zendesk's 1000 is the last, the rule time-based exports followed before it existed.
    """
    value = page.get("end_of_stream")
    if value is None:
        return count < EXPORT_PAGE
    if not isinstance(value, bool):
        raise RemoteStateError(f"zendesk: {where} answered an end_of_stream that is not true or false")
    return value


def _end_time(page: Mapping[str, Any], start: int, where: str) -> int:
    value = page.get("end_time")
    if value is None:  # an empty page may leave it out: nothing came, so the export stays where it was
        return start
    if isinstance(value, bool) or not isinstance(value, int):
        raise RemoteStateError(f"zendesk: {where} answered an end_time that is not a unix time")
    return value


def _next_cursor(page: Mapping[str, Any], where: str) -> str | None:
    """The ``page[after]`` of the next page of a cursor-paginated list, or None after the last page."""
    meta = page.get("meta")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("has_more"), bool):
        raise RemoteStateError(f"zendesk: {where} answered without meta.has_more; the read stops")
    if not meta["has_more"]:
        return None
    after = meta.get("after_cursor")
    if not isinstance(after, str) or not after:
        raise RemoteStateError(f"zendesk: {where} has more pages but gives no after_cursor; the read is incomplete")
    return after


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RemoteStateError(f"zendesk: {what} is not an integer")
    return value
