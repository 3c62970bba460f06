"""Issue 13 acceptance: routing as code, through the CLI, the routing adapter and the HTTPS sandbox."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.conftest import World

pytestmark = pytest.mark.integration

ROUTING_PATHS = ("/api/v2/trigger_categories", "/api/v2/triggers", "/api/v2/views", "/api/v2/slas/policies")


def routing_writes(world: World) -> int:
    """Writes to trigger categories, triggers, views and SLA policies, their ids' paths included."""
    return sum(1 for method, path, _ in world.sandbox.zendesk.requests
               if method in ("POST", "PUT", "PATCH", "DELETE") and path.startswith(ROUTING_PATHS))


def managed(objects: dict) -> list[dict]:
    return [o for o in objects.values() if "managed-by: tiersync" in (o.get("description") or "")]


def person_trigger(world: World) -> int:
    zendesk = world.sandbox.zendesk
    category = zendesk.add_trigger_category("Made by hand")
    created = zendesk.create_trigger({
        "title": "[tiersync] Route Enterprise tickets", "category_id": category, "description": "my own",
        "conditions": {"all": [{"field": "status", "operator": "is", "value": "new"}], "any": []},
        "actions": [{"field": "priority", "value": "low"}]})
    return int(created["id"])


def test_first_apply_creates_exactly_the_objects_and_leaves_a_persons_trigger_alone(world: World) -> None:
    person = person_trigger(world)
    before = json.dumps(world.sandbox.zendesk.triggers[person], sort_keys=True, default=str)
    plan = world.cli("routing", "plan")
    assert plan.exit_code == 0, plan.stderr
    assert "has one of tiersync's titles but no marker: left alone" in " ".join(plan.stdout.split())
    assert routing_writes(world) == 0
    world.sandbox.zendesk.reset_requests()
    apply = world.cli("routing", "apply", "--json")
    assert apply.exit_code == 0, apply.stderr
    zendesk = world.sandbox.zendesk
    assert zendesk.count(method="POST", path="/api/v2/trigger_categories") == 1
    assert zendesk.count(method="POST", path="/api/v2/triggers") == 3
    assert zendesk.count(method="POST", path="/api/v2/views") == 3
    assert zendesk.count(method="POST", path="/api/v2/slas/policies") == 3
    assert routing_writes(world) == 10
    assert (len(managed(zendesk.triggers)), len(managed(zendesk.views)), len(managed(zendesk.sla_policies))) == (3, 3, 3)
    assert [c["id"] for c in apply.json()["routing"]["collisions"]] == [person]
    zendesk.reset_requests()
    again = world.cli("routing", "apply", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["routing"]["writes"] == 0, [c["attributes"] for c in again.json()["routing"]["changes"]][:2]
    assert routing_writes(world) == 0
    assert json.dumps(zendesk.triggers[person], sort_keys=True, default=str) == before


def _edit_enterprise_view(world: World) -> int:
    zendesk = world.sandbox.zendesk
    view_id, view = next((i, v) for i, v in zendesk.views.items() if v["title"] == "[tiersync] Enterprise queue")
    zendesk.update_view(view, {"output": {"columns": ["status", "requester"]}})  # an agent's hand edit
    return int(view_id)


def test_a_hand_edited_view_is_shown_then_left_or_restored(world: World) -> None:
    assert world.cli("routing", "apply").exit_code == 0
    view_id = _edit_enterprise_view(world)
    plan = world.cli("routing", "plan")
    text = " ".join(plan.stdout.split())
    assert "[tiersync] Enterprise queue (id" in text and "edited in Zendesk; left as it is (on_drift: report)" in text
    assert "columns: ['status', 'requester'] →" in text
    world.sandbox.zendesk.reset_requests()
    report = world.cli("routing", "apply", "--json")
    assert report.exit_code == 0 and routing_writes(world) == 0
    assert report.json()["routing"]["drift"] == ["enterprise:view"]
    world.config_path.write_text(world.config_path.read_text().replace("on_drift: report", "on_drift: enforce"))
    enforce = world.cli("routing", "apply", "--json")
    assert enforce.exit_code == 0, enforce.stderr
    assert routing_writes(world) == 1 and world.sandbox.zendesk.count(method="PUT", path=f"/api/v2/views/{view_id}") == 1
    restored = world.cli("routing", "plan", "--json").json()["routing"]
    assert restored["drift"] == [] and restored["writes"] == 0


def test_a_create_committed_before_a_timeout_is_not_duplicated(world: World) -> None:
    world.sandbox.zendesk.commit_then_fail_next(1, 504, "POST", path_contains="/api/v2/views")
    apply = world.cli("routing", "apply", "--json")
    assert apply.exit_code == 0, apply.stderr
    assert apply.json()["routing"]["applied"]["adopted_after_failed_create"] == ["enterprise:view"]
    retry = world.cli("routing", "apply")
    assert retry.exit_code == 0
    titles = [v["title"] for v in managed(world.sandbox.zendesk.views)]
    assert sorted(titles) == ["[tiersync] Enterprise queue", "[tiersync] Professional queue",
                              "[tiersync] Starter queue"]


def test_removing_a_tier_deletes_its_objects_and_keeps_its_option_while_used(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    assert world.cli("routing", "apply").exit_code == 0
    world.config_path.write_text(re.sub(r"  - name: starter\n(    .*\n|      .*\n)*", "", world.config_path.read_text()))
    plan = world.cli("plan", "--full", "--json")
    assert plan.exit_code == 0, plan.stderr
    deletes = sorted(c["key"] for c in plan.json()["routing"]["changes"] if c["action"] == "delete")
    assert deletes == ["starter:sla_policy", "starter:trigger", "starter:view"]
    assert plan.json()["field"]["options_in_use"]["tier_starter"] > 0
    assert "delete 1 trigger, 1 view, 1 SLA policy" in plan.json()["summary"]
    assert world.cli("routing", "apply").exit_code == 0
    assert sorted(t["title"] for t in managed(world.sandbox.zendesk.triggers)) == [
        "[tiersync] Route Enterprise tickets", "[tiersync] Route Professional tickets"]
    (field,) = world.sandbox.zendesk.fields.values()
    assert "tier_starter" in [o["value"] for o in field["custom_field_options"]]


def test_a_refused_trigger_list_writes_nothing_and_says_which_permission(world: World) -> None:
    world.sandbox.zendesk.fail_next(5, 403, {"error": "Forbidden", "description": "You do not have access"},
                                    path_contains="/api/v2/triggers")
    apply = world.cli("routing", "apply")
    assert apply.exit_code == 3
    assert routing_writes(world) == 0
    lines = apply.stderr.splitlines()
    assert lines[0].startswith("error: zendesk refused the request: the user lacks permission")
    assert "GET /api/v2/triggers" in lines[0] and lines[1].startswith("fix: ")


def test_a_missing_group_is_one_clear_line(world: World) -> None:
    world.config_path.write_text(world.config_path.read_text().replace("group: Starter Support",
                                                                       "group: Night Shift"))
    apply = world.cli("routing", "apply")
    assert apply.exit_code == 7
    assert "Zendesk has no group called 'Night Shift'" in apply.stderr and routing_writes(world) == 0


def test_sync_leaves_routing_alone(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    assert routing_writes(world) == 0
    assert world.sandbox.zendesk.count(path="/api/v2/triggers") == 0
