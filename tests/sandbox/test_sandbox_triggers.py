"""Trigger categories and triggers of the fake Zendesk through raw HTTP: shapes, lists, checks, permissions."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.integration

# Key sets from Zendesk's OAS: TriggerObject (less the write-only `category` and the legacy all/any), TriggerCategory.
TRIGGER_KEYS = {"url", "id", "title", "raw_title", "description", "active", "position", "category_id", "conditions",
                "actions", "restriction", "default", "created_at", "updated_at"}
CATEGORY_KEYS = {"id", "name", "position", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def ids(sb: Sandbox) -> dict[str, Any]:
    zd = sb.zendesk
    field = zd.add_field("rules_tier", "dropdown", "Rules Tier", [("Gold", "rules_gold"), ("Silver", "rules_silver")])
    groups = [zd.add_group(f"Trigger Group {n}") for n in range(2)]
    return {"field": field, "groups": groups, "category": zd.add_trigger_category("Rules Category")}


def _url(sb: Sandbox, path: str) -> str:
    return f"{sb.zendesk_url}/api/v2/{path}"


def _trigger(ids: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A valid tier trigger body (the shape tiersync writes)."""
    body = {"title": "[tiersync] Gold routing", "category_id": ids["category"], "active": True,
            "description": "managed-by: tiersync key=gold:trigger digest=0123456789ab",
            "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"},
                                   {"field": "organization.custom_fields.rules_tier", "operator": "is",
                                    "value": "rules_gold"}], "any": []},
            "actions": [{"field": "group_id", "value": str(ids["groups"][0])}, {"field": "priority", "value": "high"},
                        {"field": "current_tags", "value": "tier_gold"}]}
    return {**body, **changes}


def _record_invalid(response: requests.Response) -> dict[str, Any]:
    """Assert Zendesk's 422 shape (as organization fields answer it) and return its details."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "description", "details"}
    assert (body["error"], body["description"]) == ("RecordInvalid", "Record validation errors")
    for problems in body["details"].values():
        assert all(set(p) == {"description", "error"} for p in problems)
    return dict(body["details"])


def test_trigger_category_round_trip(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    created = zd_session.post(_url(sb, "trigger_categories"), json={"trigger_category": {"name": "Routing"}},
                              timeout=5)
    assert created.status_code == 200  # the OAS CreateTriggerCategory answer, not 201
    category = created.json()["trigger_category"]
    assert set(category) == CATEGORY_KEYS and isinstance(category["id"], str)
    patched = zd_session.patch(_url(sb, f"trigger_categories/{category['id']}"),
                               json={"trigger_category": {"name": "Tier routing", "position": 7}}, timeout=5).json()
    assert (patched["trigger_category"]["name"], patched["trigger_category"]["position"]) == ("Tier routing", 7)
    shown = zd_session.get(_url(sb, f"trigger_categories/{category['id']}"), timeout=5).json()["trigger_category"]
    assert shown == patched["trigger_category"]

    first = zd_session.get(_url(sb, "trigger_categories"), params={"page[size]": 1}, timeout=5).json()
    assert set(first) == {"trigger_categories", "meta", "links"} and first["meta"]["has_more"] is True
    second = zd_session.get(first["links"]["next"], timeout=5).json()
    assert [c["name"] for c in first["trigger_categories"] + second["trigger_categories"]] == [
        "Rules Category", "Tier routing"]  # by position
    counted = zd_session.get(_url(sb, "trigger_categories"), params={"include": "rule_counts"}, timeout=5).json()
    assert {"active_count", "inactive_count"} <= set(counted["trigger_categories"][0])

    blank = zd_session.post(_url(sb, "trigger_categories"), json={"trigger_category": {"name": " "}}, timeout=5)
    assert (blank.status_code, blank.json()) == (400, {"errors": [{"code": "InvalidTriggerCategory",
                                                                  "title": "Name cannot be blank"}]})
    missing = zd_session.get(_url(sb, "trigger_categories/999"), timeout=5)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "TriggerCategoryNotFound"
    assert zd_session.delete(_url(sb, f"trigger_categories/{category['id']}"), timeout=5).status_code == 204
    assert zd_session.get(_url(sb, f"trigger_categories/{category['id']}"), timeout=5).status_code == 404


def test_trigger_round_trip(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    created = zd_session.post(_url(sb, "triggers.json"), json={"trigger": _trigger(ids)}, timeout=5)
    assert created.status_code == 201, created.text
    trigger = created.json()["trigger"]
    assert set(trigger) == TRIGGER_KEYS
    assert trigger["category_id"] == ids["category"] and trigger["raw_title"] == trigger["title"]
    assert trigger["conditions"] == _trigger(ids)["conditions"] and trigger["actions"] == _trigger(ids)["actions"]
    url = _url(sb, f"triggers/{trigger['id']}")
    assert zd_session.get(url, timeout=5).json() == {"trigger": trigger}

    renamed = zd_session.put(url, json={"trigger": {"title": "[tiersync] Gold", "active": False}}, timeout=5).json()
    assert renamed["trigger"]["actions"] == trigger["actions"] and renamed["trigger"]["active"] is False
    # conditions without actions: both arrays are replaced, so the trigger would have no action
    refused = zd_session.put(url, json={"trigger": {"conditions": {"all": [], "any": []}}}, timeout=5)
    assert "actions" in _record_invalid(refused)
    assert sb.zendesk.triggers[trigger["id"]]["conditions"] == trigger["conditions"]  # nothing changed
    replaced = zd_session.put(url, json={"trigger": {"conditions": {"all": [
        {"field": "status", "operator": "is", "value": "new"}]}, "actions": [{"field": "status", "value": "open"}]}},
        timeout=5).json()["trigger"]
    assert replaced["conditions"] == {"all": [{"field": "status", "operator": "is", "value": "new"}], "any": []}

    assert zd_session.delete(url, timeout=5).status_code == 204
    assert zd_session.get(url, timeout=5).status_code == 404


def test_trigger_lists_filter_and_paginate(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    other = sb.zendesk.add_trigger_category("Other Category")
    made = [zd_session.post(_url(sb, "triggers"), json={"trigger": _trigger(
        ids, title=f"Paged {n}", category_id=ids["category"] if n % 2 else other, active=n != 3)}, timeout=5
        ).json()["trigger"] for n in range(7)]
    in_category = [t["id"] for t in made if t["category_id"] == ids["category"]]
    listed, url = [], _url(sb, f"triggers?category_id={ids['category']}&page[size]=2")
    while url:
        page = zd_session.get(url, timeout=5).json()
        assert set(page) == {"triggers", "meta", "links"}
        listed += [t["id"] for t in page["triggers"]]
        url = page["links"]["next"] if page["meta"]["has_more"] else None
    assert listed == in_category  # the filter survives links.next; position order
    inactive = zd_session.get(_url(sb, "triggers"), params={"active": "false"}, timeout=5).json()
    assert set(inactive) == {"triggers", "next_page", "previous_page", "count"}
    assert [t["title"] for t in inactive["triggers"]] == ["Paged 3"]
    offset = zd_session.get(_url(sb, "triggers"), params={"category_id": other, "per_page": 2}, timeout=5).json()
    assert offset["count"] == 4 and f"category_id={other}" in offset["next_page"]


@pytest.mark.parametrize(("changes", "attr"), [
    ({"title": ""}, "title"),
    ({"actions": []}, "actions"),
    ({"category_id": "404"}, "category_id"),
    ({"conditions": {"all": [{"field": "no_such_field", "operator": "is", "value": "x"}]}}, "conditions"),
    ({"conditions": {"any": [{"field": "organization.custom_fields.no_such_key", "operator": "is", "value": "x"}]}},
     "conditions"),
    ({"conditions": {"all": [{"field": "organization.custom_fields.rules_tier", "operator": "less_than",
                              "value": "rules_gold"}]}}, "conditions"),
    ({"conditions": {"all": [{"field": "organization.custom_fields.rules_tier", "operator": "is",
                              "value": "rules_platinum"}]}}, "conditions"),
    ({"conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Created"}]}}, "conditions"),
    ({"actions": [{"field": "organization.custom_fields.rules_tier", "value": "rules_gold"}]}, "actions"),
    ({"actions": [{"field": "group_id", "value": "1"}]}, "actions"),
    ({"actions": [{"field": "priority", "value": "highest"}]}, "actions"),
])
def test_trigger_validation(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any],
                            changes: dict[str, Any], attr: str) -> None:
    before = dict(sb.zendesk.triggers)
    response = zd_session.post(_url(sb, "triggers"), json={"trigger": _trigger(ids, **changes)}, timeout=5)
    assert list(_record_invalid(response)) == [attr]
    assert sb.zendesk.triggers == before


def test_trigger_legacy_conditions_and_category_object(sb: Sandbox, zd_session: requests.Session,
                                                       ids: dict[str, Any]) -> None:
    body = _trigger(ids, category_id=None, category={"name": "Made With Trigger"})
    body["all"] = body.pop("conditions")["all"]  # the deprecated top-level form
    trigger = zd_session.post(_url(sb, "triggers"), json={"trigger": body}, timeout=5).json()["trigger"]
    assert trigger["conditions"]["all"] == body["all"] and "all" not in trigger
    category = sb.zendesk.find_trigger_category(trigger["category_id"])
    assert category is not None and category["name"] == "Made With Trigger"
    deleted = zd_session.delete(_url(sb, f"trigger_categories/{trigger['category_id']}"), timeout=5)
    assert (deleted.status_code, deleted.json()["errors"][0]["code"]) == (400, "TriggerCategoryNotEmpty")
    zd_session.put(_url(sb, f"triggers/{trigger['id']}"), json={"trigger": {"active": False}}, timeout=5)
    assert zd_session.delete(_url(sb, f"trigger_categories/{trigger['category_id']}"), timeout=5).status_code == 204
    assert trigger["id"] not in sb.zendesk.triggers  # an inactive trigger goes with its category


def test_writes_need_an_admin(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    sb.zendesk.role = "agent"
    try:
        assert zd_session.get(_url(sb, "triggers"), timeout=5).status_code == 200
        assert zd_session.post(_url(sb, "triggers"), json={"trigger": _trigger(ids)}, timeout=5).status_code == 403
        category = zd_session.post(_url(sb, "trigger_categories"), json={"trigger_category": {"name": "No"}}, timeout=5)
        assert category.status_code == 403
    finally:
        sb.zendesk.role = "admin"
