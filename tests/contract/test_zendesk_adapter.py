"""Exact request/response contracts of the Zendesk adapter, through real zenpy, against `responses`."""

import json
import os

import pytest
import responses
from responses import matchers, registries

from worker.core.actions import Action
from worker.core.errors import AuthError, RateLimitedError
from worker.core.plan import FieldPlan
from worker.io.http import ServiceSession
from worker.io.zendesk import ZendeskClient, connect
from worker.settings import Settings

BASE = "https://acme.zendesk.com/api/v2"


def client(sleeps=None, **options) -> ZendeskClient:
    settings = Settings(_env_file=None, zendesk_url="https://acme.zendesk.com", zendesk_email="bot@acme.test",
                        zendesk_api_token="zd-token-canary")
    sleeps = sleeps if sleeps is not None else []
    session = ServiceSession("zendesk", sleep=sleeps.append)
    return ZendeskClient(connect(settings, session), "support_tier", sleep=sleeps.append, **options)


def job(job_id, status="queued", results=None, total=1):
    return {"job_status": {"id": job_id, "url": f"{BASE}/job_statuses/{job_id}.json", "total": total,
                           "progress": None, "status": status, "message": None, "results": results}}


@responses.activate
def test_update_tiers_batches_of_100_and_reads_every_result() -> None:
    changes = [(n, "tier_starter") for n in range(1, 251)]
    bodies = []

    def update_many(request):
        body = json.loads(request.body)
        bodies.append(body)
        job_id = f"V3-{len(bodies)}"
        return 200, {}, json.dumps(job(job_id, total=len(body["organizations"])))

    responses.add_callback(responses.PUT, f"{BASE}/organizations/update_many.json", callback=update_many)

    def job_statuses(request):
        statuses = []
        for job_id in request.params["ids"].split(","):
            index = int(job_id.split("-")[1]) - 1
            ids = [o["id"] for o in bodies[index]["organizations"]]
            results = [{"action": "update", "id": i, "status": "Updated", "success": True} for i in ids]
            if index == 0:  # the live API omits `success` on failed items (zenpy betamax fixture)
                results[1] = {"index": 1, "error": "OrganizationUpdateFailed", "id": ids[1], "details": "locked"}
                results.pop(2)  # and an item with no result at all is a failure too
            statuses.append(job(job_id, "completed", results, total=len(ids))["job_status"])
        return 200, {}, json.dumps({"job_statuses": statuses})

    poll = responses.add_callback(responses.GET, f"{BASE}/job_statuses/show_many.json", callback=job_statuses)
    results = client().write_tags(changes)
    assert [len(b["organizations"]) for b in bodies] == [100, 100, 50]
    assert poll.call_count == 1  # all three jobs polled in one show_many round
    assert bodies[0]["organizations"][0] == {"id": 1, "organization_fields": {"support_tier": "tier_starter"}}
    assert [r.organization_id for r in results] == list(range(1, 251))
    failed = {r.organization_id: r.error for r in results if not r.ok}
    assert failed == {2: "OrganizationUpdateFailed: locked", 3: "the job reported no result for it"}


@pytest.mark.parametrize("cap", [1, 2, 5])
@responses.activate
def test_several_jobs_run_at_once_never_more_than_the_cap(cap) -> None:
    """Jobs finish one poll round after they are queued; a new one is queued only as one finishes."""
    queued: list[str] = []
    finished: set[str] = set()
    most_in_flight = 0

    def update_many(request):
        nonlocal most_in_flight
        queued.append(f"V3-{len(queued) + 1}")
        most_in_flight = max(most_in_flight, len(queued) - len(finished))
        return 200, {}, json.dumps(job(queued[-1], total=len(json.loads(request.body)["organizations"])))

    def job_statuses(request):
        ids = request.params["ids"].split(",")
        finished.update(ids)
        return 200, {}, json.dumps({"job_statuses": [job(i, "completed", [], total=0)["job_status"] for i in ids]})

    responses.add_callback(responses.PUT, f"{BASE}/organizations/update_many.json", callback=update_many)
    poll = responses.add_callback(responses.GET, f"{BASE}/job_statuses/show_many.json", callback=job_statuses)
    client(max_jobs_in_flight=cap).write_tags([(n, "tier_starter") for n in range(1, 701)])
    assert len(queued) == 7
    assert most_in_flight == cap  # several at once when the cap allows, and never more
    assert poll.call_count == -(-7 // cap)  # one show_many round polls every job in flight


@responses.activate
def test_failed_job_fails_every_item() -> None:
    responses.put(f"{BASE}/organizations/update_many.json", json=job("V3-x"))
    responses.get(f"{BASE}/job_statuses/show_many.json",
                  json={"job_statuses": [job("V3-x", "failed", None)["job_status"]]})
    results = client().write_tags([(1, "tier_starter"), (2, "tier_starter")])
    assert [r.ok for r in results] == [False, False]
    assert results[0].error.startswith("job failed")


@responses.activate(registry=registries.OrderedRegistry)
def test_update_many_429_is_retried_after_retry_after_not_zenpys_loop() -> None:
    responses.put(f"{BASE}/organizations/update_many.json", status=429, headers={"Retry-After": "2"})
    responses.put(f"{BASE}/organizations/update_many.json", json=job("V3-y"))
    responses.get(f"{BASE}/job_statuses/show_many.json", json={"job_statuses": [
        job("V3-y", "completed", [{"id": 5, "success": True, "action": "update"}])["job_status"]]})
    sleeps: list[float] = []
    assert client(sleeps).write_tags([(5, "tier_starter")])[0].ok
    assert 2.0 in sleeps


@responses.activate
def test_slow_job_backs_off_then_times_out_as_failures() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    responses.put(f"{BASE}/organizations/update_many.json", json=job("V3-z"))
    responses.get(f"{BASE}/job_statuses/show_many.json", json={"job_statuses": [job("V3-z", "working")["job_status"]]})
    settings = Settings(_env_file=None, zendesk_url="https://acme.zendesk.com", zendesk_email="bot@acme.test",
                        zendesk_api_token="t0ken")
    zd = ZendeskClient(connect(settings, ServiceSession("zendesk", sleep=sleep)), "support_tier", job_timeout=30,
                       sleep=sleep, clock=lambda: now[0])
    results = zd.write_tags([(1, "tier_starter")])
    assert not results[0].ok and "did not finish within 30s" in results[0].error
    assert sleeps[:3] == [0.25, 0.375, 0.5625] and max(sleeps) == 3.0
    assert sum(sleeps) >= 30


@responses.activate
def test_long_retry_after_ends_the_run() -> None:
    responses.put(f"{BASE}/organizations/update_many.json", status=429, headers={"Retry-After": "900"})
    with pytest.raises(RateLimitedError):
        client().write_tags([(5, "tier_starter")])


@responses.activate
def test_organizations_for_asks_both_id_forms_100_at_a_time() -> None:
    ids = [f"001A0000000{n:04d}AAA" for n in range(60)]
    seen = []

    def show_many(request):
        values = request.params["external_ids"].split(",")
        seen.append(values)
        orgs = [{"id": 1, "name": "A", "external_id": ids[0][:15].lower(), "organization_fields": {"support_tier": None}}]
        return 200, {}, json.dumps({"organizations": orgs if len(seen) == 1 else [], "next_page": None, "count": 1})

    responses.add_callback(responses.GET, f"{BASE}/organizations/show_many.json", callback=show_many)
    found = client().organizations_for(ids)
    assert [len(v) for v in seen] == [100, 20]
    assert ids[0] in seen[0] and ids[0][:15] in seen[0]
    assert [(o.id, o.tier_tag) for o in found] == [(1, None)]


FIELD = {"id": 77, "key": "support_tier", "type": "dropdown", "title": "Support tier",
         "custom_field_options": [{"id": 1, "name": "Enterprise", "value": "tier_enterprise"},
                                  {"id": 2, "name": "Gold (legacy)", "value": "legacy_gold"}]}


@responses.activate
def test_field_update_keeps_every_existing_option() -> None:
    responses.get(f"{BASE}/organization_fields.json",
                  json={"organization_fields": [FIELD], "next_page": None, "count": 1})
    put = responses.put(f"{BASE}/organization_fields/77.json", json={"organization_field": FIELD})
    plan = FieldPlan(action=Action.UPDATE, key="support_tier", title="Support tier", field_id=77,
                     add=(("Starter", "tier_starter"),))
    client().apply_field(plan)
    body = json.loads(put.calls[0].request.body)
    assert body["organization_field"]["custom_field_options"] == [
        {"id": 1, "name": "Enterprise", "value": "tier_enterprise"},
        {"id": 2, "name": "Gold (legacy)", "value": "legacy_gold"},
        {"name": "Starter", "value": "tier_starter"},
    ]


@responses.activate
def test_field_create_sends_a_dropdown_with_our_options() -> None:
    responses.get(f"{BASE}/organization_fields.json",
                  json={"organization_fields": [], "next_page": None, "count": 0})
    post = responses.post(f"{BASE}/organization_fields.json", status=201, json={"organization_field": FIELD},
                          match=[matchers.json_params_matcher({"organization_field": {
                              "key": "support_tier", "title": "Support tier", "type": "dropdown",
                              "custom_field_options": [{"name": "Enterprise", "value": "tier_enterprise"}]}})])
    client().apply_field(FieldPlan(action=Action.CREATE, key="support_tier", title="Support tier",
                                   add=(("Enterprise", "tier_enterprise"),)))
    assert post.call_count == 1


@responses.activate
def test_all_organizations_follow_the_cursor() -> None:
    page2 = f"{BASE}/organizations.json?page%5Bafter%5D=abc&page%5Bsize%5D=100"
    responses.get(f"{BASE}/organizations", match=[matchers.query_param_matcher({"page[size]": "100"})],
                  json={"organizations": [{"id": 1, "name": "A", "external_id": "x", "organization_fields": {}}],
                        "meta": {"has_more": True, "after_cursor": "abc"}, "links": {"next": page2}})
    responses.get(f"{BASE}/organizations",
                  match=[matchers.query_param_matcher({"page[size]": "100", "page[after]": "abc"})],
                  json={"organizations": [{"id": 2, "name": "B", "external_id": None,
                                           "organization_fields": {"support_tier": "tier_starter"}}],
                        "meta": {"has_more": False, "after_cursor": None}, "links": {"next": None}})
    found = list(client().all_organizations())
    assert [(o.id, o.tier_tag) for o in found] == [(1, None), (2, "tier_starter")]


@responses.activate
def test_oauth_token_is_sent_as_bearer() -> None:
    me = responses.get(f"{BASE}/users/me.json", json={"user": {"id": 1, "role": "admin", "email": "a@acme.test"}})
    settings = Settings(_env_file=None, zendesk_url="https://acme.zendesk.com", zendesk_oauth_token="oauth-canary-1")
    ZendeskClient(connect(settings, ServiceSession("zendesk")), "support_tier").require_admin()
    assert me.calls[0].request.headers["Authorization"] == "Bearer oauth-canary-1"


@responses.activate
def test_api_token_is_sent_as_email_slash_token_basic_auth() -> None:
    me = responses.get(f"{BASE}/users/me.json", json={"user": {"id": 1, "role": "agent"}})
    with pytest.raises(AuthError, match="not an admin"):
        client().require_admin()
    import base64

    sent = me.calls[0].request.headers["Authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")).decode() == "bot@acme.test/token:zd-token-canary"


@responses.activate
def test_jobs_missing_from_show_many_are_asked_for_singly_and_expired_ones_fail() -> None:
    responses.put(f"{BASE}/organizations/update_many.json", json=job("V3-a"))
    responses.put(f"{BASE}/organizations/update_many.json", json=job("V3-b"))
    responses.get(f"{BASE}/job_statuses/show_many.json", json={"job_statuses": []})  # neither listed
    single_a = responses.get(f"{BASE}/job_statuses/V3-a.json", json=job(
        "V3-a", "completed", [{"id": i, "success": True} for i in range(1, 101)], total=100))
    responses.get(f"{BASE}/job_statuses/V3-b.json", status=404,
                  json={"error": "RecordNotFound", "description": "Not found"})
    results = client().write_tags([(i, "tier_starter") for i in range(1, 102)])
    assert single_a.call_count == 1
    assert all(r.ok for r in results[:100])
    assert not results[100].ok and "no longer has this job's status" in results[100].error


@responses.activate
def test_falls_back_to_single_job_polling_when_show_many_is_not_served() -> None:
    responses.put(f"{BASE}/organizations/update_many.json", json=job("V3-c"))
    show_many = responses.get(f"{BASE}/job_statuses/show_many.json", status=404, json={"error": "InvalidEndpoint"})
    responses.get(f"{BASE}/job_statuses/V3-c.json", json=job("V3-c", "completed", [{"id": 7, "success": True}]))
    assert client().write_tags([(7, "tier_starter")])[0].ok
    assert show_many.call_count == 1


@pytest.mark.parametrize("netloc", ["acme.zendesk.com", "127.0.0.1:8443", "localhost:8443", "[::1]:8443"])
@responses.activate
def test_every_kind_of_host_is_reached_without_touching_the_environment(netloc) -> None:
    base = f"https://{netloc}/api/v2"
    responses.get(f"{base}/users/me.json", json={"user": {"id": 1, "role": "admin", "email": "a@acme.test"}})
    responses.get(f"{base}/organizations", json={
        "organizations": [{"id": 7, "name": "A", "external_id": "x", "organization_fields": {}}],
        "meta": {"has_more": False, "after_cursor": None}, "links": {"next": None}})
    before = dict(os.environ)
    settings = Settings(_env_file=None, zendesk_url=f"https://{netloc}", zendesk_oauth_token="t")
    zd = ZendeskClient(connect(settings, ServiceSession("zendesk")), "support_tier")
    zd.require_admin()
    assert [o.id for o in zd.all_organizations()] == [7]
    assert dict(os.environ) == before


def test_two_clients_for_two_dotless_hosts_stay_apart() -> None:
    first = connect(Settings(_env_file=None, zendesk_url="https://localhost:1111", zendesk_oauth_token="t"),
                    ServiceSession("zendesk"))
    second = connect(Settings(_env_file=None, zendesk_url="https://localhost:2222", zendesk_oauth_token="t"),
                     ServiceSession("zendesk"))
    assert (first.organizations.base_url, second.organizations.base_url) == ("localhost:1111", "localhost:2222")


@responses.activate
def test_zendesk_url_with_capitals_reaches_zenpy_lower_cased() -> None:
    """Issue 6: requests lower-cases the host, and zenpy then failed to recognise its own responses."""
    responses.get(f"{BASE}/users/me.json", json={"user": {"id": 1, "role": "admin", "email": "a@acme.test"}})
    responses.get(f"{BASE}/organizations", json={
        "organizations": [{"id": 7, "name": "A", "external_id": "x", "organization_fields": {}}],
        "meta": {"has_more": False, "after_cursor": None}, "links": {"next": None}})
    settings = Settings(_env_file=None, zendesk_url=" HTTPS://Acme.Zendesk.com:443/ ", zendesk_oauth_token="t")
    zd = ZendeskClient(connect(settings, ServiceSession("zendesk")), "support_tier")
    zd.require_admin()
    assert [o.id for o in zd.all_organizations()] == [7]
