"""Routing: desired objects, the plan's diff, and the apply section over an in-memory Zendesk."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.unit.fake_routing import FakeRouting
from tests.unit.helpers import TIERS, make_config
from worker.core.actions import Action
from worker.core.errors import AuthError, ConfigError, RemoteStateError, UnreachableError
from worker.core.routing import RoutingContext, desired_rules
from worker.core.routing_plan import Why, plan_routing
from worker.core.rules import TITLE_PREFIX, Kind, RoutingDefinitions, parse_marker
from worker.core.runstate import RunState
from worker.routing_section import apply_routing_section, plan_routing_section

ROUTED: list[dict[str, Any]] = [
    {**TIERS[0], "routing": {"group": "Enterprise Support", "priority": "high", "tags": ["tier_enterprise"]},
     "view": {"title": "Enterprise queue"},
     "sla": {"first_reply_time": {"urgent": 30, "high": 60}, "requester_wait_time": {"urgent": 240}}},
    {**TIERS[1], "routing": {"group": "Professional Support", "priority": "normal"}, "view": {},
     "sla": {"first_reply_time": {"urgent": 60}}},
    {**TIERS[2], "routing": {"group": "Starter Support"}, "view": {}, "sla": {"first_reply_time": {"normal": 480}}},
]


def routed(**overrides: Any):
    return make_config(tiers=ROUTED, **overrides)


def apply(tier_file, zendesk: FakeRouting, state: RunState | None = None, force: bool = False):
    planned = plan_routing_section(tier_file, zendesk, state or RunState(), force=force)
    return planned, apply_routing_section(tier_file, planned, zendesk)


def test_desired_objects_per_tier_with_markers_and_conditions() -> None:
    context = RoutingContext({"Enterprise Support": 11, "Professional Support": 12, "Starter Support": 13}, "77",
                             RoutingDefinitions(frozenset({"organization.custom_fields.support_tier", "update_type"})))
    rules = desired_rules(routed(), context)
    assert [(r.kind.value, parse_marker(r.description).key) for r in rules] == [
        ("trigger", "enterprise:trigger"), ("view", "enterprise:view"), ("sla_policy", "enterprise:sla_policy"),
        ("trigger", "professional:trigger"), ("view", "professional:view"), ("sla_policy", "professional:sla_policy"),
        ("trigger", "starter:trigger"), ("view", "starter:view"), ("sla_policy", "starter:sla_policy")]
    trigger = rules[0]
    assert trigger.title == f"{TITLE_PREFIX}Route Enterprise tickets"
    assert trigger.attributes["conditions"]["all"][1] == {
        "field": "organization.custom_fields.support_tier", "operator": "is", "value": "tier_enterprise"}
    assert trigger.attributes["actions"] == [{"field": "group_id", "value": "11"}, {"field": "priority", "value": "high"},
                                             {"field": "current_tags", "value": "tier_enterprise"}]
    view = rules[1]
    assert view.title == f"{TITLE_PREFIX}Enterprise queue" and view.attributes["columns"][0] == "status"
    # the view's tier condition falls back to the tag: views/definitions offered no organization field
    assert view.attributes["conditions"]["all"][1] == {"field": "current_tags", "operator": "includes",
                                                       "value": "tier_enterprise"}
    assert [r.position for r in rules if r.kind is Kind.SLA_POLICY] == [1, 2, 3]  # highest tier first
    assert {"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": False} in \
        rules[2].attributes["policy_metrics"]
    assert parse_marker(trigger.description).digest == trigger.content_digest()


def test_a_missing_group_is_a_clear_error() -> None:
    context = RoutingContext({"Enterprise Support": 11}, None, RoutingDefinitions())
    with pytest.raises(RemoteStateError, match=r"tiers\[1\]\.routing\.group: Zendesk has no group called "
                                               "'Professional Support'"):
        desired_rules(routed(), context)


@pytest.mark.parametrize(
    ("sla", "problem"),
    [({}, "at least one target"), ({"first_reply_time": {"soon": 5}}, "soon"),
     ({"first_reply_time": {"high": 0}}, "greater than 0"), ({"first_reply_time": {"high": True}}, "must be a whole number such as 30, not the boolean true")],
)
def test_bad_sla_targets_are_config_errors(sla: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        make_config(tiers=[{**TIERS[0], "sla": sla}, *TIERS[1:]])


def test_first_apply_creates_everything_then_nothing() -> None:
    zendesk = FakeRouting()
    person = zendesk.add_unmanaged(Kind.TRIGGER, f"{TITLE_PREFIX}Route Enterprise tickets")
    before = zendesk.rules[person]
    planned, outcome = apply(routed(), zendesk)
    assert planned.plan.category_action is Action.CREATE
    assert [(o.kind, o.object_id) for o in planned.plan.collisions] == [(Kind.TRIGGER, person)]
    assert (len(zendesk.of(Kind.TRIGGER)), len(zendesk.of(Kind.VIEW)), len(zendesk.of(Kind.SLA_POLICY))) == (4, 3, 3)
    assert zendesk.rules[person] is before  # the person's trigger is never touched
    assert outcome.managed_after == 9 and outcome.category_created
    assert all(r.attributes["category_id"] == "9000" for r in zendesk.of(Kind.TRIGGER) if r.id != person)
    zendesk.writes.clear()
    again, _ = apply(routed(), zendesk, RunState(routing_objects=9))
    assert again.plan.writes == () and zendesk.writes == []


def test_hand_edit_is_drift_reported_or_restored() -> None:
    zendesk = FakeRouting()
    apply(routed(), zendesk)
    view = next(r for r in zendesk.of(Kind.VIEW) if "Enterprise" in r.title)
    edited = replace(view, attributes={**view.attributes, "columns": ["status", "subject"]})
    zendesk.rules[view.id] = edited
    reported, _ = apply(routed(), zendesk)
    (drift,) = reported.plan.drift
    assert (drift.action, drift.why) == (Action.NONE, Why.DRIFT_REPORTED)
    assert [(a.name, a.old) for a in drift.attributes] == [("columns", ["status", "subject"])]
    assert zendesk.rules[view.id] == edited  # report leaves it
    enforced, _ = apply(routed(routing={"on_drift": "enforce"}), zendesk)
    assert [(c.action, c.why) for c in enforced.plan.drift] == [(Action.UPDATE, Why.DRIFT_RESTORED)]
    assert zendesk.rules[view.id].attributes["columns"] == view.attributes["columns"]


def test_a_changed_tier_file_updates_even_when_drift_is_only_reported() -> None:
    zendesk = FakeRouting()
    apply(routed(), zendesk)
    tiers = [{**ROUTED[0], "routing": {**ROUTED[0]["routing"], "priority": "urgent"}}, *ROUTED[1:]]
    planned, _ = apply(make_config(tiers=tiers), zendesk)
    (update,) = planned.plan.writes
    assert (update.key, update.action, update.why) == ("enterprise:trigger", Action.UPDATE, Why.CONFIG_CHANGED)
    assert [a.name for a in update.attributes] == ["actions"]


def test_removing_a_tier_deletes_its_objects_only() -> None:
    zendesk = FakeRouting()
    apply(routed(), zendesk)
    two = make_config(tiers=ROUTED[:2])
    planned, outcome = apply(two, zendesk, RunState(routing_objects=9))
    assert sorted((c.key, c.action) for c in planned.plan.writes) == [
        ("starter:sla_policy", Action.DELETE), ("starter:trigger", Action.DELETE), ("starter:view", Action.DELETE)]
    assert outcome.managed_after == 6 and len(zendesk.rules) == 6


def test_ghost_create_converges_to_one_object() -> None:
    zendesk = FakeRouting(ghost_creates=1)  # the first create is committed, then times out
    _, outcome = apply(routed(), zendesk)
    assert outcome.adopted == ["enterprise:trigger"]
    assert len(zendesk.of(Kind.TRIGGER)) == 3


def test_a_failed_create_that_was_not_committed_ends_the_run() -> None:
    class Refusing(FakeRouting):
        def create_rule(self, rule):
            raise UnreachableError("zendesk: 127.0.0.1 timed out")

    with pytest.raises(UnreachableError):
        apply(routed(), Refusing())


def test_a_refused_list_aborts_before_any_write() -> None:
    zendesk = FakeRouting(refuse_list=True)
    with pytest.raises(AuthError, match="403"):
        apply(routed(), zendesk)
    assert zendesk.writes == []


def test_a_list_missing_everything_the_last_apply_left_is_refused_unless_forced() -> None:
    zendesk = FakeRouting(categories={"Tier routing (managed by tiersync)": "9000"})
    with pytest.raises(RemoteStateError, match="none of the 9 triggers, views and SLA policies"):
        apply(routed(), zendesk, RunState(routing_objects=9))
    assert zendesk.writes == []
    _, outcome = apply(routed(), zendesk, RunState(routing_objects=9), force=True)
    assert outcome.managed_after == 9


def test_duplicates_in_the_wild_are_reported_not_deleted() -> None:
    zendesk = FakeRouting()
    apply(routed(), zendesk)
    trigger = zendesk.of(Kind.TRIGGER)[0]
    zendesk.rules[999] = replace(trigger, id=999)
    planned, _ = apply(routed(), zendesk)
    assert [(d.key, d.object_ids) for d in planned.plan.duplicates] == [("enterprise:trigger", (trigger.id, 999))]
    assert 999 in zendesk.rules and planned.plan.writes == ()


def test_plan_routing_without_live_objects_is_all_creates() -> None:
    context = RoutingContext({"Enterprise Support": 11, "Professional Support": 12, "Starter Support": 13}, None,
                             RoutingDefinitions())
    plan = plan_routing(desired_rules(routed(), context), [], category="c", category_exists=False, enforce=False)
    assert plan.count(Kind.TRIGGER, Action.CREATE) == 3 and plan.count(Kind.VIEW, Action.CREATE) == 3


def test_a_field_zendesk_does_not_offer_is_refused_at_plan_time() -> None:
    offered = frozenset({"status", "current_tags"})  # no update_type for triggers on this account
    context = RoutingContext({"Enterprise Support": 11, "Professional Support": 12, "Starter Support": 13}, "1",
                             RoutingDefinitions(offered, frozenset({"group_id", "priority", "current_tags"}),
                                                offered, offered))
    with pytest.raises(RemoteStateError, match="trigger definitions do not offer 'update_type'"):
        desired_rules(routed(), context)


def test_routing_is_due_when_the_tier_files_routing_changed() -> None:
    from worker.core.routing import routing_due

    tier_file = routed()
    assert routing_due(tier_file, None)
    assert not routing_due(tier_file, tier_file.routing_fingerprint)
    retitled = make_config(tiers=[{**ROUTED[0], "view": {"title": "VIP queue"}}, *ROUTED[1:]])
    assert retitled.routing_fingerprint != tier_file.routing_fingerprint
    assert routing_due(retitled, tier_file.routing_fingerprint)
    assert not routing_due(make_config(), None)  # no tier asks for routing
