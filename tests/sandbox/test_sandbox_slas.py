"""SLA policies of the fake Zendesk through raw HTTP: shapes, match order, checks, admins only."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.integration

# Key set from Zendesk's OAS SLAPolicyObject.
SLA_KEYS = {"url", "id", "title", "description", "position", "filter", "policy_metrics", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def ids(sb: Sandbox) -> dict[str, Any]:
    zd = sb.zendesk
    zd.add_field("sla_tier", "dropdown", "SLA Tier", [("Gold", "sla_gold"), ("Silver", "sla_silver")])
    return {"group": zd.add_group("SLA Group")}


def _url(sb: Sandbox, path: str) -> str:
    return f"{sb.zendesk_url}/api/v2/{path}"


def _sla(**changes: Any) -> dict[str, Any]:
    body = {"title": "[tiersync] Gold SLA", "description": "managed",
            "filter": {"all": [{"field": "organization.custom_fields.sla_tier", "operator": "is",
                                "value": "sla_gold"}], "any": []},
            "policy_metrics": [{"priority": "urgent", "metric": "first_reply_time", "target": 10,
                                "business_hours": False},
                               {"priority": "normal", "metric": "requester_wait_time", "target": 160,
                                "business_hours": True}]}
    return {**body, **changes}


def _details(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["error"], body["description"]) == ("RecordInvalid", "Record validation errors")
    return dict(body["details"])


def test_sla_policy_round_trip_and_order(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    created = zd_session.post(_url(sb, "slas/policies"), json={"sla_policy": _sla()}, timeout=5)
    assert created.status_code == 201, created.text
    gold = created.json()["sla_policy"]
    assert set(gold) == SLA_KEYS and gold["position"] == 1
    assert gold["filter"] == _sla()["filter"] and gold["policy_metrics"] == _sla()["policy_metrics"]
    url = _url(sb, f"slas/policies/{gold['id']}")
    assert zd_session.get(url, timeout=5).json() == {"sla_policy": gold}

    first = zd_session.post(_url(sb, "slas/policies"), json={"sla_policy": _sla(title="First", position=1)},
                            timeout=5).json()["sla_policy"]
    listed = zd_session.get(_url(sb, "slas/policies"), timeout=5).json()
    assert set(listed) == {"sla_policies", "next_page", "previous_page", "count"}
    assert [(p["title"], p["position"]) for p in listed["sla_policies"]] == [("First", 1), ("[tiersync] Gold SLA", 2)]

    reordered = zd_session.put(_url(sb, "slas/policies/reorder"), json={"sla_policy_ids": [gold["id"], first["id"]]},
                               timeout=5)
    assert (reordered.status_code, reordered.content) == (200, b"")
    assert [p["id"] for p in sb.zendesk.ordered_sla_policies()] == [gold["id"], first["id"]]
    by_query = zd_session.put(_url(sb, "slas/policies/reorder"), params={"sla_policy_ids": f"{first['id']},{gold['id']}"},
                              timeout=5)
    assert by_query.status_code == 200 and sb.zendesk.ordered_sla_policies()[0]["id"] == first["id"]
    unknown = zd_session.put(_url(sb, "slas/policies/reorder"), json={"sla_policy_ids": [1]}, timeout=5)
    assert "sla_policy_ids" in _details(unknown)

    updated = zd_session.put(url, json={"sla_policy": {"policy_metrics": [
        {"priority": "high", "metric": "next_reply_time", "target": 30, "business_hours": False}]}},
        timeout=5).json()["sla_policy"]
    assert updated["policy_metrics"] == [{"priority": "high", "metric": "next_reply_time", "target": 30,
                                          "business_hours": False}]
    assert updated["filter"] == gold["filter"]
    assert zd_session.delete(_url(sb, f"slas/policies/{first['id']}"), timeout=5).status_code == 204
    assert sb.zendesk.sla_policies[gold["id"]]["position"] == 1
    assert zd_session.get(_url(sb, f"slas/policies/{first['id']}"), timeout=5).status_code == 404


@pytest.mark.parametrize(("changes", "attr"), [
    ({"title": ""}, "title"),
    ({"filter": None}, "filter"),
    ({"filter": {"all": [{"field": "status", "operator": "is", "value": "open"}]}}, "filter"),
    ({"filter": {"all": [{"field": "organization.custom_fields.gone", "operator": "is", "value": "x"}]}}, "filter"),
    ({"filter": {"all": [{"field": "organization.custom_fields.sla_tier", "operator": "is", "value": "nope"}]}},
     "filter"),
    ({"policy_metrics": [{"priority": "urgent", "metric": "first_response_time", "target": 10}]}, "policy_metrics"),
    ({"policy_metrics": [{"priority": "critical", "metric": "first_reply_time", "target": 10}]}, "policy_metrics"),
    ({"policy_metrics": [{"priority": "low", "metric": "first_reply_time", "target": 0}]}, "policy_metrics"),
    ({"policy_metrics": [{"priority": "low", "metric": "agent_work_time", "target": 5},
                         {"priority": "low", "metric": "agent_work_time", "target": 9}]}, "policy_metrics"),
])
def test_sla_policy_validation(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any],
                               changes: dict[str, Any], attr: str) -> None:
    before = dict(sb.zendesk.sla_policies)
    response = zd_session.post(_url(sb, "slas/policies"), json={"sla_policy": _sla(**changes)}, timeout=5)
    assert list(_details(response)) == [attr]
    assert sb.zendesk.sla_policies == before


def test_sla_policies_are_for_admins_only(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    sb.zendesk.role = "agent"
    try:
        for path in ("slas/policies", "slas/policies/definitions"):
            response = zd_session.get(_url(sb, path), timeout=5)
            assert (response.status_code, response.json()["error"]) == (403, "Forbidden")
        assert zd_session.post(_url(sb, "slas/policies"), json={"sla_policy": _sla()}, timeout=5).status_code == 403
    finally:
        sb.zendesk.role = "admin"
