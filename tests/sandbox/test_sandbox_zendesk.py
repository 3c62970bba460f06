"""The fake Zendesk, driven through zenpy (and raw requests where zenpy would hide the HTTP detail)."""

from __future__ import annotations

import pytest
import requests
from zenpy.lib.api_objects import Organization, OrganizationField
from zenpy.lib.exception import APIException, RecordNotFoundException, TooManyValuesException

from worker.sandbox.server import ManualClock, Sandbox

pytestmark = pytest.mark.integration

# Key sets from Zendesk's OAS (OrganizationObject, CustomFieldObject, JobStatusObject as the live API sends it).
ORG_KEYS = {"url", "id", "name", "shared_tickets", "shared_comments", "external_id", "created_at", "updated_at",
            "domain_names", "details", "notes", "group_id", "tags", "organization_fields"}
FIELD_KEYS = {"url", "id", "type", "key", "title", "raw_title", "description", "raw_description", "position",
              "active", "system", "regexp_for_validation", "created_at", "updated_at"}
JOB_KEYS = {"id", "url", "total", "progress", "status", "message", "results"}


@pytest.fixture(scope="module")
def many_orgs(sb: Sandbox) -> list[int]:
    return [sb.zendesk.add_organization(f"Paged Org {n:04d}", f"EXT-{n:04d}") for n in range(250)]


def _field(sb: Sandbox, key: str) -> int:
    return sb.zendesk.add_field(key, "dropdown", key.replace("_", " ").title(),
                                [("Gold", f"{key}_gold"), ("Silver", f"{key}_silver")])


def test_users_me(sb: Sandbox, zenpy_client) -> None:
    me = zenpy_client.users.me()
    assert (me.role, me.email) == ("admin", sb.zendesk.email)


def test_cursor_pagination_lists_everything(sb: Sandbox, zenpy_client, zd_session, many_orgs: list[int]) -> None:
    sb.zendesk.reset_requests()
    listed = [org.id for org in zenpy_client.organizations()]
    assert listed == sorted(sb.zendesk.organizations)
    pages = [q for m, p, q in sb.zendesk.requests if (m, p) == ("GET", "/api/v2/organizations")]
    assert len(pages) == -(-len(listed) // 100) and "page[after]=" in pages[1]
    assert sb.zendesk.count("GET", "/api/v2/organizations") == len(pages)

    body = zd_session.get(f"{sb.zendesk_url}/api/v2/organizations.json", params={"page[size]": 2}, timeout=5).json()
    assert set(body) == {"organizations", "meta", "links"}
    assert body["meta"]["has_more"] is True and body["links"]["next"].startswith(sb.zendesk_url)
    assert set(body["organizations"][0]) == ORG_KEYS
    second = zd_session.get(body["links"]["next"], timeout=5).json()
    assert [o["id"] for o in second["organizations"]] == listed[2:4]
    back = zd_session.get(second["links"]["prev"], timeout=5).json()
    assert [o["id"] for o in back["organizations"]] == listed[:2]
    assert zd_session.get(f"{sb.zendesk_url}/api/v2/organizations", params={"page[size]": 101},
                          timeout=5).status_code == 400


def test_offset_pagination_and_cap(sb: Sandbox, zd_session, many_orgs: list[int]) -> None:
    body = zd_session.get(f"{sb.zendesk_url}/api/v2/organizations", params={"page": 2, "per_page": 3},
                          timeout=5).json()
    assert set(body) == {"organizations", "next_page", "previous_page", "count"}
    assert body["count"] == len(sb.zendesk.organizations) and len(body["organizations"]) == 3
    assert "page=3" in body["next_page"] and "page=1" in body["previous_page"]
    capped = zd_session.get(f"{sb.zendesk_url}/api/v2/organizations", params={"page": 101}, timeout=5)
    assert capped.status_code == 400


def test_show_many_by_external_ids_is_case_insensitive(sb: Sandbox, zenpy_client, many_orgs: list[int]) -> None:
    found = list(zenpy_client.organizations(external_ids=["ext-0001", "EXT-0002", "Ext-0999"]))
    assert sorted(o.external_id for o in found) == ["EXT-0001", "EXT-0002"]
    assert [o.id for o in zenpy_client.organizations(ids=[many_orgs[5]])] == [many_orgs[5]]
    with pytest.raises(TooManyValuesException):
        list(zenpy_client.organizations(external_ids=[f"x{n}" for n in range(101)]))


def test_show_one_and_not_found(sb: Sandbox, zenpy_client, zd_session, many_orgs: list[int]) -> None:
    assert zenpy_client.organizations(id=many_orgs[0]).name == "Paged Org 0000"
    with pytest.raises(RecordNotFoundException):
        zenpy_client.organizations(id=1)
    for path in ("/api/v2/organizations/1.json", "/api/v2/organizations/1"):
        response = zd_session.get(sb.zendesk_url + path, timeout=5)
        assert (response.status_code, response.json()) == (404, {"error": "RecordNotFound", "description": "Not found"})
    response = zd_session.get(f"{sb.zendesk_url}/api/v2/nothing_here.json", timeout=5)
    assert (response.status_code, response.json()["error"]) == (404, "InvalidEndpoint")


def test_update_many_job_with_mixed_results(sb: Sandbox, zenpy_client) -> None:
    zd = sb.zendesk
    _field(sb, "mixed_tier")
    ok, broken, bad_value = (zd.add_organization(f"Mixed {n}", f"MIX-{n}") for n in range(3))
    zd.fail_org_ids.add(broken)
    before = zd.organizations[ok]["organization_fields"]
    assert before["mixed_tier"] is None  # every field key is present, null when unset

    job = zenpy_client.organizations.update([
        Organization(id=ok, organization_fields={"mixed_tier": "mixed_tier_gold"}),
        Organization(id=broken, organization_fields={"mixed_tier": "mixed_tier_gold"}),
        Organization(id=bad_value, organization_fields={"mixed_tier": "no_such_option"}),
        Organization(id=999, organization_fields={"mixed_tier": "mixed_tier_gold"}),
    ])
    assert (job.status, job.total, job.progress, job.results) == ("queued", 4, None, None)
    assert job.id.startswith("V3-") and len(job.id) == 35 and job.url.endswith(f"/api/v2/job_statuses/{job.id}.json")
    assert zd.organizations[ok]["organization_fields"]["mixed_tier"] is None  # nothing applied before the poll

    done = zenpy_client.job_status(id=job.id)
    assert done.status == "completed" and done.progress == 4 and done.message.startswith("Completed at ")
    assert [getattr(r, "success", None) for r in done.results] == [True, None, None, None]
    results = sb.zendesk.render_job(sb.zendesk.jobs[job.id])["results"]  # the raw JSON zenpy received
    assert results[0] == {"action": "update", "id": ok, "status": "Updated", "success": True}
    assert results[1]["error"] == "OrganizationUpdateFailed" and results[1]["index"] == 1 and "success" not in results[1]
    assert results[2] == {"index": 2, "error": "OrganizationUpdateFailed", "id": bad_value,
                          "details": "Mixed Tier is invalid"}
    assert results[3]["error"] == "RecordNotFound" and results[3]["id"] == 999
    assert zd.organizations[ok]["organization_fields"]["mixed_tier"] == "mixed_tier_gold"
    assert zd.organizations[bad_value]["organization_fields"]["mixed_tier"] is None
    assert sb.errors == []


def test_job_polls_before_done_and_show_many(sb: Sandbox, zenpy_client, zd_session) -> None:
    org = sb.zendesk.add_organization("Slow Job Org")
    sb.zendesk.job_polls_before_done = 2
    try:
        job = zenpy_client.organizations.update([Organization(id=org, notes="first")])
        assert zenpy_client.job_status(id=job.id).status == "queued"
        statuses = zenpy_client.job_status(ids=[job.id])["job_statuses"]  # zenpy 2.0.57 returns a dict here
        assert [s.status for s in statuses] == ["completed"]
    finally:
        sb.zendesk.job_polls_before_done = 1
    body = zd_session.get(f"{sb.zendesk_url}/api/v2/job_statuses/{job.id}", timeout=5).json()
    assert set(body["job_status"]) == JOB_KEYS
    assert sb.zendesk.organizations[org]["notes"] == "first"
    missing = zd_session.get(f"{sb.zendesk_url}/api/v2/job_statuses/V3-deadbeef.json", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"] == "RecordNotFound"


def test_update_many_limits(sb: Sandbox, zenpy_client, zd_session, many_orgs: list[int]) -> None:
    with pytest.raises(TooManyValuesException):
        zenpy_client.organizations.update([Organization(id=i, notes="x") for i in many_orgs[:101]])
    too_many = zd_session.put(f"{sb.zendesk_url}/api/v2/organizations/update_many.json",
                              json={"organizations": [{"id": i} for i in many_orgs[:101]]}, timeout=5)
    assert too_many.status_code == 400
    assert too_many.json() == {"error": "TooManyValues", "description": "Parameter  cannot specify more than 100 values",
                               "max_count": 100}
    bulk = zd_session.put(f"{sb.zendesk_url}/api/v2/organizations/update_many.json",
                          params={"ids": f"{many_orgs[0]},{many_orgs[1]}"},
                          json={"organization": {"notes": "bulk"}}, timeout=5).json()
    assert bulk["job_status"]["total"] == 2
    zd_session.get(bulk["job_status"]["url"], timeout=5)
    assert sb.zendesk.organizations[many_orgs[1]]["notes"] == "bulk"


def test_organization_field_create_and_update(sb: Sandbox, zenpy_client) -> None:
    zd = sb.zendesk
    created = zenpy_client.organization_fields.create(OrganizationField(
        key="plan_level", title="Plan level", type="dropdown",
        custom_field_options=[{"name": "Gold", "value": "plan_gold"}, {"name": "Silver", "value": "plan_silver"}]))
    assert created.id in zd.fields and created.key == "plan_level"
    raw = zd.render_field(zd.fields[created.id])
    assert FIELD_KEYS | {"custom_field_options"} == set(raw)
    gold, silver = raw["custom_field_options"]
    assert {"id", "name", "raw_name", "value", "position"} <= set(gold) and gold["value"] == "plan_gold"

    gold_org = zd.add_organization("Field Gold Org", organization_fields={"plan_level": "plan_gold"})
    silver_org = zd.add_organization("Field Silver Org", organization_fields={"plan_level": "plan_silver"})
    assert all("plan_level" in o["organization_fields"] for o in zd.organizations.values())

    zenpy_client.organization_fields.update(OrganizationField(id=created.id, custom_field_options=[
        {"id": gold["id"], "name": "Gold", "value": "plan_gold"},
        {"id": None, "name": "Platinum", "value": "plan_platinum"},
    ]))  # silver omitted: REMOVED, and its value wiped from every organization
    options = zd.fields[created.id]["custom_field_options"]
    assert [o["value"] for o in options] == ["plan_gold", "plan_platinum"]
    assert options[0]["id"] == gold["id"] and isinstance(options[1]["id"], int) and options[1]["id"] not in (
        gold["id"], silver["id"])
    assert zd.organizations[gold_org]["organization_fields"]["plan_level"] == "plan_gold"
    assert zd.organizations[silver_org]["organization_fields"]["plan_level"] is None

    listed = {f.key: f for f in zenpy_client.organization_fields()}
    assert [o.value for o in listed["plan_level"].custom_field_options] == ["plan_gold", "plan_platinum"]


def test_organization_field_validation(sb: Sandbox, zd_session) -> None:
    url = f"{sb.zendesk_url}/api/v2/organization_fields.json"
    payload = {"organization_field": {"key": "dup_key", "title": "Dup", "type": "dropdown",
                                      "custom_field_options": [{"name": "A", "value": "a"}]}}
    assert zd_session.post(url, json=payload, timeout=5).status_code == 201
    again = zd_session.post(url, json=payload, timeout=5)
    assert again.status_code == 422
    assert again.json() == {"error": "RecordInvalid", "description": "Record validation errors",
                            "details": {"key": [{"description": "Key has already been taken",
                                                 "error": "DuplicateValue"}]}}
    for bad in ({"key": "123", "title": "Digits"}, {"key": "has space", "title": "Space"},
                {"key": "dup_opts", "title": "Dup", "type": "dropdown",
                 "custom_field_options": [{"name": "A", "value": "a"}, {"name": "B", "value": "a"}]}):
        response = zd_session.post(url, json={"organization_field": bad}, timeout=5)
        assert (response.status_code, response.json()["error"]) == (422, "RecordInvalid"), bad
    field_id = next(i for i, f in sb.zendesk.fields.items() if f["key"] == "dup_key")
    retype = zd_session.put(f"{sb.zendesk_url}/api/v2/organization_fields/{field_id}.json",
                            json={"organization_field": {"type": "text"}}, timeout=5)
    assert retype.status_code == 422
    assert zd_session.delete(f"{sb.zendesk_url}/api/v2/organization_fields/{field_id}", timeout=5).status_code == 204
    assert all("dup_key" not in o["organization_fields"] for o in sb.zendesk.organizations.values())


def test_bad_credentials_are_401(sb: Sandbox, make_zenpy, zd_session) -> None:
    client = make_zenpy(sb, token="wrong-token")
    with pytest.raises(APIException) as caught:
        list(client.organizations())
    assert caught.value.response.status_code == 401
    response = requests.get(f"{sb.zendesk_url}/api/v2/organizations.json", auth=("x@example.com/token", "nope"),
                            timeout=5)
    assert (response.status_code, response.json()) == (401, {"error": "Couldn't authenticate you"})
    oauth = requests.get(f"{sb.zendesk_url}/api/v2/users/me.json",
                         headers={"Authorization": f"Bearer {sb.zendesk.oauth_token}"}, timeout=5)
    assert oauth.json()["user"]["role"] == "admin"


def test_agent_role_is_forbidden(sb: Sandbox, zenpy_client, many_orgs: list[int]) -> None:
    sb.zendesk.role = "agent"
    try:
        assert zenpy_client.users.me().role == "agent"
        with pytest.raises(APIException) as caught:
            zenpy_client.organizations.update([Organization(id=many_orgs[0], organization_fields={"x": "y"})])
        assert caught.value.response.status_code == 403
        assert caught.value.response.json()["error"] == "Forbidden"
        with pytest.raises(APIException) as caught:
            zenpy_client.organization_fields.create(OrganizationField(key="agent_field", title="A"))
        assert caught.value.response.status_code == 403
        assert zenpy_client.organizations.update([Organization(id=many_orgs[0], notes="ok")]).status == "queued"
    finally:
        sb.zendesk.role = "admin"


def test_rate_limit_429_with_retry_after(make_zenpy) -> None:
    clock = ManualClock(1_714_564_800.0 + 45)  # 45 s into a minute window
    with Sandbox(zendesk_rate_limit_per_minute=3, clock=clock) as own:
        make_zenpy(own)  # sets REQUESTS_CA_BUNDLE for this sandbox's CA
        session = requests.Session()
        session.auth = (f"{own.zendesk.email}/token", own.zendesk.api_token)
        url = f"{own.zendesk_url}/api/v2/organizations.json"
        remaining = [session.get(url, timeout=5).headers["X-Rate-Limit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        limited = session.get(url, timeout=5)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "15"
        assert limited.headers["ratelimit-reset"] == "15" and limited.headers["ratelimit-limit"] == "3"
        assert limited.json() == {"error": "APIRateLimitExceeded",
                                  "description": "Number of allowed API requests per minute exceeded"}
        clock.advance(14.5)
        assert session.get(url, timeout=5).headers["Retry-After"] == "1"
        clock.advance(1)  # next window
        fresh = session.get(url, timeout=5)
        assert fresh.status_code == 200 and fresh.headers["X-Rate-Limit-Remaining"] == "2"


def test_fault_injection_and_request_log(sb: Sandbox, zd_session) -> None:
    sb.zendesk.fail_next(1, 503, {"error": "Unavailable"}, headers={"Retry-After": "3"},
                         path_contains="/organization_fields", method="GET")
    url = f"{sb.zendesk_url}/api/v2/organization_fields.json"
    failed = zd_session.get(url, timeout=5)
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "3"
    body = zd_session.get(url, timeout=5).json()
    assert set(body) == {"organization_fields", "next_page", "previous_page", "count"}
    assert sb.zendesk.requests[-1] == ("GET", "/api/v2/organization_fields", "")
