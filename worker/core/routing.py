"""Desired routing: per tier a trigger, a view and an SLA policy, built from the tier file (pure).

A routing plan is to triggers what plan.py is to organizations: this module says what should
exist, routing_plan.py compares it with what does. The tier is recognised by the organization's
dropdown field (``organization.custom_fields.<key>`` is ``<tag>``) wherever Zendesk's definitions
offer that condition, and by the ticket tag (``current_tags`` includes ``<tag>``) where they do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from worker.core.config import Tier, TierFile
from worker.core.errors import RemoteStateError
from worker.core.rules import (
    TITLE_PREFIX,
    Condition,
    Kind,
    RoutingDefinitions,
    RuleObject,
    canonical_attributes,
    marker_line,
)

_OPEN = Condition("status", "less_than", "solved")  # a view's `all` must test status, type, group, assignee...
_CREATED = Condition("update_type", "is", "Create")


@dataclass(frozen=True)
class RoutingContext:
    """What desired routing needs from Zendesk: group ids, the owned category and the definitions.

    Attributes:
        groups: group name -> id.
        category_id: the owned trigger category's id; None until it is created.
        definitions: the condition and action fields Zendesk offers.

    """

    groups: Mapping[str, int]
    category_id: str | None
    definitions: RoutingDefinitions


def routing_due(tier_file: TierFile, applied: str | None) -> bool:
    """True when the tier file asks for routing objects and has changed since routing was last applied."""
    wanted = any(t.routing or t.view or t.sla for t in tier_file.tiers)
    return wanted and applied != tier_file.routing_fingerprint


def rule_key(tier: Tier, kind: Kind) -> str:
    """The object's key in its marker: ``<tier>:<kind>``."""
    return f"{tier.name}:{kind.value}"


def desired_rules(tier_file: TierFile, context: RoutingContext) -> list[RuleObject]:
    """Every trigger, view and SLA policy the tier file asks for, with its marker, highest tier first.

    Raises:
        RemoteStateError: a tier's ``routing.group`` names no group in Zendesk.

    """
    keyed: list[tuple[str, RuleObject]] = []
    sla_position = 0
    for index, tier in enumerate(tier_file.tiers):
        if tier.routing is not None:
            keyed.append((rule_key(tier, Kind.TRIGGER), _trigger(tier_file, tier, index, context)))
        if tier.view is not None:
            keyed.append((rule_key(tier, Kind.VIEW), _view(tier_file, tier, context)))
        if tier.sla is not None:
            sla_position += 1  # Zendesk applies the first matching policy: highest tier first
            keyed.append((rule_key(tier, Kind.SLA_POLICY),
                          replace(_sla(tier_file, tier, context), position=sla_position)))
    for _, rule in keyed:
        _check_offered(rule, context.definitions)
    return [_marked(rule, key) for key, rule in keyed]


def _check_offered(rule: RuleObject, definitions: RoutingDefinitions) -> None:
    """Every condition and action field must be one Zendesk's definitions offer (when they were read).

    Zendesk would refuse the object with a 422 at apply time; saying so at plan time names the cause.
    """
    conditions, actions = {
        Kind.TRIGGER: (definitions.trigger_conditions, definitions.trigger_actions),
        Kind.VIEW: (definitions.view_conditions, frozenset()),
        Kind.SLA_POLICY: (definitions.sla_conditions, frozenset()),
    }[rule.kind]
    sets = rule.attributes.get("conditions") or rule.attributes.get("filter") or {}
    used = [(c["field"], conditions) for group in ("all", "any") for c in sets.get(group, [])]
    used += [(a["field"], actions) for a in rule.attributes.get("actions", [])]
    for field, offered in used:
        if offered and field not in offered:
            raise RemoteStateError(
                f"Zendesk's {rule.kind.value} definitions do not offer {field!r}, which {rule.title!r} needs",
                hint="check that the account's plan has this feature; see the definitions endpoint's answer",
            )


def _marked(rule: RuleObject, key: str) -> RuleObject:
    """The rule in canonical form (as Zendesk reads it back), with its marker and the digest of that form."""
    rule = replace(rule, attributes=canonical_attributes(rule.attributes))
    tier = key.split(":", 1)[0]
    text = f"Managed by tiersync from tiers.yaml (tier {tier}); change it there, edits here are reported as drift."
    return replace(rule, description=f"{text}\n{marker_line(key, rule.content_digest())}")


def tier_condition(field_key: str, tag: str, offered: frozenset[str]) -> Condition:
    """The organization's dropdown field holds ``tag``, or, where that is not offered, the ticket has the tag."""
    field = f"organization.custom_fields.{field_key}"
    if field in offered:
        return Condition(field, "is", tag)
    return Condition("current_tags", "includes", tag)


def _group_id(tier: Tier, index: int, groups: Mapping[str, int]) -> int:
    assert tier.routing is not None
    wanted = tier.routing.group
    found = groups.get(wanted)
    if found is None:  # Zendesk compares names without case in the admin UI; be as forgiving, never more
        found = next((gid for name, gid in groups.items() if name.casefold() == wanted.casefold()), None)
    if found is None:
        raise RemoteStateError(
            f"tiers[{index}].routing.group: Zendesk has no group called {wanted!r}",
            hint="create the group in Zendesk (Admin Center > People > Groups) or correct the name in the tier file",
        )
    return found


def _trigger(tier_file: TierFile, tier: Tier, index: int, context: RoutingContext) -> RuleObject:
    assert tier.routing is not None
    condition = tier_condition(tier_file.zendesk.organization_field, tier.tag, context.definitions.trigger_conditions)
    actions: list[dict[str, Any]] = [{"field": "group_id", "value": str(_group_id(tier, index, context.groups))}]
    if tier.routing.priority:
        actions.append({"field": "priority", "value": tier.routing.priority})
    if tier.routing.tags:
        actions.append({"field": "current_tags", "value": " ".join(tier.routing.tags)})
    attributes = {"active": True, "category_id": context.category_id,
                  "conditions": {"all": [_CREATED.to_json(), condition.to_json()], "any": []},
                  "actions": actions}
    return RuleObject(Kind.TRIGGER, f"{TITLE_PREFIX}Route {tier.title} tickets", "", attributes)


def _view(tier_file: TierFile, tier: Tier, context: RoutingContext) -> RuleObject:
    assert tier.view is not None
    condition = tier_condition(tier_file.zendesk.organization_field, tier.tag, context.definitions.view_conditions)
    attributes = {"active": True, "conditions": {"all": [_OPEN.to_json(), condition.to_json()], "any": []},
                  "columns": list(tier.view.columns)}
    title = tier.view.title or f"{tier.title} queue"
    return RuleObject(Kind.VIEW, f"{TITLE_PREFIX}{title}", "", attributes)


def _sla(tier_file: TierFile, tier: Tier, context: RoutingContext) -> RuleObject:
    assert tier.sla is not None
    condition = tier_condition(tier_file.zendesk.organization_field, tier.tag, context.definitions.sla_conditions)
    metrics = [{"priority": priority, "metric": metric, "target": minutes, "business_hours": tier.sla.business_hours}
               for metric, priority, minutes in tier.sla.targets()]
    attributes = {"filter": {"all": [condition.to_json()], "any": []}, "policy_metrics": metrics}
    return RuleObject(Kind.SLA_POLICY, f"{TITLE_PREFIX}{tier.title} SLA", "", attributes)
