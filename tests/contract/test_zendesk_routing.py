"""Exact request/response contracts of the routing adapter, on zenpy's ServiceSession, against `responses`.

Response bodies are written for these tests, modelled on the shapes of Zendesk's OpenAPI spec
(TriggerObject, ViewObject, SLAPolicyObject, the definitions responses, cursor and offset pages).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import responses
import yaml
from responses import matchers

from tests.conftest import ROOT
from worker.core.errors import AuthError, RemoteStateError, UnreachableError
from worker.core.rules import Kind, RoutingDefinitions, RuleObject, canonical_attributes
from worker.io.http import ServiceSession
from worker.io.zendesk import connect
from worker.io.zendesk_routing import RoutingClient
from worker.settings import Settings

BASE = "https://acme.zendesk.com/api/v2"
FIRST_PAGE = {"page[size]": "100"}
strict = responses.activate(assert_all_requests_are_fired=True)


def routing(sleeps: list[float] | None = None) -> RoutingClient:
    settings = Settings(_env_file=None, zendesk_url="https://acme.zendesk.com", zendesk_email="bot@acme.test",
                        zendesk_api_token="zd-token-canary")
    sleeps = sleeps if sleeps is not None else []
    return RoutingClient(connect(settings, ServiceSession("zendesk", sleep=sleeps.append)))


def query(params: dict[str, str]) -> list[Any]:
    return [matchers.query_param_matcher(params)]


def body(expected: dict[str, Any]) -> list[Any]:
    return [matchers.query_param_matcher({}), matchers.json_params_matcher(expected)]


def cursor_page(key: str, items: list[dict[str, Any]], after: str | None = None, path: str | None = None) -> dict[str, Any]:
    following = f"{BASE}/{path or key}.json?page%5Bafter%5D={after}&page%5Bsize%5D=100" if after else None
    return {key: items, "meta": {"has_more": after is not None, "after_cursor": after, "before_cursor": "b0"},
            "links": {"next": following, "prev": None}}


MARKER = "managed-by: tiersync key=enterprise:{} digest=0123456789ab"
TRIGGER = {
    "url": f"{BASE}/triggers/9001.json", "id": 9001, "title": "[tiersync] Enterprise routing",
    "raw_title": "[tiersync] Enterprise routing", "position": 12, "active": True, "default": False,
    "category_id": "10026", "description": "Routes enterprise tickets\n" + MARKER.format("trigger"),
    "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"},
                           {"field": "organization.custom_fields.support_tier", "operator": "is",
                            "value": "tier_enterprise"}],
                   "any": []},
    "actions": [{"field": "group_id", "value": "20455932"}, {"field": "priority", "value": "high"},
                {"field": "current_tags", "value": "tier_enterprise"}],
    "restriction": None, "created_at": "2026-11-02T09:12:40Z", "updated_at": "2026-11-02T09:12:40Z",
}
FOREIGN_TRIGGER = {  # someone else's, with the spec's empty conditions object
    "url": f"{BASE}/triggers/25.json", "id": 25, "title": "Close and Save", "raw_title": "Close and Save",
    "position": 8, "active": False, "default": False, "category_id": None, "description": "Close and save a ticket",
    "conditions": {}, "actions": [], "created_at": "2012-09-25T22:50:26Z", "updated_at": "2012-09-25T22:50:26Z",
}
VIEW = {
    "url": f"{BASE}/views/360001.json", "id": 360001, "title": "[tiersync] Enterprise: open",
    "description": MARKER.format("view"), "active": True, "position": 3, "default": False, "restriction": None,
    "conditions": {"all": [{"field": "status", "operator": "less_than", "value": "solved"},
                           {"field": "current_tags", "operator": "includes", "value": "tier_enterprise"}],
                   "any": []},
    "execution": {"group_by": "assignee", "group_order": "desc", "sort_by": "status", "sort_order": "desc",
                  "group": {"id": "assignee", "title": "Assignee", "order": "desc"},
                  "sort": {"id": "status", "title": "Status", "order": "desc"},
                  "columns": [{"id": "status", "title": "Status"}, {"id": "requester", "title": "Requester"},
                              {"id": 360011872073, "title": "Region", "type": "text",
                               "url": f"{BASE}/ticket_fields/360011872073.json"}],
                  "fields": [{"id": "status", "title": "Status"}], "custom_fields": []},
    "created_at": "2026-11-02T09:12:41Z", "updated_at": "2026-11-02T09:12:41Z",
}
SLA_POLICY = {
    "url": f"{BASE}/slas/policies/36.json", "id": 36, "title": "[tiersync] Enterprise",
    "description": MARKER.format("sla_policy"), "position": 1,
    "filter": {"all": [{"field": "organization.custom_fields.support_tier", "operator": "is",
                        "value": "tier_enterprise"}], "any": []},
    "policy_metrics": [{"priority": "urgent", "metric": "first_reply_time", "target": 10, "business_hours": False},
                       {"priority": "normal", "metric": "requester_wait_time", "target": 160,
                        "business_hours": False}],
    "created_at": "2026-11-02T09:12:42Z", "updated_at": "2026-11-02T09:12:42Z",
}
GROUP = {"url": f"{BASE}/groups/211.json", "id": 211, "name": "Enterprise desk", "description": "", "default": False,
         "deleted": False, "is_public": True, "created_at": "2009-05-13T00:07:08Z", "updated_at": "2011-07-22T00:11:12Z"}


def desired_trigger() -> RuleObject:
    """What the core would ask for: an integer group id and no `any`, both spelled otherwise by Zendesk."""
    return RuleObject(Kind.TRIGGER, TRIGGER["title"], TRIGGER["description"], {
        "active": True, "category_id": "10026",
        "conditions": {"all": TRIGGER["conditions"]["all"]},
        "actions": [{"field": "group_id", "value": 20455932}, {"field": "priority", "value": "high"},
                    {"field": "current_tags", "value": "tier_enterprise"}]})


TRIGGER_WRITE = {"trigger": {"title": TRIGGER["title"], "description": TRIGGER["description"], "active": True,
                             "conditions": TRIGGER["conditions"], "actions": TRIGGER["actions"], "category_id": "10026"}}


@strict
def test_groups_follow_the_cursor_to_the_end_and_skip_deleted_ones() -> None:
    responses.get(f"{BASE}/groups", match=query(FIRST_PAGE),
                  json=cursor_page("groups", [GROUP, {**GROUP, "id": 122, "name": "Escalations"}], after="g1"))
    responses.get(f"{BASE}/groups", match=query({"page[size]": "100", "page[after]": "g1"}),
                  json=cursor_page("groups", [{**GROUP, "id": 300, "name": "Old desk", "deleted": True},
                                              {**GROUP, "id": 301, "name": "Starter desk"}]))
    assert routing().groups() == {"Enterprise desk": 211, "Escalations": 122, "Starter desk": 301}


@strict
def test_a_host_without_a_dot_is_reached_as_connect_pins_it() -> None:
    responses.get("https://localhost:8443/api/v2/groups", match=query(FIRST_PAGE), json=cursor_page("groups", [GROUP]))
    settings = Settings(_env_file=None, zendesk_url="https://localhost:8443", zendesk_email="bot@acme.test",
                        zendesk_api_token="zd-token-canary")
    assert RoutingClient(connect(settings, ServiceSession("zendesk"))).groups() == {"Enterprise desk": 211}


@strict
def test_two_live_groups_with_one_name_are_refused() -> None:
    responses.get(f"{BASE}/groups", match=query(FIRST_PAGE),
                  json=cursor_page("groups", [GROUP, {**GROUP, "id": 212}]))
    with pytest.raises(RemoteStateError, match="two groups are called 'Enterprise desk'"):
        routing().groups()


@strict
def test_a_next_link_is_followed_on_our_own_host_only() -> None:
    page = cursor_page("groups", [GROUP], after="g1")
    page["links"]["next"] = "https://elsewhere.example/api/v2/groups.json?page%5Bafter%5D=g1&page%5Bsize%5D=100"
    responses.get(f"{BASE}/groups", match=query(FIRST_PAGE), json=page)
    last = responses.get(f"{BASE}/groups", match=query({"page[size]": "100", "page[after]": "g1"}),
                         json=cursor_page("groups", []))
    assert routing().groups() == {"Enterprise desk": 211}
    assert last.calls[0].request.url.startswith(f"{BASE}/groups?")


@strict
def test_a_next_link_to_another_path_is_refused() -> None:
    page = cursor_page("groups", [GROUP], after="g1")
    page["links"]["next"] = f"{BASE}/users.json?page%5Bafter%5D=g1&page%5Bsize%5D=100"
    responses.get(f"{BASE}/groups", match=query(FIRST_PAGE), json=page)
    with pytest.raises(RemoteStateError, match="another path"):
        routing().groups()


@strict
def test_has_more_without_a_next_link_is_a_truncated_read() -> None:
    page = cursor_page("triggers", [TRIGGER], after="t1")
    page["links"]["next"] = None
    listed = responses.get(f"{BASE}/triggers", match=query(FIRST_PAGE), json=page)
    with pytest.raises(RemoteStateError, match="no next link; the read is incomplete"):
        routing().list_rules(Kind.TRIGGER)
    assert listed.call_count == 1


@strict
def test_a_next_link_that_repeats_itself_stops_the_read() -> None:
    responses.get(f"{BASE}/views", match=query(FIRST_PAGE), json=cursor_page("views", [VIEW], after="v1"))
    again = responses.get(f"{BASE}/views", match=query({"page[size]": "100", "page[after]": "v1"}),
                          json=cursor_page("views", [], after="v1"))
    with pytest.raises(RemoteStateError, match="same next page twice"):
        routing().list_rules(Kind.VIEW)
    assert again.call_count == 1


@strict
def test_an_offset_count_above_what_was_read_is_a_truncated_read() -> None:
    responses.get(f"{BASE}/slas/policies", match=query({}),
                  json={"sla_policies": [SLA_POLICY, {**SLA_POLICY, "id": 37}], "count": 3, "next_page": None,
                        "previous_page": None})
    with pytest.raises(RemoteStateError, match="counts 3 but gave 2; the read is incomplete"):
        routing().list_rules(Kind.SLA_POLICY)


@strict
def test_sla_policies_follow_next_page_to_the_end() -> None:
    second = {**SLA_POLICY, "id": 37, "title": "Incidents", "description": "", "position": 2}
    responses.get(f"{BASE}/slas/policies", match=query({}),
                  json={"sla_policies": [SLA_POLICY], "count": 2, "next_page": f"{BASE}/slas/policies.json?page=2",
                        "previous_page": None})
    responses.get(f"{BASE}/slas/policies", match=query({"page": "2"}),
                  json={"sla_policies": [second], "count": 2, "next_page": None,
                        "previous_page": f"{BASE}/slas/policies.json?page=1"})
    policies = routing().list_rules(Kind.SLA_POLICY)
    assert [(p.id, p.position) for p in policies] == [(36, 1), (37, 2)]
    assert policies[0].attributes == {"filter": SLA_POLICY["filter"], "policy_metrics": SLA_POLICY["policy_metrics"]}
    assert policies[0].marker is not None and policies[0].marker.key == "enterprise:sla_policy"


@strict
def test_403_on_the_trigger_list_is_an_auth_error_not_an_empty_list() -> None:
    listed = responses.get(f"{BASE}/triggers", match=query(FIRST_PAGE), status=403,
                           json={"error": "Forbidden", "description": "You do not have access to this page."})
    with pytest.raises(AuthError, match="lacks permission"):
        routing().list_rules(Kind.TRIGGER)
    assert listed.call_count == 1


@strict
def test_triggers_read_in_canonical_form() -> None:
    responses.get(f"{BASE}/triggers", match=query(FIRST_PAGE), json=cursor_page("triggers", [TRIGGER], after="t1"))
    responses.get(f"{BASE}/triggers", match=query({"page[size]": "100", "page[after]": "t1"}),
                  json=cursor_page("triggers", [FOREIGN_TRIGGER]))
    ours, foreign = routing().list_rules(Kind.TRIGGER)
    assert (ours.id, ours.title, ours.marker and ours.marker.key) == (9001, TRIGGER["title"], "enterprise:trigger")
    assert ours.attributes == {"active": True, "category_id": "10026", "conditions": TRIGGER["conditions"],
                               "actions": TRIGGER["actions"]}
    assert foreign.attributes == {"active": False, "category_id": None, "conditions": {"all": [], "any": []},
                                  "actions": []}
    assert foreign.marker is None and foreign.position is None


@strict
def test_trigger_create_sends_the_write_format_and_reads_the_answer() -> None:
    responses.post(f"{BASE}/triggers", match=body(TRIGGER_WRITE), status=201, json={"trigger": TRIGGER})
    created = routing().create_rule(desired_trigger())
    desired = desired_trigger()  # what we wrote reads back equal, in canonical form
    assert created == RuleObject(Kind.TRIGGER, desired.title, desired.description,
                                 canonical_attributes(desired.attributes), id=9001)


@strict
def test_trigger_update_puts_everything_and_delete_deletes() -> None:
    responses.put(f"{BASE}/triggers/9001", match=body(TRIGGER_WRITE), json={"trigger": TRIGGER})
    deleted = responses.delete(f"{BASE}/triggers/9001", match=query({}), status=204)
    client = routing()
    assert client.update_rule(desired_trigger().with_id(9001)).id == 9001
    client.delete_rule(Kind.TRIGGER, 9001)
    assert deleted.call_count == 1 and deleted.calls[0].request.body is None


@strict
def test_view_read_canonical_write_round_trip() -> None:
    view_write = {"view": {"title": VIEW["title"], "description": VIEW["description"], "active": True,
                           "all": VIEW["conditions"]["all"], "any": [],
                           "output": {"columns": ["status", "requester", 360011872073]}}}
    responses.get(f"{BASE}/views", match=query(FIRST_PAGE), json=cursor_page("views", [VIEW]))
    put = responses.put(f"{BASE}/views/360001", match=body(view_write), json={"view": VIEW})
    client = routing()
    [view] = client.list_rules(Kind.VIEW)
    assert view.attributes == {"active": True, "conditions": VIEW["conditions"],
                               "columns": ["status", "requester", 360011872073]}
    assert client.update_rule(view) == view
    assert put.call_count == 1


@strict
def test_sla_policy_create_sends_position_and_parses_the_answer_itself() -> None:
    metrics = list(reversed(SLA_POLICY["policy_metrics"]))  # any order: the canonical form sorts them
    desired = RuleObject(Kind.SLA_POLICY, SLA_POLICY["title"], SLA_POLICY["description"],
                         {"filter": {"all": SLA_POLICY["filter"]["all"]}, "policy_metrics": metrics}, position=1)
    sent = {"sla_policy": {"title": SLA_POLICY["title"], "description": SLA_POLICY["description"],
                           "filter": SLA_POLICY["filter"], "policy_metrics": SLA_POLICY["policy_metrics"],
                           "position": 1}}
    responses.post(f"{BASE}/slas/policies", match=body(sent), status=201, json={"sla_policy": SLA_POLICY})
    created = routing().create_rule(desired)
    assert created == RuleObject(Kind.SLA_POLICY, SLA_POLICY["title"], SLA_POLICY["description"],
                                 canonical_attributes(desired.attributes), id=36, position=1)


@strict
def test_a_create_answered_504_raises_and_is_not_retried() -> None:
    post = responses.post(f"{BASE}/triggers", match=body(TRIGGER_WRITE), status=504,
                          json={"error": "GatewayTimeout"})
    sleeps: list[float] = []
    with pytest.raises(UnreachableError, match="HTTP 504"):
        routing(sleeps).create_rule(desired_trigger())
    assert post.call_count == 1 and sleeps == []


@strict
def test_definitions_give_the_field_names_of_each_kind() -> None:
    operators = [{"title": "Is", "value": "is", "terminal": False}]
    def subject(name: str) -> dict[str, Any]:
        return {"group": "ticket", "nullable": False, "repeatable": False, "subject": name, "title": name,
                "type": "list", "operators": operators, "values": []}

    responses.get(f"{BASE}/triggers/definitions", match=query({}), json={"definitions": {
        "actions": [{**subject("group_id"), "operators": None}, {**subject("priority"), "operators": None}],
        "conditions_all": [subject("update_type"), subject("organization.custom_fields.support_tier")],
        "conditions_any": [subject("status")]}})
    responses.get(f"{BASE}/views/definitions", match=query({}), json={"definitions": {
        "conditions_all": [subject("status")], "conditions_any": [subject("current_tags")],
        "groupables": [{"group": "ticket", "title": "Status", "type": "list", "value": "status"}],
        "output": [{"group": "ticket", "title": "ID", "type": "tagger", "value": "nice_id"}], "sortables": []}})
    sla_item = {"group": "ticket", "title": "Support tier", "value": "organization.custom_fields.support_tier",
                "target": None, "operators": [{"title": "Is", "value": "is"}],
                "values": {"type": "list", "list": [{"title": "Enterprise", "value": "tier_enterprise"}]}}
    responses.get(f"{BASE}/slas/policies/definitions", match=query({}),
                  json={"definitions": {"all": [sla_item], "any": [{**sla_item, "value": "brand_id"}]}})
    assert routing().definitions() == RoutingDefinitions(
        trigger_conditions=frozenset({"update_type", "organization.custom_fields.support_tier", "status"}),
        trigger_actions=frozenset({"group_id", "priority"}),
        view_conditions=frozenset({"status", "current_tags"}),
        sla_conditions=frozenset({"organization.custom_fields.support_tier", "brand_id"}))


CATEGORY = {"id": "10001", "name": "Email Triggers", "position": 0, "created_at": "2020-07-17T01:30:07Z",
            "updated_at": "2020-07-17T01:30:07Z"}


@strict
def test_find_category_reads_every_page_and_matches_the_exact_name() -> None:
    responses.get(f"{BASE}/trigger_categories", match=query(FIRST_PAGE),
                  json=cursor_page("trigger_categories", [CATEGORY, {**CATEGORY, "id": "10002",
                                                                     "name": "tiersync routing"}], after="c1"))
    responses.get(f"{BASE}/trigger_categories", match=query({"page[size]": "100", "page[after]": "c1"}),
                  json=cursor_page("trigger_categories", [{**CATEGORY, "id": "10003", "name": "Tiersync routing"}]))
    assert routing().find_category("Tiersync routing") == "10003"


@strict
def test_find_category_is_none_when_no_name_matches() -> None:
    responses.get(f"{BASE}/trigger_categories", match=query(FIRST_PAGE),
                  json=cursor_page("trigger_categories", [CATEGORY]))
    assert routing().find_category("Tiersync routing") is None


@strict
def test_create_category_posts_the_name_and_returns_a_string_id() -> None:
    responses.post(f"{BASE}/trigger_categories", match=body({"trigger_category": {"name": "Tiersync routing"}}),
                   json={"trigger_category": {**CATEGORY, "id": "10004", "name": "Tiersync routing"}})
    assert routing().create_category("Tiersync routing") == "10004"


SPEC = Path(os.environ.get("TIERSYNC_ZENDESK_OAS", ROOT.parent / "shared" / "specs" / "zendesk-support-oas.yaml"))


def spec_operations() -> list[tuple[str, re.Pattern[str]]]:
    loader = type("Loader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
    loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    paths = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)["paths"]
    return [(method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"))
            for template, item in paths.items() for method in item if method in ("get", "post", "put", "delete")]


@pytest.mark.skipif(not SPEC.is_file(), reason=f"Zendesk OpenAPI spec not found at {SPEC}")
def test_every_request_the_client_can_send_is_in_the_spec() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/groups", json=cursor_page("groups", [GROUP]))
        mock.get(f"{BASE}/trigger_categories", json=cursor_page("trigger_categories", [CATEGORY]))
        mock.post(f"{BASE}/trigger_categories", json={"trigger_category": CATEGORY})
        for path in ("triggers", "views", "slas/policies"):
            mock.get(f"{BASE}/{path}/definitions", json={"definitions": {}})
        rules = {Kind.TRIGGER: ("triggers", "trigger", "triggers", TRIGGER),
                 Kind.VIEW: ("views", "view", "views", VIEW),
                 Kind.SLA_POLICY: ("slas/policies", "sla_policy", "sla_policies", SLA_POLICY)}
        for path, one, many, raw in rules.values():
            mock.get(f"{BASE}/{path}", json={many: [raw]})
            mock.post(f"{BASE}/{path}", json={one: raw}, status=201)
            mock.put(f"{BASE}/{path}/{raw['id']}", json={one: raw})
            mock.delete(f"{BASE}/{path}/{raw['id']}", status=204)
        client = routing()
        client.groups()
        client.definitions()
        client.find_category("x")
        client.create_category("x")
        for kind in rules:
            [rule] = client.list_rules(kind)
            client.create_rule(rule)
            client.update_rule(rule)
            client.delete_rule(kind, rule.id or 0)
        sent = {(call.request.method, str(call.request.path_url).split("?")[0]) for call in mock.calls}
    assert len(sent) == 18  # every operation the client has was exercised
    operations = spec_operations()
    assert sorted((m, p) for m, p in sent if not any(m == om and pattern.match(p) for om, pattern in operations)) == []
