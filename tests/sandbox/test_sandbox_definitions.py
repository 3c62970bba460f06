"""The three definitions endpoints of the fake Zendesk: their OAS shapes, and the organization fields they list."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ids(sb: Sandbox) -> dict[str, Any]:
    zd = sb.zendesk
    field = zd.add_field("rules_tier", "dropdown", "Rules Tier", [("Gold", "rules_gold"), ("Silver", "rules_silver")])
    return {"field": field, "groups": [zd.add_group(f"Definitions Group {n}") for n in range(2)]}


def _url(sb: Sandbox, path: str) -> str:
    return f"{sb.zendesk_url}/api/v2/{path}"


def test_definitions_list_an_organization_field_once_it_exists(sb: Sandbox, zd_session: requests.Session,
                                                               ids: dict[str, Any]) -> None:
    subject = "organization.custom_fields.late_tier"

    def subjects() -> dict[str, set[str]]:
        trig = zd_session.get(_url(sb, "triggers/definitions"), timeout=5).json()["definitions"]
        view = zd_session.get(_url(sb, "views/definitions"), timeout=5).json()["definitions"]
        sla = zd_session.get(_url(sb, "slas/policies/definitions"), timeout=5).json()["definitions"]
        assert set(trig) == {"actions", "conditions_all", "conditions_any"}
        assert set(view) == {"conditions_all", "conditions_any", "groupables", "output", "sortables"}
        assert set(sla) == {"all", "any"}
        return {"trigger": {c["subject"] for c in trig["conditions_all"]},
                "trigger_any": {c["subject"] for c in trig["conditions_any"]},
                "actions": {a["subject"] for a in trig["actions"]},
                "view": {c["subject"] for c in view["conditions_all"]}, "sla": {c["value"] for c in sla["all"]}}

    before = subjects()
    assert {"status", "type", "priority", "group_id", "assignee_id", "requester_id", "update_type", "current_tags",
            "organization_id", "organization.custom_fields.rules_tier"} <= before["trigger"]
    assert {"group_id", "priority", "current_tags", "set_tags", "remove_tags", "status"} <= before["actions"]
    assert "update_type" not in before["view"] and "status" not in before["sla"]
    assert all(subject not in found for found in before.values())
    sb.zendesk.add_field("late_tier", "dropdown", "Late Tier", [("Gold", "late_gold")])
    after = subjects()
    assert all(subject in found for name, found in after.items() if name != "actions")

    trig = zd_session.get(_url(sb, "triggers/definitions"), timeout=5).json()["definitions"]
    late = next(c for c in trig["conditions_all"] if c["subject"] == subject)
    assert set(late) == {"group", "nullable", "operators", "repeatable", "subject", "title", "type", "values"}
    assert late["values"] == [{"enabled": True, "title": "Gold", "value": "late_gold"}]
    assert {"terminal": False, "title": "Is", "value": "is"} in late["operators"]
    group = next(a for a in trig["actions"] if a["subject"] == "group_id")
    assert {str(i) for i in ids["groups"]} <= {v["value"] for v in group["values"]}
    sla = zd_session.get(_url(sb, "slas/policies/definitions"), timeout=5).json()["definitions"]
    late_sla = next(c for c in sla["all"] if c["value"] == subject)
    assert set(late_sla) == {"group", "operators", "target", "title", "value", "values"}
    assert late_sla["values"] == {"list": [{"title": "Gold", "value": "late_gold"}], "type": "list"}
