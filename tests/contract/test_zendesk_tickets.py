"""Exact contract of the service report's Zendesk reads, through the real client, on `responses`.

``GET /api/v2/incremental/tickets/cursor`` (IncrementalTicketExportCursor), ``GET
/api/v2/incremental/ticket_metric_events`` (ListTicketMetricEvents, time-based) and ``GET
/api/v2/satisfaction_ratings`` (ListSatisfactionRatings, cursor pagination): the exact requests, pages followed
to their end from cursor values on our own host, duplicates removed, the incremental exports paced under 10
requests a minute before they are sent, a 429's Retry-After honoured, and every malformed page refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers, registries

from worker.core.errors import ExitCode, RemoteStateError
from worker.core.tickets import MetricEvent, Rating, TicketRecord
from worker.io.http import ServiceSession
from worker.io.zendesk import connect
from worker.io.zendesk_tickets import IncrementalPacer, TicketReader
from worker.settings import Settings

HOST = "acme.zendesk.com"
BASE = f"https://{HOST}/api/v2"
TICKETS = f"{BASE}/incremental/tickets/cursor"
EVENTS = f"{BASE}/incremental/ticket_metric_events"
RATINGS = f"{BASE}/satisfaction_ratings"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


class StandingClock:
    """A clock that never moves by itself: every pacer wait is recorded, none is slept."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def reader(netloc: str = HOST, *, per_page: int = 1000, pacer: IncrementalPacer | None = None,
           session_sleeps: list[float] | None = None, **session_options: Any) -> TicketReader:
    """A TicketReader on a ServiceSession whose retry sleeps are recorded, never slept."""
    settings = Settings(_env_file=None, zendesk_url=f"https://{netloc}", zendesk_email="bot@acme.test",
                        zendesk_api_token="zd-token-canary")
    recorded = session_sleeps if session_sleeps is not None else []
    session = ServiceSession("zendesk", sleep=recorded.append, **session_options)
    clock = StandingClock()
    return TicketReader(connect(settings, session), per_page=per_page,
                        pacer=pacer or IncrementalPacer(clock=clock, sleep=clock.sleep))


def iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket(ticket_id: Any, generated: int, *, status: str = "open", tags: Any = ("tier_gold",),
           organization_id: Any = 501, priority: Any = "high", created: int = T0 - 86_400, **extra: Any) -> dict[str, Any]:
    """A TicketObject as the export returns it."""
    return {"url": f"{BASE}/tickets/{ticket_id}.json", "id": ticket_id, "status": status,
            "tags": list(tags) if isinstance(tags, tuple) else tags, "organization_id": organization_id,
            "priority": priority, "created_at": iso(created), "updated_at": iso(generated),
            "generated_timestamp": generated, "subject": f"Ticket {ticket_id}", "requester_id": 9, **extra}


def metrics(ticket_id: int, reply: Any = 16, resolution: Any = 120, **extra: Any) -> dict[str, Any]:
    """A TicketMetricObject; ``reply``/``resolution`` are the calendar minutes (None: not measured)."""
    return {"id": ticket_id + 10_000, "ticket_id": ticket_id,
            "reply_time_in_minutes": {"calendar": reply, "business": reply},
            "full_resolution_time_in_minutes": {"calendar": resolution, "business": resolution}, **extra}


def ticket_page(tickets: list[dict[str, Any]], metric_sets: list[dict[str, Any]] | None, *, after: str | None,
                end: bool, host: str = "evil.example") -> dict[str, Any]:
    """A cursor export page; its after_url names another host on purpose: it must never be followed."""
    page: dict[str, Any] = {"tickets": tickets, "after_cursor": after, "before_cursor": None, "before_url": None,
                            "after_url": f"https://{host}/api/v2/incremental/tickets/cursor.json?cursor={after}",
                            "end_of_stream": end}
    if metric_sets is not None:
        page["metric_sets"] = metric_sets
    return page


def first_query(start_time: int = T0, per_page: str = "1000") -> list[Any]:
    return [matchers.query_param_matcher({"start_time": str(start_time), "per_page": per_page,
                                          "include": "metric_sets"})]


def cursor_query(cursor: str, per_page: str = "1000") -> list[Any]:
    return [matchers.query_param_matcher({"cursor": cursor, "per_page": per_page, "include": "metric_sets"})]


def sent(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


# 1. The ticket export --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("netloc", [HOST, "localhost:8443"])
@responses.activate
def test_first_ticket_request_is_start_time_per_page_1000_and_metric_sets(netloc: str) -> None:
    responses.get(f"https://{netloc}/api/v2/incremental/tickets/cursor", match=first_query(),
                  json=ticket_page([], [], after="c1", end=True))
    assert list(reader(netloc).tickets_since(T0)) == []
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    parts = urlsplit(request.url)
    assert (request.method, parts.scheme, parts.netloc, parts.path) == (
        "GET", "https", netloc, "/api/v2/incremental/tickets/cursor")
    assert sent(responses.calls[0]) == {"start_time": [str(T0)], "per_page": ["1000"], "include": ["metric_sets"]}


@responses.activate
def test_ticket_pages_are_followed_by_cursor_on_our_host_to_end_of_stream_and_deduped() -> None:
    responses.get(TICKETS, match=first_query(), json=ticket_page(
        [ticket(1, T0 + 10), ticket(2, T0 + 20, tags=["tier_gold", "billing"])],
        [metrics(1), metrics(2, reply=None, resolution=None)], after="c1", end=False))
    responses.get(TICKETS, match=cursor_query("c1"), json=ticket_page(
        [ticket(3, T0 + 30, organization_id=None, priority=None, tags=[]),
         ticket(4, T0 + 40, status="deleted")],
        [{"ticket_id": 3, "reply_time_in_minutes": {"business": 5},  # no calendar member
          "full_resolution_time_in_minutes": {"calendar": 120, "business": 60}},
         {"ticket_id": 4, "reply_time_in_minutes": None}], after="c2", end=False))  # null and missing metrics
    responses.get(TICKETS, match=cursor_query("c2"), json=ticket_page(
        [ticket(2, T0 + 50, status="solved", tags=["tier_silver"]),  # changed during the read: comes again
         ticket(5, T0 + 60, tags="tier_gold vip")],  # the spec also allows tags as one string
        [metrics(2, reply=30, resolution=95.0)], after="c3", end=True))
    counted: list[int] = []

    records = list(reader().tickets_since(T0, counted.append))

    assert [sent(c) for c in responses.calls] == [
        {"start_time": [str(T0)], "per_page": ["1000"], "include": ["metric_sets"]},
        {"cursor": ["c1"], "per_page": ["1000"], "include": ["metric_sets"]},
        {"cursor": ["c2"], "per_page": ["1000"], "include": ["metric_sets"]}]  # c3 is never asked: end_of_stream
    assert all(urlsplit(c.request.url).netloc == HOST for c in responses.calls)
    assert counted == [2, 2, 2]
    assert sorted(records, key=lambda r: r.id) == [
        TicketRecord(1, "open", ("tier_gold",), 501, "high", T0 - 86_400, 16, 120),
        TicketRecord(2, "solved", ("tier_silver",), 501, "high", T0 - 86_400, 30, 95),  # the latest copy
        TicketRecord(3, "open", (), None, None, T0 - 86_400, None, 120),
        TicketRecord(4, "deleted", ("tier_gold",), 501, "high", T0 - 86_400, None, None),
        TicketRecord(5, "open", ("tier_gold", "vip"), 501, "high", T0 - 86_400, None, None),  # no metric set
    ]


@responses.activate
def test_the_copy_with_the_latest_generated_timestamp_wins_whatever_the_order() -> None:
    responses.get(TICKETS, match=first_query(), json=ticket_page(
        [ticket(7, T0 + 90, status="closed")], [metrics(7)], after="c1", end=False))
    responses.get(TICKETS, match=cursor_query("c1"), json=ticket_page(
        [ticket(7, T0 + 50, status="open")], [metrics(7)], after="c2", end=True))
    assert [(r.id, r.status) for r in reader().tickets_since(T0)] == [(7, "closed")]


@responses.activate
def test_per_page_is_capped_at_1000_for_tickets() -> None:
    responses.get(TICKETS, match=first_query(), json=ticket_page([], [], after="c", end=True))
    assert list(reader(per_page=5000).tickets_since(T0)) == []
    responses.get(TICKETS, match=first_query(per_page="50"), json=ticket_page([], [], after="c", end=True))
    assert list(reader(per_page=50).tickets_since(T0)) == []


def test_reader_refuses_a_client_not_built_on_a_service_session() -> None:
    from zenpy import Zenpy

    with pytest.raises(TypeError, match=r"worker\.io\.zendesk\.connect"):
        TicketReader(Zenpy(subdomain="acme", oauth_token="t"))


@responses.activate
def test_too_recent_start_time_is_a_remote_state_error_naming_the_endpoint() -> None:
    responses.get(TICKETS, status=400, json={"error": "InvalidValue",
                                             "description": "Too recent start_time. Use a start_time older than 1 minute"})
    with pytest.raises(RemoteStateError, match="/api/v2/incremental/tickets/cursor") as caught:
        list(reader().tickets_since(T0))
    assert caught.value.exit_code == ExitCode.REMOTE_STATE and len(responses.calls) == 1


# 2. The metric event export --------------------------------------------------------------------------------------


def event(event_id: Any, at: int, *, type: str = "activate", metric: str = "reply_time", ticket_id: Any = 1,
          instance_id: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"id": event_id, "ticket_id": ticket_id, "metric": metric, "instance_id": instance_id, "type": type,
            "time": iso(at), **extra}


def event_page(events: list[dict[str, Any]], end_time: Any, end: Any = True) -> dict[str, Any]:
    page = {"ticket_metric_events": events, "count": len(events), "end_time": end_time,
            "next_page": f"https://evil.example/api/v2/incremental/ticket_metric_events.json?start_time={end_time}"}
    if end is not None:
        page["end_of_stream"] = end
    return page


def start_query(start: int) -> list[Any]:
    return [matchers.query_param_matcher({"start_time": str(start)})]  # the spec lists no per_page here


@responses.activate
def test_metric_events_follow_end_time_and_drop_the_repeated_boundary() -> None:
    sla = {"target": 60, "business_hours": False, "policy": {"id": 3, "title": "Gold", "description": ""}}
    t1, t2 = T0 + 100, T0 + 200
    responses.get(EVENTS, match=start_query(T0), json=event_page(
        [event(11, T0 + 5, type="apply_sla", sla=sla), event(12, t1)], t1, end=False))
    responses.get(EVENTS, match=start_query(t1), json=event_page(
        [event(12, t1),  # the boundary second comes again
         event(13, t2, type="breach", deleted=True), event(14, t2, type="breach", deleted=False, instance_id=2),
         event(15, t2, type="apply_sla"), event(16, t2, type="apply_sla", sla=None),
         event(17, t2, type="fulfill", metric="resolution_time", ticket_id=2, instance_id=0)], t2, end=True))
    counted: list[int] = []
    events = list(reader().metric_events_since(T0, counted.append))
    assert [sent(c) for c in responses.calls] == [{"start_time": [str(T0)]}, {"start_time": [str(t1)]}]
    assert all(urlsplit(c.request.url).netloc == HOST for c in responses.calls)
    assert counted == [2, 6]
    assert events == [
        MetricEvent(1, "reply_time", 1, "apply_sla", T0 + 5, has_sla=True),
        MetricEvent(1, "reply_time", 1, "activate", t1),
        MetricEvent(1, "reply_time", 1, "breach", t2, deleted=True),
        MetricEvent(1, "reply_time", 2, "breach", t2),
        MetricEvent(1, "reply_time", 1, "apply_sla", t2),  # no sla: no SLA applies
        MetricEvent(1, "reply_time", 1, "apply_sla", t2),
        MetricEvent(2, "resolution_time", 0, "fulfill", t2),
    ]


@responses.activate
def test_metric_events_without_end_of_stream_end_on_a_short_page() -> None:
    t1 = T0 + 100
    full = [event(n, t1 if n == 999 else T0 + n % 50) for n in range(1000)]
    responses.get(EVENTS, match=start_query(T0), json=event_page(full, t1, end=None))
    responses.get(EVENTS, match=start_query(t1), json=event_page([event(999, t1), event(1000, t1)], t1, end=None))
    assert len(list(reader().metric_events_since(T0))) == 1001
    assert len(responses.calls) == 2


@responses.activate
def test_a_full_page_of_events_inside_one_second_is_an_error_not_a_gap() -> None:
    responses.get(EVENTS, json=event_page([event(n, T0) for n in range(1000)], T0, end=False))
    with pytest.raises(RemoteStateError, match=r"GET /api/v2/incremental/ticket_metric_events.*inside one second"):
        list(reader().metric_events_since(T0))
    assert len(responses.calls) == 1


# 3. Satisfaction ratings -----------------------------------------------------------------------------------------


def rating(rating_id: Any, ticket_id: Any = 1, score: Any = "good", at: int = T0 + 5) -> dict[str, Any]:
    return {"url": f"{BASE}/satisfaction_ratings/{rating_id}.json", "id": rating_id, "ticket_id": ticket_id,
            "score": score, "created_at": iso(at), "updated_at": iso(at), "assignee_id": 3, "group_id": 4,
            "requester_id": 5}


def rating_page(ratings: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    return {"satisfaction_ratings": ratings, "meta": {"has_more": after is not None, "after_cursor": after,
                                                      "before_cursor": None},
            "links": {"next": f"https://evil.example/api/v2/satisfaction_ratings.json?page%5Bafter%5D={after}",
                      "prev": None}}


def rating_query(after: str | None = None, size: str = "100") -> list[Any]:
    query = {"start_time": str(T0), "end_time": str(T0 + 86_400), "page[size]": size}
    return [matchers.query_param_matcher(query | ({"page[after]": after} if after else {}))]


@responses.activate
def test_ratings_are_read_by_cursor_with_the_filters_on_every_page() -> None:
    responses.get(RATINGS, match=rating_query(), json=rating_page([rating(1), rating(2, 2, "bad")], "r1"))
    responses.get(RATINGS, match=rating_query("r1"), json=rating_page(
        [rating(2, 2, "bad"), rating(3, 3, "offered", T0 + 50)], "r2"))
    responses.get(RATINGS, match=rating_query("r2"), json=rating_page([rating(4, 4, "unoffered")], None))
    pacer_clock = StandingClock()
    read = reader(pacer=IncrementalPacer(1, clock=pacer_clock, sleep=pacer_clock.sleep))
    assert list(read.satisfaction_ratings(T0, T0 + 86_400)) == [
        Rating(1, "good", T0 + 5), Rating(2, "bad", T0 + 5), Rating(3, "offered", T0 + 50),
        Rating(4, "unoffered", T0 + 5)]
    assert len(responses.calls) == 3 and all(urlsplit(c.request.url).netloc == HOST for c in responses.calls)
    assert pacer_clock.sleeps == []  # an ordinary endpoint: not under the exports' limit


@responses.activate
def test_ratings_page_size_is_at_most_100() -> None:
    responses.get(RATINGS, match=rating_query(size="50"), json=rating_page([], None))
    assert list(reader(per_page=50).satisfaction_ratings(T0, T0 + 86_400)) == []


# 4. Pacing and 429 -----------------------------------------------------------------------------------------------


def test_pacer_sleeps_before_the_eleventh_request_in_a_rolling_minute() -> None:
    clock = StandingClock(0.0)
    pacer = IncrementalPacer(clock=clock, sleep=clock.sleep)
    for n in range(10):
        clock.now = float(n)  # one a second
        assert pacer.wait() == 0.0
    clock.now = 10.0
    assert pacer.wait() == 50.0 and clock.sleeps == [50.0]  # until the first leaves the window (0 + 60)
    clock.now = 61.0  # the second left at 61: one more fits
    assert pacer.wait() == 0.0
    assert pacer.wait() == 1.0  # the next waits for the third (2 + 60 = 62)


def test_pacer_on_a_clock_that_stands_still_counts_its_waits_as_time() -> None:
    clock = StandingClock()
    pacer = IncrementalPacer(clock=clock, sleep=clock.sleep)
    for _ in range(25):
        pacer.wait()
    assert clock.sleeps == [60.0, 60.0]  # before the 11th and the 21st; never slept for real
    with pytest.raises(ValueError):
        IncrementalPacer(0)


@responses.activate
def test_the_reader_waits_before_the_eleventh_export_request_of_a_minute() -> None:
    for n in range(7):
        match = first_query() if n == 0 else cursor_query(f"c{n}")
        responses.get(TICKETS, match=match, json=ticket_page([ticket(n, T0 + n)], [metrics(n)], after=f"c{n + 1}",
                                                             end=n == 6))
    responses.get(EVENTS, match=start_query(T0), json=event_page([event(1, T0 + 1)], T0 + 1, end=False))
    for n in range(1, 5):
        responses.get(EVENTS, match=start_query(T0 + n), json=event_page([event(n + 1, T0 + n + 1)], T0 + n + 1,
                                                                         end=n == 4))
    clock = StandingClock()
    waits: list[tuple[float, int]] = []  # (seconds, requests sent before the wait)

    def sleep(seconds: float) -> None:
        waits.append((seconds, len(responses.calls)))

    read = reader(pacer=IncrementalPacer(clock=clock, sleep=sleep))
    assert len(list(read.tickets_since(T0))) == 7
    assert len(list(read.metric_events_since(T0))) == 5  # the same pacer: one budget for both exports
    assert waits == [(60.0, 10)]  # before the 11th request, none before
    assert len(responses.calls) == 12


@responses.activate(registry=registries.OrderedRegistry)
def test_a_429_is_waited_out_for_its_retry_after_then_the_same_page_asked_again() -> None:
    responses.get(TICKETS, status=429, headers={"Retry-After": "7"}, json={"errors": [
        {"code": "RateLimitExceeded", "status": "429", "title": "Rate limit exceeded. Maximum 10 requests per minute."}]})
    responses.get(TICKETS, match=first_query(), json=ticket_page([ticket(1, T0)], [metrics(1)], after="c", end=True))
    slept: list[float] = []
    assert [r.id for r in reader(session_sleeps=slept).tickets_since(T0)] == [1]
    assert slept == [7.0]
    assert sent(responses.calls[0]) == sent(responses.calls[1])


# 5. Malformed pages ----------------------------------------------------------------------------------------------


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


GOOD_TICKETS = ticket_page([ticket(1, T0)], [metrics(1)], after="c1", end=True)
BAD_TICKET_PAGES = {
    "body is a list": [GOOD_TICKETS],
    "no tickets key": _without(GOOD_TICKETS, "tickets"),
    "tickets is null": {**GOOD_TICKETS, "tickets": None},
    "a ticket is not an object": {**GOOD_TICKETS, "tickets": [7]},
    "no end_of_stream": _without(GOOD_TICKETS, "end_of_stream"),
    "end_of_stream not a boolean": {**GOOD_TICKETS, "end_of_stream": "true"},
    "more but no after_cursor": {**GOOD_TICKETS, "end_of_stream": False, "after_cursor": None},
    "metric_sets asked for but missing": _without(GOOD_TICKETS, "metric_sets"),
    "metric_sets not a list": {**GOOD_TICKETS, "metric_sets": {"1": {}}},
    "metric set without ticket_id": {**GOOD_TICKETS, "metric_sets": [_without(metrics(1), "ticket_id")]},
    "ticket without id": {**GOOD_TICKETS, "tickets": [_without(ticket(1, T0), "id")]},
    "ticket id not an integer": {**GOOD_TICKETS, "tickets": [ticket("1", T0)]},
    "ticket without created_at": {**GOOD_TICKETS, "tickets": [{**ticket(1, T0), "created_at": "yesterday"}]},
    "ticket without status": {**GOOD_TICKETS, "tickets": [_without(ticket(1, T0), "status")]},
    "ticket without generated_timestamp": {**GOOD_TICKETS, "tickets": [_without(ticket(1, T0), "generated_timestamp")]},
    "tags not strings": {**GOOD_TICKETS, "tickets": [ticket(1, T0, tags=[1, 2])]},
    "organization_id not an integer": {**GOOD_TICKETS, "tickets": [ticket(1, T0, organization_id="acme")]},
    "reply time not a number": {**GOOD_TICKETS, "metric_sets": [metrics(1, reply="soon")]},
}


@pytest.mark.parametrize("body", BAD_TICKET_PAGES.values(), ids=BAD_TICKET_PAGES.keys())
@responses.activate
def test_malformed_ticket_page_is_a_remote_state_error_naming_the_endpoint(body: Any) -> None:
    responses.get(TICKETS, json=body)
    with pytest.raises(RemoteStateError, match="GET /api/v2/incremental/tickets/cursor") as caught:
        list(reader().tickets_since(T0))
    assert caught.value.exit_code == ExitCode.REMOTE_STATE


@responses.activate
def test_a_repeated_cursor_stops_the_ticket_read() -> None:
    responses.get(TICKETS, match=first_query(), json=ticket_page([ticket(1, T0)], [metrics(1)], after="c1", end=False))
    responses.get(TICKETS, match=cursor_query("c1"), json=ticket_page([], [], after="c1", end=False))
    with pytest.raises(RemoteStateError, match="GET /api/v2/incremental/tickets/cursor gave the same after_cursor"):
        list(reader().tickets_since(T0))
    assert len(responses.calls) == 2


@responses.activate
def test_non_json_pages_are_remote_state_errors_naming_the_endpoint() -> None:
    for url in (TICKETS, EVENTS, RATINGS):
        responses.get(url, body="<html>maintenance</html>", content_type="text/html")
    read = reader()
    for call, path in ((lambda: read.tickets_since(T0), "incremental/tickets/cursor"),
                       (lambda: read.metric_events_since(T0), "incremental/ticket_metric_events"),
                       (lambda: read.satisfaction_ratings(T0, T0 + 1), "satisfaction_ratings")):
        with pytest.raises(RemoteStateError, match=f"GET /api/v2/{path} answered something that is not JSON"):
            list(call())


GOOD_EVENTS = event_page([event(1, T0)], T0, end=True)
BAD_EVENT_PAGES = {
    "no list": _without(GOOD_EVENTS, "ticket_metric_events"),
    "an event is not an object": {**GOOD_EVENTS, "ticket_metric_events": ["activate"]},
    "end_time not a unix time": {**GOOD_EVENTS, "end_time": iso(T0)},
    "end_of_stream not a boolean": {**GOOD_EVENTS, "end_of_stream": 1},
    "event without id": {**GOOD_EVENTS, "ticket_metric_events": [_without(event(1, T0), "id")]},
    "event without ticket_id": {**GOOD_EVENTS, "ticket_metric_events": [event(1, T0, ticket_id=None)]},
    "event without instance_id": {**GOOD_EVENTS, "ticket_metric_events": [event(1, T0, instance_id=None)]},
    "event with an unreadable time": {**GOOD_EVENTS, "ticket_metric_events": [{**event(1, T0), "time": T0}]},
    "event without type": {**GOOD_EVENTS, "ticket_metric_events": [_without(event(1, T0), "type")]},
}


@pytest.mark.parametrize("body", BAD_EVENT_PAGES.values(), ids=BAD_EVENT_PAGES.keys())
@responses.activate
def test_malformed_metric_event_page_is_a_remote_state_error_naming_the_endpoint(body: Any) -> None:
    responses.get(EVENTS, json=body)
    with pytest.raises(RemoteStateError, match="GET /api/v2/incremental/ticket_metric_events"):
        list(reader().metric_events_since(T0))


GOOD_RATINGS = rating_page([rating(1)], None)
BAD_RATING_PAGES = {
    "no list": _without(GOOD_RATINGS, "satisfaction_ratings"),
    "no meta": _without(GOOD_RATINGS, "meta"),
    "meta without has_more": {**GOOD_RATINGS, "meta": {"after_cursor": None}},
    "more but no after_cursor": {**GOOD_RATINGS, "meta": {"has_more": True, "after_cursor": ""}},
    "rating without score": {**GOOD_RATINGS, "satisfaction_ratings": [_without(rating(1), "score")]},
    "rating without ticket_id": {**GOOD_RATINGS, "satisfaction_ratings": [rating(1, ticket_id=None)]},
    "rating with an unreadable created_at": {**GOOD_RATINGS, "satisfaction_ratings": [
        {**rating(1), "created_at": None}]},
}


@pytest.mark.parametrize("body", BAD_RATING_PAGES.values(), ids=BAD_RATING_PAGES.keys())
@responses.activate
def test_malformed_ratings_page_is_a_remote_state_error_naming_the_endpoint(body: Any) -> None:
    responses.get(RATINGS, json=body)
    with pytest.raises(RemoteStateError, match="GET /api/v2/satisfaction_ratings"):
        list(reader().satisfaction_ratings(T0, T0 + 86_400))


@responses.activate
def test_a_repeated_ratings_cursor_stops_the_read() -> None:
    responses.get(RATINGS, json=rating_page([rating(1)], "same"))
    with pytest.raises(RemoteStateError, match="GET /api/v2/satisfaction_ratings gave the same after_cursor"):
        list(reader().satisfaction_ratings(T0, T0 + 86_400))
    assert len(responses.calls) == 2


@responses.activate
def test_a_read_that_fails_part_way_yields_nothing() -> None:
    responses.get(TICKETS, match=first_query(), json=ticket_page([ticket(1, T0)], [metrics(1)], after="c1", end=False))
    responses.get(TICKETS, match=cursor_query("c1"), json=json.loads('{"tickets": "oops"}'))
    seen: list[TicketRecord] = []
    with pytest.raises(RemoteStateError):
        seen.extend(reader().tickets_since(T0))
    assert seen == []
