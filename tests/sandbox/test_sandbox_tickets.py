"""The fake Zendesk's tickets (issue 17): the cursor ticket export, the metric event export, satisfaction ratings.

Each test has its own sandbox on a ManualClock (2024-05-01T12:00:00Z, a minute boundary), over HTTPS with plain
requests, so stamps are exact and time moves without sleeping. Shapes are checked against Zendesk's OAS
(read from beside the checkout, as test_sandbox_spec_routes does; those checks skip without it).
"""

from __future__ import annotations

import base64
import fnmatch
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml

from tests.conftest import ROOT
from worker.sandbox.server import ManualClock, Sandbox
from worker.sandbox.zendesk.tickets import encode_ticket_cursor

pytestmark = pytest.mark.integration

T0 = 1_714_564_800  # ManualClock's default now
TIERS = ("tier_enterprise", "tier_professional", "tier_starter")
TICKET_KEYS = {"tickets", "after_url", "before_url", "after_cursor", "before_cursor", "end_of_stream"}
EVENT_KEYS = {"ticket_metric_events", "count", "end_time", "next_page", "end_of_stream"}
SPEC = os.environ.get("TIERSYNC_ZENDESK_OAS", str(ROOT.parent / "shared" / "specs" / "zendesk-support-oas.yaml"))


@dataclass
class Env:
    sb: Sandbox
    clock: ManualClock
    session: requests.Session

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.sb.zendesk_url}{path}", params=params, timeout=5)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def follow(self, url: str) -> dict[str, Any]:
        assert url.startswith(self.sb.zendesk_url)  # every link points back at the fake itself
        response = self.session.get(url, timeout=5)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def tickets(self, **params: Any) -> dict[str, Any]:
        return self.ok("/api/v2/incremental/tickets/cursor.json", **params)

    def events(self, **params: Any) -> dict[str, Any]:
        return self.ok("/api/v2/incremental/ticket_metric_events.json", **params)

    def ratings(self, **params: Any) -> dict[str, Any]:
        return self.ok("/api/v2/satisfaction_ratings.json", **params)

    def ticket_at(self, generated: int, **attrs: Any) -> int:
        created = attrs.pop("created_at", generated - 100)
        return self.sb.zendesk.add_ticket(created_at=created, updated_at=attrs.pop("updated_at", generated),
                                          generated_timestamp=generated, **attrs)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    clock = ManualClock()
    with Sandbox(clock=clock) as sb:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_path)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        sb.zendesk.export_limit_per_minute = None  # the shared limit has its own test
        session = requests.Session()
        session.auth = (f"{sb.zendesk.email}/token", sb.zendesk.api_token)
        yield Env(sb, clock, session)
        assert sb.errors == []


def _ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


# 1. The cursor ticket export -------------------------------------------------------------------------------------


def test_ticket_export_pages_by_cursor_in_generated_timestamp_order_to_end_of_stream(env: Env) -> None:
    a = env.ticket_at(T0 - 500)
    b, c = env.ticket_at(T0 - 400), env.ticket_at(T0 - 400)  # one second: id order
    d = env.ticket_at(T0 - 300, created_at=T0 - 9000, updated_at=T0 - 8000)  # a system update: updated_at older
    e = env.ticket_at(T0 - 200)
    f = env.ticket_at(T0 - 100)
    env.ticket_at(T0 - 700)  # before start_time

    first = env.tickets(start_time=T0 - 600, per_page=2)
    assert set(first) == TICKET_KEYS
    assert (_ids(first["tickets"]), first["end_of_stream"]) == ([a, b], False)
    assert (first["before_cursor"], first["before_url"]) == (None, None)
    assert first["after_url"] == (f"{env.sb.zendesk_url}/api/v2/incremental/tickets/cursor.json?per_page=2"
                                  f"&cursor={first['after_cursor']}")
    second = env.tickets(cursor=first["after_cursor"], per_page=2)
    assert (_ids(second["tickets"]), second["end_of_stream"]) == ([c, d], False)
    assert second["before_cursor"] == first["after_cursor"]
    third = env.follow(second["after_url"])  # the link keeps per_page
    assert (_ids(third["tickets"]), third["end_of_stream"]) == ([e, f], True)
    assert third["after_cursor"] and third["after_url"]  # the last page still says where a later read goes on

    assert env.tickets(cursor=third["after_cursor"])["tickets"] == []  # nothing new yet
    env.clock.advance(60)
    g = env.ticket_at(T0)
    later = env.tickets(cursor=third["after_cursor"])
    assert (_ids(later["tickets"]), later["end_of_stream"]) == ([g], True)


def test_ticket_shape_and_times(env: Env) -> None:
    org = env.sb.zendesk.add_organization("Acme")
    ticket = env.sb.zendesk.add_ticket(organization_id=org, requester_id=42, status="open", priority="high",
                                       tags=["tier_enterprise", "billing", "billing"], subject="Printer on fire",
                                       created_at=T0 - 3600, updated_at=T0 - 1800, generated_timestamp=T0 - 900)
    item, = env.tickets(start_time=T0 - 3600)["tickets"]
    assert {k: item[k] for k in ("id", "status", "priority", "tags", "organization_id", "requester_id", "subject",
                                 "created_at", "updated_at", "generated_timestamp", "satisfaction_rating")} == {
        "id": ticket, "status": "open", "priority": "high", "tags": ["tier_enterprise", "billing"],
        "organization_id": org, "requester_id": 42, "subject": "Printer on fire",
        "created_at": "2024-05-01T11:00:00Z", "updated_at": "2024-05-01T11:30:00Z",
        "generated_timestamp": T0 - 900, "satisfaction_rating": {"score": "unoffered"}}
    assert item["url"] == f"{env.sb.zendesk_url}/api/v2/tickets/{ticket}.json"


def test_cursor_is_opaque_and_a_foreign_or_broken_one_is_refused(env: Env) -> None:
    ticket = env.ticket_at(T0 - 1234)
    cursor = env.tickets(start_time=T0 - 5000, per_page=1)["after_cursor"]
    assert str(T0 - 1234) not in cursor and str(ticket) not in cursor and re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert cursor == encode_ticket_cursor((T0 - 1234, ticket))
    foreign = base64.urlsafe_b64encode(b'{"o":"id","v":42}').decode().rstrip("=")  # a list endpoint's cursor
    for bad in ("not-a-cursor", foreign, cursor[:-3], base64.urlsafe_b64encode(b'{"k":"tickets","g":"1","i":2}')
                .decode()):
        response = env.get("/api/v2/incremental/tickets/cursor.json", cursor=bad)
        assert (response.status_code, response.json()) == (400, {"error": "InvalidValue",
                                                                "description": "Invalid cursor"}), bad


def test_changed_and_deleted_tickets_come_again_deleted_with_status_deleted(env: Env) -> None:
    zd = env.sb.zendesk
    kept, changed, deleted = (env.ticket_at(T0 - 600 + n) for n in range(3))
    first = env.tickets(start_time=T0 - 3600)
    assert _ids(first["tickets"]) == [kept, changed, deleted] and first["end_of_stream"]

    zd.update_ticket(changed, at=T0 - 100, status="solved")
    zd.update_ticket(kept, at=T0 - 90, system=True)  # a system update: generated_timestamp only
    zd.delete_ticket(deleted, at=T0 - 80)
    again = env.tickets(cursor=first["after_cursor"])
    assert _ids(again["tickets"]) == [changed, kept, deleted]
    by_id = {t["id"]: t for t in again["tickets"]}
    assert by_id[deleted]["status"] == "deleted" and by_id[changed]["status"] == "solved"
    assert by_id[kept]["updated_at"] == "2024-05-01T11:50:00Z" and by_id[kept]["generated_timestamp"] == T0 - 90
    fresh = env.tickets(start_time=T0 - 3600)["tickets"]  # a new read sees each ticket once, as it is now
    assert [(t["id"], t["status"]) for t in fresh] == [(changed, "solved"), (kept, "new"), (deleted, "deleted")]


def test_the_most_recent_minute_is_left_out_of_both_exports(env: Env) -> None:
    zd = env.sb.zendesk
    old, fresh = env.ticket_at(T0 - 60), env.ticket_at(T0 - 59)
    zd.add_ticket_metric_event(old, "reply_time", "activate", time=T0 - 60)
    zd.add_ticket_metric_event(fresh, "reply_time", "activate", time=T0 - 59)
    page = env.tickets(start_time=T0 - 600)
    assert (_ids(page["tickets"]), page["end_of_stream"]) == ([old], True)
    events = env.events(start_time=T0 - 600)
    assert [e["ticket_id"] for e in events["ticket_metric_events"]] == [old]
    env.clock.advance(1)
    assert _ids(env.tickets(cursor=page["after_cursor"])["tickets"]) == [fresh]
    assert [e["ticket_id"] for e in env.events(start_time=T0 - 600)["ticket_metric_events"]] == [old, fresh]


@pytest.mark.parametrize("path", ["/api/v2/incremental/tickets/cursor.json",
                                  "/api/v2/incremental/ticket_metric_events.json"])
def test_start_time_too_recent_missing_or_invalid_is_400(env: Env, path: str) -> None:
    env.clock.now = T0 + 0.5
    too_recent = env.get(path, start_time=T0 - 59)
    assert (too_recent.status_code, too_recent.json()) == (400, {  # the organization export's refusal
        "error": "InvalidValue", "description": "Too recent start_time. Use a start_time older than 1 minute"})
    assert env.get(path, start_time=T0 - 60).status_code == 200
    for params in ({}, {"start_time": "soon"}, {"start_time": "-5"}, {"start_time": T0 - 600, "per_page": "x"}):
        response = env.get(path, **params)
        assert (response.status_code, response.json()["error"]) == (400, "InvalidValue"), params


def test_per_page_defaults_to_and_is_capped_at_1000(env: Env) -> None:
    for n in range(1001):
        env.ticket_at(T0 - 600 + n % 7)
    for per_page in (None, 1000, 5000):
        params = {"start_time": T0 - 600} | ({"per_page": per_page} if per_page else {})
        page = env.tickets(**params)
        assert (len(page["tickets"]), page["end_of_stream"]) == (1000, False), per_page
    assert len(env.tickets(start_time=T0 - 600, per_page=0)["tickets"]) == 1
    rest = env.tickets(cursor=env.tickets(start_time=T0 - 600)["after_cursor"])
    assert (len(rest["tickets"]), rest["end_of_stream"]) == (1, True)


def test_include_metric_sets_and_organizations_sideloads_them(env: Env) -> None:
    zd = env.sb.zendesk
    org = zd.add_organization("Acme")
    measured = env.ticket_at(T0 - 300, organization_id=org, status="solved")
    unmeasured = env.ticket_at(T0 - 200, organization_id=org)
    bare = env.ticket_at(T0 - 100)
    zd.set_ticket_metrics(measured, reply_time_in_minutes=(16, 9), full_resolution_time_in_minutes=120,
                          solved_at=T0 - 300, replies=2)
    zd.set_ticket_metrics(unmeasured, reply_time_in_minutes=None)

    plain = env.tickets(start_time=T0 - 600)
    assert set(plain) == TICKET_KEYS
    page = env.tickets(start_time=T0 - 600, include="metric_sets,organizations")
    assert set(page) == TICKET_KEYS | {"metric_sets", "organizations"}
    assert _ids(page["tickets"]) == [measured, unmeasured, bare]
    first, second = page["metric_sets"]
    assert (first["ticket_id"], first["reply_time_in_minutes"], first["full_resolution_time_in_minutes"]) == (
        measured, {"calendar": 16, "business": 9}, {"calendar": 120, "business": 120})
    assert (first["reply_time_in_seconds"], first["solved_at"], first["replies"]) == (
        {"calendar": 960}, "2024-05-01T11:55:00Z", 2)
    assert (second["ticket_id"], second["reply_time_in_minutes"], second["full_resolution_time_in_minutes"]) == (
        unmeasured, {"calendar": None, "business": None}, {"calendar": None, "business": None})
    assert _ids(page["organizations"]) == [org]
    assert set(env.tickets(start_time=T0 - 600, include="metric_sets")) == TICKET_KEYS | {"metric_sets"}
    assert env.follow(env.tickets(start_time=T0 - 600, per_page=1,
                                  include="metric_sets")["after_url"])["metric_sets"][0]["ticket_id"] == unmeasured


def test_support_type_scope_defaults_to_agent(env: Env) -> None:
    agent = env.ticket_at(T0 - 300)
    ai = env.ticket_at(T0 - 200, support_type="ai_agent")
    assert _ids(env.tickets(start_time=T0 - 600)["tickets"]) == [agent]
    assert _ids(env.tickets(start_time=T0 - 600, support_type_scope="ai_agent")["tickets"]) == [ai]
    assert _ids(env.tickets(start_time=T0 - 600, support_type_scope="all")["tickets"]) == [agent, ai]
    assert env.get("/api/v2/incremental/tickets/cursor.json", start_time=T0 - 600,
                   support_type_scope="robots").status_code == 400


def test_helpers_refuse_what_zendesk_would_not_hold(env: Env) -> None:
    zd = env.sb.zendesk
    with pytest.raises(ValueError, match="status"):
        zd.add_ticket(status="archived")
    with pytest.raises(ValueError, match="priority"):
        zd.add_ticket(priority="whenever")
    with pytest.raises(ValueError, match="no organization"):
        zd.add_ticket(organization_id=1)
    with pytest.raises(ValueError, match="created_at <= updated_at"):
        zd.add_ticket(created_at=T0, updated_at=T0 - 1)
    ticket = zd.add_ticket()
    with pytest.raises(ValueError, match="cannot change"):
        zd.update_ticket(ticket, url="x")
    with pytest.raises(ValueError, match="older"):
        zd.update_ticket(ticket, at=T0 - 1)
    with pytest.raises(ValueError, match="metric set attribute"):
        zd.set_ticket_metrics(ticket, reply_time=5)
    with pytest.raises(ValueError, match="unknown metric"):
        zd.add_ticket_metric_event(ticket, "first_reply_time", "activate")
    with pytest.raises(ValueError, match="score"):
        zd.add_satisfaction_rating(ticket, "great")


# 2. The metric event export --------------------------------------------------------------------------------------


def test_metric_event_export_is_time_based_and_inclusive_at_end_time(env: Env) -> None:
    zd = env.sb.zendesk
    ticket = env.ticket_at(T0 - 3000)
    sla = {"target": 60, "business_hours": False, "policy": {"id": 7, "title": "Gold", "description": "Gold tier"}}
    applied = zd.add_ticket_metric_event(ticket, "reply_time", "apply_sla", time=T0 - 900, sla=sla)
    activated = zd.add_ticket_metric_event(ticket, "reply_time", "activate", time=T0 - 900)
    breached = zd.add_ticket_metric_event(ticket, "reply_time", "breach", time=T0 - 800, deleted=True)
    fulfilled = zd.add_ticket_metric_event(ticket, "reply_time", "fulfill", time=T0 - 700, instance_id=1)
    zd.add_ticket_metric_event(ticket, "resolution_time", "activate", time=T0 - 2000)  # before start_time

    first = env.events(start_time=T0 - 1000, per_page=2)
    assert set(first) == EVENT_KEYS
    assert (_ids(first["ticket_metric_events"]), first["count"], first["end_time"], first["end_of_stream"]) == (
        [applied, activated], 2, T0 - 900, False)
    assert first["ticket_metric_events"][0] == {"id": applied, "ticket_id": ticket, "metric": "reply_time",
                                                "instance_id": 1, "type": "apply_sla",
                                                "time": "2024-05-01T11:45:00Z", "sla": sla}
    assert first["next_page"] == (f"{env.sb.zendesk_url}/api/v2/incremental/ticket_metric_events.json"
                                  f"?per_page=2&start_time={T0 - 900}")
    second = env.follow(first["next_page"])  # the boundary second comes again
    assert (_ids(second["ticket_metric_events"]), second["end_time"]) == ([applied, activated], T0 - 900)
    rest = env.events(start_time=T0 - 899)
    assert (_ids(rest["ticket_metric_events"]), rest["end_of_stream"], rest["end_time"]) == (
        [breached, fulfilled], True, T0 - 700)
    assert rest["ticket_metric_events"][0]["deleted"] is True
    assert "deleted" not in rest["ticket_metric_events"][1] and "sla" not in rest["ticket_metric_events"][1]
    assert env.events(start_time=T0 - 500)["next_page"].endswith(f"?start_time={T0 - 500}")  # nothing: stays


def test_metric_events_of_deleted_tickets_can_be_excluded(env: Env) -> None:
    zd = env.sb.zendesk
    kept, gone = env.ticket_at(T0 - 3000), env.ticket_at(T0 - 3000)
    zd.add_ticket_metric_event(kept, "reply_time", "activate", time=T0 - 900)
    zd.add_ticket_metric_event(gone, "reply_time", "activate", time=T0 - 900)
    zd.delete_ticket(gone, at=T0 - 100)
    assert [e["ticket_id"] for e in env.events(start_time=T0 - 1000)["ticket_metric_events"]] == [kept, gone]
    assert [e["ticket_id"] for e in env.events(start_time=T0 - 1000, exclude_deleted="true")[
        "ticket_metric_events"]] == [kept]


# 3. Satisfaction ratings -----------------------------------------------------------------------------------------


def test_satisfaction_ratings_filter_by_created_at_and_score(env: Env) -> None:
    zd = env.sb.zendesk
    ticket = env.ticket_at(T0 - 9000, status="solved")
    good = zd.add_satisfaction_rating(ticket, "good", comment="Great!", created_at=T0 - 5000)
    bad = zd.add_satisfaction_rating(ticket, "bad", created_at=T0 - 4000)
    offered = zd.add_satisfaction_rating(ticket, "offered", created_at=T0 - 3000)
    unoffered = zd.add_satisfaction_rating(ticket, "unoffered", created_at=T0 - 2000)

    def listed(**params: Any) -> list[int]:
        return _ids(env.ratings(**params)["satisfaction_ratings"])

    assert listed() == [good, bad, offered, unoffered]
    assert listed(start_time=T0 - 4000, end_time=T0 - 3000) == [bad, offered]  # both bounds inclusive
    assert listed(start_time=T0 - 3999) == [offered, unoffered]
    assert listed(end_time=T0 - 4001) == [good]
    expected = {"good": [good], "bad": [bad], "offered": [offered], "unoffered": [unoffered],
                "received": [good, bad], "received_with_comment": [good], "received_without_comment": [bad],
                "good_without_comment": [], "bad_with_comment": []}
    for score, ids in expected.items():
        assert listed(score=score) == ids, score
    assert listed(score="good", start_time=T0 - 4500) == []
    first = env.ratings()["satisfaction_ratings"][0]
    assert first == {"url": f"{env.sb.zendesk_url}/api/v2/satisfaction_ratings/{good}.json", "id": good,
                     "ticket_id": ticket, "score": "good", "comment": "Great!", "assignee_id": first["assignee_id"],
                     "group_id": None, "requester_id": first["requester_id"],
                     "created_at": "2024-05-01T10:36:40Z", "updated_at": "2024-05-01T10:36:40Z"}
    assert "comment" not in env.ratings()["satisfaction_ratings"][1]
    assert env.tickets(start_time=T0 - 9000)["tickets"][0]["satisfaction_rating"] == {
        "id": unoffered, "score": "unoffered", "comment": None}
    for params in ({"start_time": "yesterday"}, {"end_time": "1.5"}, {"score": "great"}):
        response = env.get("/api/v2/satisfaction_ratings.json", **params)
        assert (response.status_code, response.json()["error"]) == (400, "InvalidValue"), params


def test_satisfaction_ratings_cursor_pagination_keeps_the_filters(env: Env) -> None:
    zd = env.sb.zendesk
    ticket = env.ticket_at(T0 - 9000, status="solved")
    ids = [zd.add_satisfaction_rating(ticket, "good" if n % 3 else "bad", created_at=T0 - 8000 + n)
           for n in range(250)]
    goods = [i for n, i in enumerate(ids) if n % 3 and n >= 10]
    seen: list[int] = []
    page = env.ratings(**{"page[size]": 100, "score": "good", "start_time": T0 - 7990})
    while True:
        seen += _ids(page["satisfaction_ratings"])
        assert len(page["satisfaction_ratings"]) <= 100
        if not page["meta"]["has_more"]:
            break
        query = parse_qs(urlsplit(page["links"]["next"]).query)
        assert (query["score"], query["start_time"]) == (["good"], [str(T0 - 7990)])
        page = env.follow(page["links"]["next"])
    assert seen == goods
    assert env.get("/api/v2/satisfaction_ratings.json", **{"page[size]": 101}).status_code == 400
    offset = env.ratings(per_page=100, page=3)
    assert (_ids(offset["satisfaction_ratings"]), offset["count"]) == (ids[200:], 250)


@pytest.mark.parametrize("path", ["/api/v2/incremental/tickets/cursor.json",
                                  "/api/v2/incremental/ticket_metric_events.json",
                                  "/api/v2/satisfaction_ratings.json"])
def test_every_ticket_endpoint_is_for_admins(env: Env, path: str) -> None:
    env.sb.zendesk.role = "agent"
    response = env.get(path, start_time=T0 - 600)
    assert (response.status_code, response.json()["error"]) == (403, "Forbidden")


# 4. One limit for every incremental export -----------------------------------------------------------------------


def test_the_incremental_exports_share_ten_requests_a_minute(env: Env) -> None:
    zd = env.sb.zendesk
    zd.export_limit_per_minute = 10
    env.clock.now = T0 + 45  # 15 s left in this minute
    start = {"start_time": T0 - 600}
    calls = [("/api/v2/incremental/organizations.json", start)] * 3 + [
        ("/api/v2/incremental/tickets/cursor.json", start)] * 4 + [
        ("/api/v2/incremental/ticket_metric_events.json", start)] * 2 + [
        ("/api/v2/incremental/tickets/cursor.json", {"start_time": "soon"})]  # a refused export counts too
    assert [env.get(path, **params).status_code for path, params in calls] == [200] * 9 + [400]
    for path in ("/api/v2/incremental/organizations.json", "/api/v2/incremental/tickets/cursor.json",
                 "/api/v2/incremental/ticket_metric_events.json"):
        limited = env.get(path, **start)
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "15"), path
        assert limited.json() == {"errors": [{"code": "RateLimitExceeded", "status": "429",
                                              "title": "Rate limit exceeded. Maximum 10 requests per minute."}]}
    assert env.get("/api/v2/satisfaction_ratings.json").status_code == 200  # not an incremental export
    env.clock.advance(15)  # the next minute
    assert env.get("/api/v2/incremental/ticket_metric_events.json", **start).status_code == 200


# 5. Shapes against the spec --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    if not os.path.isfile(SPEC):
        pytest.skip(f"Zendesk OpenAPI spec not found at {SPEC}")

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """Safe loader that reads a bare `=` (PyYAML's obsolete !!value tag) as a string."""

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    with open(SPEC, encoding="utf-8") as handle:
        found: dict[str, Any] = yaml.load(handle, Loader=Loader)["components"]["schemas"]
    return found


# Where the spec is narrower than what Zendesk sends (recorded answers, api-facts G): these paths may also hold
# these values. Anything else the fake renders must be a declared, non-writeOnly property of the right type.
LOOSENED = {
    "tickets[].status": ("deleted",),  # "Deleted tickets are exported with status: deleted" (recorded)
    "metric_sets[].*_at": (None,),  # not happened yet (solved_at of an open ticket...)
    "metric_sets[].*_in_minutes.*": (None,),  # not measured yet
    "metric_sets[].reply_time_in_seconds.calendar": (None,),
    "satisfaction_ratings[].group_id": (None,),  # a ticket in no group
    "organizations[].organization_fields.*": (None,),  # an unset field (OrganizationObject quirk, api-facts A.1)
}
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_TYPES: dict[str, Any] = {"integer": int, "number": (int, float), "string": str, "boolean": bool, "array": list,
                          "object": dict}


def _problems(schemas: dict[str, Any], schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """What in ``value`` the schema does not allow (strict: no undeclared or writeOnly property)."""
    if "$ref" in schema:
        return _problems(schemas, schemas[schema["$ref"].rsplit("/", 1)[1]], value, path)
    loose = next((v for p, v in LOOSENED.items() if fnmatch.fnmatchcase(path, p)), ())
    if value in loose or (value is None and schema.get("nullable")):
        return []
    if "oneOf" in schema or "anyOf" in schema:
        options = schema.get("oneOf") or schema["anyOf"]
        return [] if any(not _problems(schemas, o, value, path) for o in options) else [f"{path}: no oneOf fits"]
    found: list[str] = []
    for part in schema.get("allOf", []):  # properties of every part are declared; each part's rules apply
        found += [p for p in _problems(schemas, part, value, path) if "undeclared" not in p]
    kind = schema.get("type")
    if kind and (not isinstance(value, _TYPES[kind]) or (kind in ("integer", "number") and isinstance(value, bool))):
        return [*found, f"{path}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not in {schema['enum']}")
    if schema.get("format") == "date-time" and not _DATE_TIME.fullmatch(value):
        found.append(f"{path}: {value!r} is not a date-time")
    if isinstance(value, list) and "items" in schema:
        for item in value:
            found += _problems(schemas, schema["items"], item, f"{path}[]")
    if isinstance(value, dict):
        declared = _declared(schemas, schema)
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            if key in declared:
                if declared[key].get("writeOnly"):
                    found.append(f"{inner}: writeOnly in a response")
                found += _problems(schemas, declared[key], item, inner)
            elif isinstance(extra, dict):
                found += _problems(schemas, extra, item, inner)
            elif extra is not True and declared:
                found.append(f"{inner}: undeclared")
        found += [f"{path}: {key} is required" for key in schema.get("required", []) if key not in value]
    return found


def _declared(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _declared(schemas, schemas[schema["$ref"].rsplit("/", 1)[1]])
    declared = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        declared |= _declared(schemas, part)
    return declared


def _check(schemas: dict[str, Any], name: str, value: Any, path: str) -> None:
    assert _problems(schemas, {"$ref": f"#/components/schemas/{name}"}, value, path) == []


def test_the_three_endpoints_answer_in_the_spec_shapes(env: Env, schemas: dict[str, Any]) -> None:
    from worker.sandbox.seed import seed_demo, seed_tickets

    seed_demo(env.sb, accounts=40, seed=5)
    zd = env.sb.zendesk
    zd.add_field("support_tier", "dropdown", "Support tier", [(t.split("_")[1].title(), t) for t in TIERS])
    for n, org in enumerate(sorted(zd.organizations)):
        if n % 4:
            zd.set_org_field(org, "support_tier", TIERS[n % 3])
    seed_tickets(env.sb, count=300, days=20, seed=3, tier_tags=TIERS)
    start = T0 - 40 * 86_400

    page = env.tickets(start_time=start, include="metric_sets,organizations")
    _check(schemas, "CursorBasedExportIncrementalTicketsResponse",
           {k: v for k, v in page.items() if k not in ("metric_sets", "organizations")}, "")
    assert {t["status"] for t in page["tickets"]} >= {"solved", "closed", "deleted"}
    for metrics in page["metric_sets"]:
        _check(schemas, "TicketMetricObject", metrics, "metric_sets[]")
    for org in page["organizations"]:
        _check(schemas, "OrganizationObject", org, "organizations[]")

    events = env.events(start_time=start)
    _check(schemas, "TicketMetricEventsResponse",
           {k: v for k, v in events.items() if k not in ("end_of_stream", "ticket_metric_events")}, "")
    variants = {"apply_sla": "TicketMetricEventSLAObject", "breach": "TicketMetricEventBreachObject",
                "update_status": "TicketMetricEventUpdateStatusObject"}
    for event in events["ticket_metric_events"]:
        _check(schemas, variants.get(event["type"], "TicketMetricEventBaseObject"), event, "ticket_metric_events[]")
    assert {e["type"] for e in events["ticket_metric_events"]} >= {"apply_sla", "breach", "activate", "fulfill"}

    ratings = env.ratings(**{"page[size]": 100})
    _check(schemas, "SatisfactionRatingsResponse", {"satisfaction_ratings": ratings["satisfaction_ratings"]}, "")
    assert {r["score"] for r in ratings["satisfaction_ratings"]} == {"good", "bad", "offered", "unoffered"}


def test_the_shape_check_finds_what_the_spec_does_not_allow(schemas: dict[str, Any]) -> None:
    ticket = {"id": 1, "status": "archived", "tags": ["a"], "generated_timestamp": "soon", "macro_id": 3, "oops": 1}
    assert sorted(_problems(schemas, {"$ref": "#/components/schemas/TicketObject"}, ticket, "tickets[]")) == [
        "tickets[].generated_timestamp: 'soon' is not integer", "tickets[].macro_id: writeOnly in a response",
        "tickets[].oops: undeclared", "tickets[].status: 'archived' not in "
        "['new', 'open', 'pending', 'hold', 'solved', 'closed']"]
    assert _problems(schemas, {"$ref": "#/components/schemas/TicketObject"}, {"status": "deleted"}, "x") != []
