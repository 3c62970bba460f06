"""Exact contract of Zendesk's time-based incremental organization export, through the real client, on `responses`.

``GET /api/v2/incremental/organizations?start_time=&per_page=`` (OAS IncrementalOrganizationExport, schema
ExportIncrementalOrganizationsResponse; api-facts A.7): pages are inclusive at ``end_time``, a page full of one
second would loop for ever, a start_time under a minute old is refused, and the endpoint has its own rate limit.
Also the clearing write (``write_tags`` with None), whose body must carry a JSON null.
"""

import base64
import json
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers, registries

from worker.core.errors import ExitCode, RateLimitedError, RemoteStateError
from worker.core.model import OrganizationExport
from worker.io.http import ServiceSession
from worker.io.zendesk import ZendeskClient, connect
from worker.io.zendesk_export import OrganizationExporter
from worker.settings import Settings

HOST = "acme.zendesk.com"
BASE = f"https://{HOST}/api/v2"
EXPORT = f"{BASE}/incremental/organizations"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
TOO_RECENT = {"error": "InvalidValue", "description": "Too recent start_time. Use a start_time older than 1 minute"}


def zendesk(sleeps: list[float] | None = None, netloc: str = HOST, **session_options) -> ZendeskClient:
    """A ZendeskClient on a ServiceSession whose sleeps are recorded, never slept (as test_zendesk_adapter does)."""
    settings = Settings(_env_file=None, zendesk_url=f"https://{netloc}", zendesk_email="bot@acme.test",
                        zendesk_api_token="zd-token-canary")
    recorded = sleeps if sleeps is not None else []
    session = ServiceSession("zendesk", sleep=recorded.append, **session_options)
    return ZendeskClient(connect(settings, session), "support_tier", sleep=recorded.append)


def iso(unix: int) -> str:
    """A unix time as Zendesk writes timestamps (``2018-11-14T00:54:22Z``)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def org(org_id, updated, tier=None, external_id=None, created=None, **extra):
    """An OrganizationObject as the export returns it (OAS example's shape)."""
    return {"id": org_id, "url": f"{BASE}/organizations/{org_id}.json", "name": f"Org {org_id}",
            "external_id": external_id, "created_at": iso(created if created is not None else T0 - 86_400),
            "updated_at": iso(updated), "organization_fields": {"support_tier": tier, "other": "x"},
            "tags": [], "domain_names": [], **extra}


def page(organizations, end_time, end_of_stream, next_host=HOST):
    """One export page; ``next_page`` is built on ``next_host`` to show it is never followed."""
    return {"organizations": organizations, "count": len(organizations), "end_of_stream": end_of_stream,
            "end_time": end_time,
            "next_page": f"https://{next_host}/api/v2/incremental/organizations.json?start_time={end_time}"}


def params(start_time: int) -> list:
    """The only query an export page may carry: start_time and per_page=1000, nothing else."""
    return [matchers.query_param_matcher({"start_time": str(start_time), "per_page": "1000"})]


def sent_query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


# 1. The request -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("netloc", [HOST, "localhost:8443"])
@responses.activate
def test_export_request_is_get_incremental_organizations_with_start_time_and_per_page_1000(netloc) -> None:
    responses.get(f"https://{netloc}/api/v2/incremental/organizations", json=page([], T0, True))
    zendesk(netloc=netloc).changed_organizations(T0)
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.method == "GET"
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", netloc, "/api/v2/incremental/organizations")
    assert sent_query(responses.calls[0]) == {"start_time": [str(T0)], "per_page": ["1000"]}
    sent = request.headers["Authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")).decode() == "bot@acme.test/token:zd-token-canary"


@responses.activate
def test_export_with_oauth_token_sends_bearer() -> None:
    responses.get(EXPORT, json=page([], T0, True))
    settings = Settings(_env_file=None, zendesk_url=f"https://{HOST}", zendesk_oauth_token="oauth-canary-2")
    ZendeskClient(connect(settings, ServiceSession("zendesk")), "support_tier").changed_organizations(T0)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer oauth-canary-2"


@responses.activate
def test_exporter_caps_per_page_at_1000() -> None:
    responses.get(EXPORT, match=params(T0), json=page([], T0, True))
    settings = Settings(_env_file=None, zendesk_url=f"https://{HOST}", zendesk_oauth_token="t")
    OrganizationExporter(connect(settings, ServiceSession("zendesk")), "support_tier", per_page=5000).changed_since(T0)
    assert len(responses.calls) == 1


def test_exporter_refuses_a_client_not_built_on_a_service_session() -> None:
    from zenpy import Zenpy

    with pytest.raises(TypeError, match=r"worker\.io\.zendesk\.connect"):
        OrganizationExporter(Zenpy(subdomain="acme", oauth_token="t"), "support_tier")


# 2. Several pages -----------------------------------------------------------------------------------------------


@responses.activate
def test_export_follows_end_time_not_next_page_and_dedupes_the_inclusive_boundary() -> None:
    t1, t2, t3 = T0 + 100, T0 + 200, T0 + 300
    # next_page points at another host on purpose: only start_time=end_time on our own host may be asked.
    responses.get(EXPORT, match=params(T0), json=page(
        [org(1, T0 + 5, "tier_gold", external_id="001A00000000001AAA"),
         org(2, t1, "", external_id="0015e00000ABCDe")], t1, False, next_host="evil.example"))
    responses.get(EXPORT, match=params(t1), json=page(
        [org(2, t1, "", external_id="0015e00000ABCDe"),  # the boundary second comes again
         org(3, t2, "tier_starter", external_id=None, created=t2)], t2, False, next_host="evil.example"))
    responses.get(EXPORT, match=params(t2), json=page(
        [org(3, t3, "tier_enterprise", external_id=None, created=t2),  # changed again later: this one wins
         org(4, t3, None, external_id="Company-1")], t3, True, next_host="evil.example"))

    export = zendesk().changed_organizations(T0)

    assert [sent_query(c)["start_time"] for c in responses.calls] == [[str(T0)], [str(t1)], [str(t2)]]
    assert all(urlsplit(c.request.url).netloc == HOST for c in responses.calls)
    assert export.end_time == t3
    assert (export.complete, export.too_recent) == (True, False)
    by_id = {c.organization.id: c for c in export.organizations}
    assert len(export.organizations) == 4 and sorted(by_id) == [1, 2, 3, 4]  # each organization once
    assert by_id[1].organization.tier_tag == "tier_gold"
    assert by_id[2].organization.tier_tag is None  # "" in organization_fields means unset
    assert by_id[3].organization.tier_tag == "tier_enterprise"  # the later updated_at kept
    assert (by_id[3].updated_at, by_id[3].created_at) == (t3, t2)
    assert by_id[4].organization.tier_tag is None
    assert (by_id[1].updated_at, by_id[1].created_at) == (T0 + 5, T0 - 86_400)  # ISO 8601 "Z" -> unix ints
    assert [by_id[n].organization.external_id for n in (1, 2, 3, 4)] == [
        "001A00000000001AAA", "0015e00000ABCDe", None, "Company-1"]  # as given: no case or length change
    assert by_id[1].organization.name == "Org 1"


@responses.activate
def test_export_keeps_the_later_version_even_when_it_came_first() -> None:
    t1 = T0 + 50
    responses.get(EXPORT, match=params(T0), json=page([org(7, t1 + 10, "tier_gold")], t1, False))
    responses.get(EXPORT, match=params(t1), json=page([org(7, t1, "tier_starter")], t1 + 10, True))
    export = zendesk().changed_organizations(T0)
    assert [(c.organization.id, c.organization.tier_tag, c.updated_at) for c in export.organizations] == [
        (7, "tier_gold", t1 + 10)]


@responses.activate
def test_export_counts_every_delivered_item_as_progress() -> None:
    t1 = T0 + 9
    responses.get(EXPORT, match=params(T0), json=page([org(1, T0), org(2, t1)], t1, False))
    responses.get(EXPORT, match=params(t1), json=page([org(2, t1)], t1, True))
    counted: list[int] = []
    zendesk().changed_organizations(T0, counted.append)
    assert sum(counted) == 3  # items read, duplicates included


# 3. A full page inside one second -------------------------------------------------------------------------------


def exporter() -> OrganizationExporter:
    return OrganizationExporter(zendesk()._z, "support_tier")


@responses.activate
def test_page_stuck_in_one_second_stops_after_one_request_as_incomplete() -> None:
    stuck = page([org(n, T0, "tier_gold") for n in range(1, 1001)], T0, False)
    assert stuck["end_time"] == T0
    responses.get(EXPORT, json=stuck)  # would be served for ever: following it is the documented loop
    export = exporter().changed_since(T0)
    assert len(responses.calls) == 1
    assert export.complete is False and export.too_recent is False
    assert export.end_time == T0
    assert len(export.organizations) == 1000


@responses.activate
def test_later_page_stuck_in_one_second_stops_there() -> None:
    t1 = T0 + 30
    responses.get(EXPORT, match=params(T0), json=page([org(1, t1)], t1, False))
    responses.get(EXPORT, match=params(t1), json=page([org(n, t1) for n in range(2, 1002)], t1, False))
    export = exporter().changed_since(T0)
    assert len(responses.calls) == 2
    assert (export.complete, export.end_time, len(export.organizations)) == (False, t1, 1001)


def listing(organizations, after=None, has_more=False):
    """One page of GET /api/v2/organizations with cursor pagination."""
    return {"organizations": organizations, "meta": {"has_more": has_more, "after_cursor": "c2" if has_more else None},
            "links": {"next": f"{BASE}/organizations.json?page%5Bafter%5D=c2&page%5Bsize%5D=100" if has_more else None}}


@responses.activate
def test_the_client_lists_a_stuck_second_once_and_goes_on_from_when_the_list_began() -> None:
    t1, listed_at = T0 + 30, T0 + 100
    stuck = page([org(n, t1) for n in range(1, 1001)], t1, False)
    responses.get(EXPORT, match=params(T0), json=stuck)
    responses.get(EXPORT, match=params(t1), json=stuck)  # the same page for ever
    date = {"Date": formatdate(listed_at, usegmt=True)}  # Zendesk's clock when the list began
    responses.get(f"{BASE}/organizations", headers=date,
                  json=listing([org(n, t1) for n in range(1, 1003)] + [org(7001, T0 - 5), org(7002, t1 + 50)]))
    responses.get(EXPORT, match=params(listed_at - 1), json=page([org(5000, listed_at + 7, "tier_gold")],
                                                                  listed_at + 7, True))
    export = zendesk().changed_organizations(T0)
    assert export.complete is True and export.end_time == listed_at + 7
    ids = sorted(item.organization.id for item in export.organizations)
    assert ids == [*range(1, 1003), 5000, 7002]  # 7001 changed before the stuck second
    assert [c.request.url.split("?")[0] for c in responses.calls] == [
        EXPORT, EXPORT, f"{BASE}/organizations", EXPORT]


@responses.activate
def test_without_a_date_header_a_stuck_second_stays_incomplete() -> None:
    t1 = T0 + 30
    stuck = page([org(n, t1) for n in range(1, 1001)], t1, False)
    responses.get(EXPORT, match=params(T0), json=stuck)
    responses.get(EXPORT, match=params(t1), json=stuck)
    responses.get(f"{BASE}/organizations", json=listing([org(n, t1) for n in range(1, 1003)]))
    export = zendesk().changed_organizations(T0)
    assert export.complete is False and len(responses.calls) == 3  # the caller then reads everything


# 4. Too recent, and other 400s ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 422])
@responses.activate
def test_too_recent_start_time_is_nothing_to_read_not_an_error(status) -> None:
    responses.get(EXPORT, status=status, json=TOO_RECENT)
    export = zendesk().changed_organizations(T0)
    assert export == OrganizationExport(too_recent=True)
    assert (export.organizations, export.end_time) == ((), None)
    assert len(responses.calls) == 1  # a 400 is never retried


@responses.activate
def test_other_400_is_a_remote_state_error() -> None:
    responses.get(EXPORT, status=400, json={"error": "InvalidValue", "description": "per_page must be an integer"})
    with pytest.raises(RemoteStateError, match="per_page must be an integer") as caught:
        zendesk().changed_organizations(T0)
    assert caught.value.exit_code == ExitCode.REMOTE_STATE == 7
    assert caught.value.http_status == 400
    assert "/api/v2/incremental/organizations" in caught.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_400_about_an_invalid_start_time_is_not_read_as_too_recent() -> None:
    responses.get(EXPORT, status=400, json={
        "error": "InvalidValue", "description": "start_time must be an integer number of seconds since the epoch"})
    with pytest.raises(RemoteStateError):
        zendesk().changed_organizations(T0)


# 5. Rate limit --------------------------------------------------------------------------------------------------


@responses.activate(registry=registries.OrderedRegistry)
def test_429_with_short_retry_after_is_waited_for_then_the_export_completes() -> None:
    responses.get(EXPORT, status=429, headers={"Retry-After": "1"}, json={"errors": [
        {"code": "RateLimitExceeded", "status": "429", "title": "Rate limit exceeded. Maximum 10 requests per minute."}]})
    responses.get(EXPORT, match=params(T0), json=page([org(1, T0 + 3, "tier_gold")], T0 + 3, True))
    sleeps: list[float] = []
    export = zendesk(sleeps).changed_organizations(T0)
    assert sleeps == [1.0]  # waited exactly Retry-After, through the injected sleep
    assert len(responses.calls) == 2
    assert sent_query(responses.calls[0]) == sent_query(responses.calls[1])  # the same page asked again
    assert export.complete and not export.too_recent
    assert export.end_time == T0 + 3 and [c.organization.id for c in export.organizations] == [1]


@responses.activate
def test_429_longer_than_max_retry_wait_ends_the_read_retryably() -> None:
    responses.get(EXPORT, status=429, headers={"Retry-After": "120"})
    sleeps: list[float] = []
    with pytest.raises(RateLimitedError) as caught:
        zendesk(sleeps, max_retry_wait=60).changed_organizations(T0)
    assert caught.value.retryable is True
    assert caught.value.retry_after == 120
    assert caught.value.exit_code == ExitCode.RATE_LIMITED
    assert sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_the_export_waits_at_most_ten_seconds_even_when_the_session_would_wait_a_minute() -> None:
    responses.get(EXPORT, status=429, headers={"Retry-After": "30"})
    sleeps: list[float] = []
    with pytest.raises(RateLimitedError) as caught:  # the incremental run goes on without it (worker/reading.py)
        zendesk(sleeps, max_retry_wait=60).changed_organizations(T0)
    assert caught.value.retry_after == 30 and sleeps == [] and len(responses.calls) == 1


# 6. Malformed pages ---------------------------------------------------------------------------------------------


MALFORMED = {
    "no organizations key": {"count": 0, "end_of_stream": True, "end_time": T0, "next_page": None},
    "organizations is not a list": {"organizations": {"id": 1}, "end_of_stream": True, "end_time": T0},
    "organizations null": {"organizations": None, "end_of_stream": True, "end_time": T0},
    "an item is not an object": {"organizations": [17], "end_of_stream": True, "end_time": T0},
    "organization without id": page([{k: v for k, v in org(1, T0).items() if k != "id"}], T0, True),
    "organization with a null id": page([org(None, T0)], T0, True),
    "organization with a non-numeric id": page([org("abc", T0)], T0, True),
    "end_time is not a unix time": {**page([org(1, T0)], T0, True), "end_time": "2026-01-01T00:00:00Z"},
    "body is a list": [page([], T0, True)],
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@responses.activate
def test_malformed_page_is_a_remote_state_error_naming_the_endpoint(body) -> None:
    responses.get(EXPORT, json=body)
    with pytest.raises(RemoteStateError, match="GET /api/v2/incremental/organizations") as caught:
        zendesk().changed_organizations(T0)
    assert caught.value.exit_code == ExitCode.REMOTE_STATE


@responses.activate
def test_non_json_page_is_a_remote_state_error_naming_the_endpoint() -> None:
    responses.get(EXPORT, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(RemoteStateError, match="GET /api/v2/incremental/organizations"):
        zendesk().changed_organizations(T0)


@pytest.mark.parametrize("bad_id", [True, 7.9], ids=["true", "fraction"])
@responses.activate
def test_organization_id_that_is_not_an_integer_is_refused(bad_id) -> None:
    responses.get(EXPORT, json=page([org(bad_id, T0)], T0, True))
    with pytest.raises(RemoteStateError, match="without an integer id"):
        zendesk().changed_organizations(T0)


@pytest.mark.parametrize("updated_at", [None, "", "yesterday", 1_767_225_600])
@responses.activate
def test_organization_without_a_usable_updated_at_is_a_remote_state_error(updated_at) -> None:
    responses.get(EXPORT, json=page([{**org(42, T0), "updated_at": updated_at}], T0, True))
    with pytest.raises(RemoteStateError, match=r"organization 42 without a readable updated_at"):
        zendesk().changed_organizations(T0)


@responses.activate
def test_organization_without_updated_at_error_names_the_endpoint() -> None:
    responses.get(EXPORT, json=page([{**org(42, T0), "updated_at": None}], T0, True))
    with pytest.raises(RemoteStateError, match="GET /api/v2/incremental/organizations"):
        zendesk().changed_organizations(T0)


# 7. An empty stream ---------------------------------------------------------------------------------------------


@responses.activate
def test_empty_first_page_without_end_time_leaves_the_mark_where_it_was() -> None:
    responses.get(EXPORT, match=params(T0), json={"organizations": [], "count": 0, "end_of_stream": True,
                                                  "end_time": None, "next_page": None})
    export = zendesk().changed_organizations(T0)
    # The code answers end_time == start_time (not None, as OrganizationExport's docstring says for "nothing
    # came"): the caller's next read starts at the same second, i.e. the mark does not move.
    assert export == OrganizationExport((), T0, complete=True, too_recent=False)
    assert len(responses.calls) == 1


# write_tags with None -------------------------------------------------------------------------------------------


def job(job_id, status="queued", results=None, total=1):
    return {"job_status": {"id": job_id, "url": f"{BASE}/job_statuses/{job_id}.json", "total": total,
                           "progress": None, "status": status, "message": None, "results": results}}


@responses.activate
def test_write_tags_none_sends_a_json_null_to_clear_the_field() -> None:
    update = responses.put(f"{BASE}/organizations/update_many.json", json=job("V3-n", total=2))
    responses.get(f"{BASE}/job_statuses/show_many.json", json={"job_statuses": [job("V3-n", "completed", [
        {"action": "update", "id": 11, "status": "Updated", "success": True},
        {"action": "update", "id": 12, "status": "Updated", "success": True}], total=2)["job_status"]]})
    results = zendesk().write_tags([(11, None), (12, "tier_gold")])
    assert update.call_count == 1
    raw = update.calls[0].request.body
    assert json.loads(raw) == {"organizations": [
        {"id": 11, "organization_fields": {"support_tier": None}},
        {"id": 12, "organization_fields": {"support_tier": "tier_gold"}}]}
    assert b'"support_tier": null' in (raw if isinstance(raw, bytes) else raw.encode())
    assert [(r.organization_id, r.ok) for r in results] == [(11, True), (12, True)]
